import { describe, expect, it } from 'vitest'
import type { ServerMessage } from '../src/core/signaling-protocol.ts'
import { MemoryRooms, sampleIndices, type Member } from './rooms.ts'

const rand = (max: number) => Math.floor(Math.random() * max)

describe('sampleIndices', () => {
  it('draws min(k, available) distinct in-range indices, never the excluded one', () => {
    for (let n = 0; n <= 9; n++) {
      for (let k = 0; k <= 11; k++) {
        for (const exclude of [undefined, ...Array.from({ length: n }, (_, i) => i)]) {
          const got = sampleIndices(n, k, exclude, rand)
          const available = exclude === undefined ? n : n - 1
          expect(got).toHaveLength(Math.min(k, available))
          expect(new Set(got).size).toBe(got.length)
          for (const i of got) {
            expect(i).toBeGreaterThanOrEqual(0)
            expect(i).toBeLessThan(n)
            expect(i).not.toBe(exclude)
          }
        }
      }
    }
  })

  it('is roughly uniform', () => {
    const counts = [0, 0, 0, 0, 0]
    const draws = 10_000
    for (let i = 0; i < draws; i++) for (const j of sampleIndices(5, 2, 0, rand)) counts[j]! += 1
    expect(counts[0]).toBe(0)
    // Each of the 4 candidates is expected 5000 times (2 of 4 per draw); allow ±6%.
    for (const c of counts.slice(1)) expect(Math.abs(c - 5_000)).toBeLessThan(300)
  })
})

describe('MemoryRooms', () => {
  const member = (session: string, inbox: ServerMessage[] = []): Member => ({
    session,
    peerId: session.padEnd(32, '0').slice(0, 32),
    deliver: (m) => inbox.push(m),
  })

  it('keeps membership consistent through swap-removals', () => {
    const rooms = new MemoryRooms(100, rand)
    const names = Array.from({ length: 20 }, (_, i) => `s${String(i).padStart(7, '0')}`)
    for (const s of names) rooms.joinNow(member(s), 'r', 0)
    for (const s of names.filter((_, i) => i % 3 === 0)) expect(rooms.leaveNow(s)).toBe(true)
    const left = names.filter((_, i) => i % 3 !== 0)
    const seen = new Set((rooms.sampleNow(left[0]!, 100) ?? []).map((p) => p.session))
    expect([...seen].sort()).toEqual(left.slice(1).sort())
    for (const s of left) rooms.leaveNow(s)
    expect(rooms.roomCount()).toBe(0)
    expect(rooms.leaveNow('s0000001')).toBe(false)
  })

  it('routes only within a room', () => {
    const rooms = new MemoryRooms(100, rand)
    const inbox: ServerMessage[] = []
    rooms.joinNow(member('aaaaaaaa'), 'r1', 8)
    rooms.joinNow(member('bbbbbbbb', inbox), 'r1', 8)
    rooms.joinNow(member('cccccccc'), 'r2', 8)
    const data = { type: 'renegotiate', renegotiate: true } as const
    expect(rooms.routeNow('aaaaaaaa', 'bbbbbbbb', data).ok).toBe(true)
    expect(rooms.routeNow('cccccccc', 'bbbbbbbb', data)).toEqual({ ok: false, error: 'UNKNOWN_PEER' })
    expect(rooms.routeNow('aaaaaaaa', 'aaaaaaaa', data)).toEqual({ ok: false, error: 'UNKNOWN_PEER' })
    expect(rooms.routeNow('dddddddd', 'bbbbbbbb', data)).toEqual({ ok: false, error: 'NOT_JOINED' })
    expect(inbox).toHaveLength(1)
  })

  it('looks up peer ids in the room only, and forgets sessions that leave', () => {
    const rooms = new MemoryRooms(100, rand)
    const a = member('aaaaaaaa')
    rooms.joinNow(a, 'r1', 0)
    rooms.joinNow(member('bbbbbbbb'), 'r1', 0)
    rooms.joinNow(member('cccccccc'), 'r2', 0)
    const ids = ['aaaaaaaa', 'bbbbbbbb', 'cccccccc', 'dddddddd'].map((s) => member(s).peerId)
    expect(rooms.lookupNow('aaaaaaaa', [...ids, ids[1]!], 4)).toEqual([
      { session: 'bbbbbbbb', peerId: ids[1] },
    ])
    expect(rooms.lookupNow('dddddddd', ids, 4)).toBeUndefined()
    rooms.leaveNow('bbbbbbbb')
    expect(rooms.lookupNow('aaaaaaaa', ids, 4)).toEqual([])
    // A session that moves rooms is found only in the new one.
    rooms.joinNow(member('cccccccc'), 'r1', 0)
    expect(rooms.lookupNow('aaaaaaaa', ids, 4)).toEqual([{ session: 'cccccccc', peerId: ids[2] }])
  })

  it('returns at most perId of the sessions that claim one peer id, drawn at random', () => {
    const rooms = new MemoryRooms(100, rand)
    const id = 'e'.repeat(32)
    rooms.joinNow(member('asker000'), 'r', 0)
    const claimants = Array.from({ length: 10 }, (_, i) => `claim${String(i).padStart(3, '0')}`)
    for (const s of claimants) rooms.joinNow({ ...member(s), peerId: id }, 'r', 0)
    const seen = new Set<string>()
    for (let i = 0; i < 50; i++) {
      const found = rooms.lookupNow('asker000', [id], 4) ?? []
      expect(found).toHaveLength(4)
      expect(new Set(found.map((p) => p.session)).size).toBe(4)
      for (const p of found) seen.add(p.session)
    }
    // An impostor that claimed the id first cannot keep the others out of every answer.
    expect([...seen].sort()).toEqual(claimants)
  })
})
