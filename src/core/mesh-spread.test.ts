import { describe, expect, it } from 'vitest'
import { DEFAULT_GOSSIP_CONFIG } from './gossip.ts'
import { MeshSim, mulberry32, simHash, simTrack } from './testing/mesh-sim.ts'
import { ENTRY_BYTES, MAX_PEERS_SAMPLE } from './wire.ts'

/**
 * The mesh at 50 to 400 nodes (real Mesh, directory, gossip and codec over in-memory links):
 * how fast a new track spreads once the mesh is warm, and what each node sends per round.
 *
 * Warm state is built with `MeshSim.warm()` (every node's record installed in every directory,
 * then re-signed for the mesh's size, refresh phases spread out) instead of a cold sync, which
 * with bounded gossip takes O(N) rounds and would cost minutes at 400 nodes.
 */

const SIZES = [50, 100, 200, 400] as const
const DEGREE = 3

const meshes = new Map<number, Promise<MeshSim>>()
function warmMesh(n: number): Promise<MeshSim> {
  let sim = meshes.get(n)
  if (!sim) {
    sim = (async () => {
      const s = new MeshSim({ degree: DEGREE, random: mulberry32(n) })
      await s.populate(n, (i) => [simTrack(simHash(`spread-${n}-${i}`))])
      await s.warm()
      return s
    })()
    meshes.set(n, sim)
  }
  return sim
}

/** Rounds until every live node lists `holder` for `hash` (and has its metadata). */
async function roundsToReachAll(sim: MeshSim, hash: string, holder: string, limit: number) {
  const everyone = () => sim.holdersSeen(hash, holder) === sim.alive.length
  const described = () => sim.alive.every((n) => n.peerId === holder || n.mesh.gossip.meta.has(hash))
  let rounds = 0
  while (!(everyone() && described()) && rounds < limit) {
    await sim.round()
    rounds++
  }
  return { rounds, reached: sim.holdersSeen(hash, holder), described: described() }
}

describe('mesh spread and cost', { timeout: 120_000 }, () => {
  it('spreads a new track to every node of a warm mesh in O(log N) rounds', async () => {
    const rounds = new Map<number, number>()
    for (const n of SIZES) {
      const sim = await warmMesh(n)
      const source = sim.alive[Math.floor(n / 3)]!
      const hash = simHash(`new track at ${n}`)
      source.library.set([...source.library.tracks, simTrack(hash)])
      await sim.settle()
      const limit = Math.ceil(2 * Math.log2(n) + 3)
      const result = await roundsToReachAll(sim, hash, source.peerId, limit + 5)
      expect(result, `N=${n}`).toEqual({ rounds: result.rounds, reached: n, described: true })
      expect(result.rounds, `N=${n}: ${result.rounds} rounds > 2·log2(N)+3`).toBeLessThanOrEqual(limit)
      rounds.set(n, result.rounds)
    }
    // Sub-linear: eight times the nodes takes far less than eight times the rounds.
    const small = Math.max(1, rounds.get(50)!)
    expect(rounds.get(400)!, JSON.stringify([...rounds])).toBeLessThan(small * 4)
    expect(rounds.get(400)! - rounds.get(50)!).toBeLessThanOrEqual(2 * Math.log2(400 / 50) + 2)
  })

  it('keeps the bytes a node sends per round bounded, whatever the size of the mesh', async () => {
    const measured = new Map<number, { mean: number; max: number; record: number }>()
    for (const n of [50, 400]) {
      const sim = await warmMesh(n)
      // Steady state: a few rounds first, for the hot versions of fresh refreshes to build up.
      for (let r = 0; r < 3; r++) await sim.round()
      let sum = 0
      let count = 0
      let max = 0
      for (let r = 0; r < 4; r++) {
        await sim.round()
        for (const node of sim.alive) {
          sum += node.bytesSent
          count++
          max = Math.max(max, node.bytesSent)
        }
        // Steady state holds: refreshes keep every record alive, nothing expires by mistake.
        expect(Math.min(...sim.alive.map((node) => node.mesh.directory.size)), `N=${n}`).toBe(n)
      }
      const own = sim.alive[0]!.mesh.own!
      const record = JSON.stringify(own.rec).length + ENTRY_BYTES * own.tracks.size
      measured.set(n, { mean: sum / count, max, record })
    }
    const small = measured.get(50)!
    const large = measured.get(400)!
    const figures = JSON.stringify(Object.fromEntries(measured))
    // The config's own bound: per exchange (ours with `fanout` peers, and the same again for the
    // exchanges peers start with us) one push budget, one digest and one sample of records.
    const { fanout, pushBytes, digestSize, sampleSize } = DEFAULT_GOSSIP_CONFIG
    const digestBytes = digestSize * 60
    const sampleBytes = Math.max(sampleSize, MAX_PEERS_SAMPLE) * large.record
    const bound = 2 * fanout * (pushBytes + digestBytes + sampleBytes)
    expect(large.max, figures).toBeLessThan(bound)
    expect(small.max, figures).toBeLessThan(bound)
    // Below the O(N) alternative (sending every record once per round) already at 400 nodes.
    expect(large.max, figures).toBeLessThan(400 * large.record)
    // And flat in N: eight times the nodes, at most twice the bytes.
    expect(large.mean, figures).toBeLessThan(2 * small.mean)
    expect(large.max, figures).toBeLessThan(2 * small.max)
  })
})
