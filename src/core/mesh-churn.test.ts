import { describe, expect, it } from 'vitest'
import type { Track } from './catalog.ts'
import { MeshSim, mulberry32, simHash, simTrack, type SimNode } from './testing/mesh-sim.ts'

/**
 * Churn in a simulated mesh: nodes leave (with a signed goodbye, or by vanishing) and new ones
 * join every round for a while; once it stops, every live node's view of who holds what is exact.
 * Refresh and validity are short here so that expiry shows within a few dozen rounds.
 */

const N = 64
const INTERVAL_MS = 10_000
const REFRESH_ROUNDS = 5
const TTL_REFRESHES = 4
/** ttl = 4 refresh periods of 5 rounds (the mesh is too small for the period to grow with it). */
const TTL_ROUNDS = REFRESH_ROUNDS * TTL_REFRESHES
const SKEW_MS = INTERVAL_MS
const SHARED = 6

let serial = 0
/** A track of its own, and one of a few that many nodes share. */
function tracksFor(): Track[] {
  const i = serial++
  return [simTrack(simHash(`own-${i}`)), simTrack(simHash(`shared-${i % SHARED}`))]
}

/** Live nodes whose view disagrees with the truth, with one example of what is wrong. */
function wrongViews(sim: MeshSim): string[] {
  const truth = new Map<string, Set<string>>()
  for (const node of sim.alive) {
    for (const t of node.library.tracks) {
      const set = truth.get(t.contentHash) ?? new Set<string>()
      truth.set(t.contentHash, set.add(node.peerId))
    }
  }
  const wrong: string[] = []
  for (const node of sim.alive) {
    const { directory } = node.mesh
    for (const [hash, holders] of truth) {
      const seen = directory.holders(hash)
      if (seen.size !== holders.size || [...holders].some((h) => !seen.has(h))) {
        wrong.push(
          `${node.peerId.slice(0, 6)} sees ${seen.size}/${holders.size} holders of ${hash.slice(0, 6)}`,
        )
        break
      }
    }
    for (const hash of directory.trackHashes()) {
      if (!truth.has(hash)) {
        wrong.push(`${node.peerId.slice(0, 6)} still lists ${hash.slice(0, 6)}, held by no live node`)
        break
      }
    }
  }
  return wrong
}

/** No live node lists `gone` as holding anything. */
const forgotten = (sim: MeshSim, gone: SimNode) =>
  sim.alive.every((n) => (n.mesh.directory.get(gone.peerId)?.tracks.size ?? 0) === 0)

describe('mesh under churn', { timeout: 60_000 }, () => {
  it('converges after nodes leave and join, dropping the departed: goodbyes at once, the vanished at expiry', async () => {
    const sim = new MeshSim({
      degree: 3,
      random: mulberry32(7),
      gossip: { intervalMs: INTERVAL_MS },
      mesh: { refreshRounds: REFRESH_ROUNDS, ttlRefreshes: TTL_REFRESHES, directory: { maxSkewMs: SKEW_MS } },
    })
    await sim.populate(N, () => tracksFor())
    await sim.warm()
    expect(wrongViews(sim)).toEqual([])
    expect(sim.alive[0]!.mesh.own!.rec.ttl).toBe((TTL_ROUNDS * INTERVAL_MS) / 1000)

    const departed: { node: SimNode; politely: boolean; at: number; goneAfter?: number }[] = []
    const track = () => {
      for (const d of departed)
        if (d.goneAfter === undefined && forgotten(sim, d.node)) d.goneAfter = sim.rounds - d.at
    }
    // Eight rounds of churn: each round one node says goodbye, one vanishes and two join.
    for (let r = 0; r < 8; r++) {
      for (const politely of [true, false]) {
        const alive = sim.alive
        const node = alive[Math.floor(sim.random() * alive.length)]!
        await sim.leave(node, politely)
        departed.push({ node, politely, at: sim.rounds })
      }
      await sim.join(tracksFor())
      await sim.join(tracksFor())
      await sim.round()
      track()
    }
    expect(sim.alive.length).toBe(N)
    let rounds = 0
    let wrong = wrongViews(sim)
    while (
      (wrong.length > 0 || departed.some((d) => d.goneAfter === undefined)) &&
      rounds < TTL_ROUNDS + 10
    ) {
      await sim.round()
      track()
      rounds++
      wrong = wrongViews(sim)
    }
    expect(wrong).toEqual([])
    const polite = departed.filter((d) => d.politely).map((d) => d.goneAfter)
    const vanished = departed.filter((d) => !d.politely).map((d) => d.goneAfter)
    // A goodbye spreads like any news: gone everywhere long before its ttl could have run out.
    for (const after of polite) expect(after, JSON.stringify(polite)).toBeLessThanOrEqual(6)
    // A vanished node lingers until its last record expires everywhere: not before its ttl less one
    // refresh period (it may have refreshed just before vanishing), and not much after its ttl,
    // however late a node heard that last record.
    for (const after of vanished) {
      expect(after, JSON.stringify(vanished)).toBeGreaterThanOrEqual(TTL_ROUNDS - REFRESH_ROUNDS)
      expect(after, JSON.stringify(vanished)).toBeLessThanOrEqual(TTL_ROUNDS + SKEW_MS / INTERVAL_MS + 1)
    }
    // Nobody misbehaved, so nobody was cut off.
    expect(sim.bans).toEqual([])
  })
})
