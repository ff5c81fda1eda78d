/**
 * Gossip at scale, in the mesh simulator (src/core/testing/mesh-sim.ts): real `Mesh` instances
 * (directory, announcer, gossip, codec) joined by in-memory links that carry real encoded frames,
 * driven round by round on a manual clock. Runs in Node, no browser. `npm run bench` runs this file
 * in a child process with a larger heap (every node holds every other node's record: N² in all)
 * and reads the JSON it prints last.
 */
import { pathToFileURL } from 'node:url'
import { DEFAULT_GOSSIP_CONFIG } from '../../src/core/gossip.ts'
import { MeshSim, mulberry32, simHash, simTrack } from '../../src/core/testing/mesh-sim.ts'
import { percentile } from './browser.ts'

/** Links each node opens in the simulator (mean degree about twice this, plus a ring). */
const DEGREE = 3

export type Bytes = { mean: number; p95: number }

export type ColdSyncRow = {
  nodes: number
  /** Rounds until every node's directory holds every node (undefined: not within maxRounds). */
  rounds: number | undefined
  maxRounds: number
  /** Per node per round, over every node and every round of the sync. */
  bytes: Bytes
  /** Bytes one node sent in all, mean over nodes, until the sync was complete. */
  totalPerNode: number
  wallMs: number
}

export type SpreadSimRow = {
  nodes: number
  /** How the directories were made warm before the new tracks were added. */
  warm: 'gossip' | 'constructed'
  meanDegree: number
  /** Rounds for each new track (one after another, from a random node) to be listed by every node. */
  rounds: number[]
  /** Per track: nodes listing it after the immediate push (index 0) and after each round. */
  coverage: number[][]
  /** Per node per round, over every node and every round of the spreads. */
  bytes: Bytes
  /** The quiet rounds before the first track (refreshes only), for comparison. */
  quietBytes: Bytes
  /** Wall-clock cost of one simulated round at this size (ms, median), and of making it warm. */
  roundWallMs: number
  warmWallMs: number
  heapMiB: number
}

export type GossipSimResult = {
  intervalMs: number
  fanout: number
  degree: number
  tracksPerNode: number
  coldSync: ColdSyncRow[]
  spread: SpreadSimRow[]
}

/** Heap in use after a full collection when the process runs with --expose-gc (live data only). */
function liveHeapMiB(): number {
  ;(globalThis as { gc?: () => void }).gc?.()
  return process.memoryUsage().heapUsed / 2 ** 20
}

const bytesOf = (xs: number[]): Bytes => ({
  mean: xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length),
  p95: percentile(xs, 95),
})

/**
 * One round at every node (the simulator fires the refreshes that fell due first, as a node's
 * timers would); the bytes each node sent in it, refreshes included.
 */
async function round(sim: MeshSim): Promise<number[]> {
  await sim.round()
  return sim.nodes.map((n) => n.bytesSent)
}

let meshSerial = 0
async function populated(n: number, seed: number): Promise<MeshSim> {
  const sim = new MeshSim({ degree: DEGREE, random: mulberry32(seed) })
  const serial = meshSerial++
  await sim.populate(n, (i) => [simTrack(simHash(`mesh${serial}-node${i}`))])
  await sim.settle()
  return sim
}

const meanDegree = (sim: MeshSim) => sim.nodes.reduce((a, n) => a + n.links.size, 0) / sim.nodes.length

/**
 * Cold sync: a populated mesh (links up, each node knowing only itself and its direct neighbours'
 * first announcements) gossips until every directory holds every node.
 */
async function coldSync(n: number, maxRounds: number): Promise<{ row: ColdSyncRow; sim: MeshSim }> {
  const t0 = performance.now()
  const sim = await populated(n, 1000 + n)
  const all: number[] = []
  const perNode = new Array<number>(n).fill(0)
  let rounds: number | undefined
  for (let r = 1; r <= maxRounds; r++) {
    const sent = await round(sim)
    all.push(...sent)
    sent.forEach((b, i) => (perNode[i]! += b))
    if (sim.nodes.every((node) => node.mesh.directory.size === n)) {
      rounds = r
      break
    }
  }
  const row: ColdSyncRow = {
    nodes: n,
    rounds,
    maxRounds,
    bytes: bytesOf(all),
    totalPerNode: perNode.reduce((a, b) => a + b, 0) / n,
    wallMs: performance.now() - t0,
  }
  return { row, sim }
}

/**
 * A warm mesh without the O(N) rounds of cold sync (MeshSim.warm): every node's record, re-signed
 * for the mesh's size at a random phase of its refresh period, installed in every directory and
 * checked as gossip checks it; every track's metadata cached everywhere; nothing hot.
 */
