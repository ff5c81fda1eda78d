/**
 * Enumeration: a member that samples, re-joins or looks up ids as fast as the server lets it must
 * learn only a bounded share of a room, while an honest node's join and lookups still work.
 */
import { afterEach, describe, expect, it } from 'vitest'
import {
  ATTACKER,
  client,
  expectServerHealthy,
  member,
  HONEST,
  peerId,
  startTarget,
  stopAll,
  type Client,
  type Target,
} from './harness.ts'

afterEach(stopAll)

const ROOM_SIZE = 150

/** A room of ROOM_SIZE members from a few addresses (each under the per-IP cap). */
async function populate(target: Target): Promise<{ members: Client[]; ids: string[] }> {
  const members: Client[] = []
  const ids: string[] = []
  for (let i = 0; i < ROOM_SIZE; i++) {
    const id = peerId()
    members.push(await member(target, `127.0.1.${1 + Math.floor(i / 25)}`, 'r', id))
    ids.push(id)
  }
  return { members, ids }
}

/** Collect every session the attacker hears of during `ms` of asking with `ask`. */
async function harvest(attacker: Client, ms: number, ask: () => void): Promise<Set<string>> {
  const seen = new Set<string>()
  const until = performance.now() + ms
  while (performance.now() < until) {
    ask()
    for (;;) {
      let m
      try {
        m = await attacker.next(50)
      } catch {
        break
      }
      if (m.type === 'sample' || m.type === 'joined') for (const p of m.peers) seen.add(p.session)
    }
  }
  return seen
}

describe('enumerating a room', () => {
  it('by sampling as fast as allowed learns only a bounded share of the room', async () => {
    const target = await startTarget()
    await populate(target)
    const attacker = await client(target, ATTACKER)
    attacker.send({ type: 'join', room: 'r', peerId: peerId() })
    const seen = await harvest(attacker, 3_000, () => attacker.send({ type: 'sample' }))
    expect(seen.size).toBeLessThanOrEqual(72)
    await expectServerHealthy(target)
  }, 40_000)

  it('by re-joining the room over and over learns no more', async () => {
    const target = await startTarget()
    await populate(target)
    const attacker = await client(target, ATTACKER)
    const id = peerId()
    const seen = await harvest(attacker, 3_000, () => attacker.send({ type: 'join', room: 'r', peerId: id }))
    expect(seen.size).toBeLessThanOrEqual(72)
    await expectServerHealthy(target)
  }, 40_000)

  it('by looking up every peer id heard through gossip learns no more, while an honest lookup works', async () => {
    const target = await startTarget()
    const { members, ids } = await populate(target)
    const attacker = await client(target, ATTACKER)
    attacker.send({ type: 'join', room: 'r', peerId: peerId() })
    let next = 0
    const seen = await harvest(attacker, 3_000, () => {
      attacker.send({ type: 'lookup', peerIds: Array.from({ length: 16 }, () => ids[next++ % ids.length]!) })
    })
    expect(seen.size).toBeLessThanOrEqual(72)

    const honest = await member(target, HONEST, 'r')
    honest.send({ type: 'lookup', peerIds: ids.slice(0, 3) })
    const found = await honest.expect('sample')
    expect(found.peers.map((p) => p.session).sort()).toEqual(
      members
        .slice(0, 3)
        .map((m) => m.session)
        .sort(),
    )
    await expectServerHealthy(target)
  }, 40_000)
})