async function constructed(n: number): Promise<MeshSim> {
  const sim = await populated(n, 2000 + n)
  await sim.warm()
  return sim
}

/**
 * On a warm mesh: a few quiet rounds (refreshes only), then `tracks` new tracks one after
 * another, each added at a random node; rounds until every node lists it (holders ≥ 1).
 */
async function spread(
  sim: MeshSim,
  warm: SpreadSimRow['warm'],
  warmWallMs: number,
  tracks: number,
  quietRounds: number,
  maxRounds = 100,
): Promise<SpreadSimRow> {
  const walls: number[] = []
  const timed = async () => {
    const t = performance.now()
    const sent = await round(sim)
    walls.push(performance.now() - t)
    return sent
  }
  // Refreshes start at once; the quiet window opens once their hot pushes have reached steady state.
  const quiet: number[] = []
  for (let r = 0; r < sim.nodes[0]!.mesh.directory.config.hotRounds; r++) await timed()
  for (let r = 0; r < quietRounds; r++) quiet.push(...(await timed()))
  const n = sim.nodes.length
  const rounds: number[] = []
  const coverage: number[][] = []
  const during: number[] = []
  for (let k = 0; k < tracks; k++) {
    const origin = sim.nodes[Math.floor(sim.random() * n)]!
    const hash = simHash(`new-${n}-${k}-${warm}`)
    origin.library.set([...origin.library.tracks, simTrack(hash)])
    await sim.settle()
    const listing = () => sim.nodes.filter((node) => node.mesh.directory.holders(hash).size >= 1).length
    const curve = [listing()]
    while (curve.at(-1)! < n && curve.length <= maxRounds) {
      during.push(...(await timed()))
      curve.push(listing())
    }
    coverage.push(curve)
    rounds.push(curve.at(-1) === n ? curve.length - 1 : NaN)
    // The next track starts once this one has cooled everywhere (no longer pushed as hot).
    if (k < tracks - 1) for (let i = 0; i < sim.nodes[0]!.mesh.directory.config.hotRounds; i++) await timed()
  }
  return {
    nodes: n,
    warm,
    meanDegree: meanDegree(sim),
    rounds,
    coverage,
    bytes: bytesOf(during),
    quietBytes: bytesOf(quiet),
    roundWallMs: percentile(walls, 50),
    warmWallMs,
    heapMiB: liveHeapMiB(),
  }
}

export type GossipSimOptions = {
  /** Sizes synced cold, from nothing, to completion (or maxRounds). */
  cold: number[]
  /** Sizes whose warm state is built directly (cold sync there costs too much wall-clock time). */
  constructed: number[]
  /** New tracks spread per size. */
  tracks: Record<number, number>
  quietRounds: number
  maxColdRounds: number
}

export const DEFAULT_SIM_OPTIONS: GossipSimOptions = {
  cold: [100, 200],
  constructed: [1000, 2000],
  tracks: { 100: 5, 200: 3, 1000: 3, 2000: 1 },
  quietRounds: 3,
  maxColdRounds: 80,
}

export async function measureGossipSim(
  opts: GossipSimOptions = DEFAULT_SIM_OPTIONS,
  log: (s: string) => void = () => {},
): Promise<GossipSimResult> {
  const coldRows: ColdSyncRow[] = []
  const spreadRows: SpreadSimRow[] = []
  for (const n of opts.cold) {
    const { row, sim } = await coldSync(n, opts.maxColdRounds)
    log(JSON.stringify(row))
    coldRows.push(row)
    if (row.rounds === undefined) continue
    const result = await spread(sim, 'gossip', row.wallMs, opts.tracks[n] ?? 3, opts.quietRounds)
    log(JSON.stringify(result))
    spreadRows.push(result)
  }
  for (const n of opts.constructed) {
    const t0 = performance.now()
    const sim = await constructed(n)
    const result = await spread(
      sim,
      'constructed',
      performance.now() - t0,
      opts.tracks[n] ?? 2,
      opts.quietRounds,
    )
    log(JSON.stringify(result))
    spreadRows.push(result)
  }
  const { intervalMs, fanout } = { ...DEFAULT_GOSSIP_CONFIG }
  return { intervalMs, fanout, degree: DEGREE, tracksPerNode: 1, coldSync: coldRows, spread: spreadRows }
}

// Run directly (as `npm run bench` does, in a child process): progress on stderr, JSON last on stdout.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = process.argv[2]
  const opts = arg ? { ...DEFAULT_SIM_OPTIONS, ...(JSON.parse(arg) as Partial<GossipSimOptions>) } : undefined
  const result = await measureGossipSim(opts, (s) => console.error(s))
  console.log(JSON.stringify(result))
}
