/**
 * The measuring half of `npm run bench:link-layer`: gossip bytes in the mesh simulator and piece
 * transfer throughput between two real nodes over in-memory links, each beside its ceiling (the
 * gossip push budget; a bare in-memory link pump of the same bytes). It imports only APIs that
 * existed before the link layer was rebuilt, so link-layer.ts runs this very file in a checkout of
 * the old core and in this one, and compares. Prints one JSON line last.
 */
import { randomBytes } from 'node:crypto'
import { startSignaling } from '../../signaling/server.ts'
import type { Track } from '../../src/core/catalog.ts'
import { Emitter } from '../../src/core/emitter.ts'
import { DEFAULT_GOSSIP_CONFIG } from '../../src/core/gossip.ts'
import type { LocalTracks } from '../../src/core/mesh-types.ts'
import { DcmxNode } from '../../src/core/node.ts'
import { nodeCrypto, testIdentity } from '../../src/core/testing/crypto.ts'
import { linkPair, memoryLinkNetwork } from '../../src/core/testing/memory-link.ts'
import { MemoryPartialStore } from '../../src/core/testing/memory-partial.ts'
import { MemoryStore, referenceDigest } from '../../src/core/testing/memory-store.ts'
import { MeshSim, mulberry32, simHash, simTrack } from '../../src/core/testing/mesh-sim.ts'
import { realClock, testSignaling } from '../../src/core/testing/ws-socket.ts'
import { CHUNK_BYTES } from '../../src/core/wire.ts'

export type LinkLayerRun = {
  gossip: {
    nodes: number
    tracks: number
    reps: number
    quietBytes: number[]
    spreadBytes: number[]
    spreadRounds: number[]
  }
  pushBytes: number
  transfer: { mib: number; reps: number; fetchMBs: number[]; fetchCpuMsPerMiB: number[]; pumpMBs: number[] }
}

const SIM = { nodes: 200, degree: 3, quietRounds: 4, tracks: 3, maxRounds: 25, reps: 2 }
const TRANSFER = { mib: 16, reps: 1 }
/** Which parts to run (link-layer.ts alternates the trees, one part at a time). */
const PARTS = (process.env.DCMX_LL_PARTS ?? 'gossip,transfer').split(',')

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)

async function gossipRun(seed: number) {
  const sim = new MeshSim({ degree: SIM.degree, random: mulberry32(seed) })
  await sim.populate(SIM.nodes, (i) => [simTrack(simHash(`bench-${seed}-${i}`))])
  await sim.warm()
  const perRound = () => mean(sim.alive.map((n) => n.bytesSent))
  const quiet: number[] = []
  for (let r = 0; r < SIM.quietRounds; r++) {
    await sim.round()
    quiet.push(perRound())
  }
  const spread: number[] = []
  const rounds: number[] = []
  const random = mulberry32(seed + 1)
  for (let t = 0; t < SIM.tracks; t++) {
    const source = sim.alive[Math.floor(random() * sim.alive.length)]!
    const hash = simHash(`new-${seed}-${t}`)
    source.library.set([...source.library.tracks, simTrack(hash)])
    await sim.settle()
    let r = 0
    while (sim.holdersSeen(hash, source.peerId) < sim.alive.length && r < SIM.maxRounds) {
      await sim.round()
      spread.push(perRound())
      r++
    }
    rounds.push(r)
  }
  return { quiet: mean(quiet), spread: mean(spread), rounds: mean(rounds) }
}

const noTracks = (): LocalTracks & { add(t: Track): void } => {
  const lib = {
    tracks: [] as Track[],
    events: new Emitter<{ tracks: [] }>(),
    add(t: Track) {
      lib.tracks = [...lib.tracks, t]
      lib.events.emit('tracks')
    },
  }
  return lib
}

async function transferRun(): Promise<{ mbs: number; cpuMsPerMiB: number }> {
  const server = await startSignaling({ port: 0, host: '127.0.0.1', log: () => {}, heartbeatMs: 60_000 })
  const network = memoryLinkNetwork()
  const started: DcmxNode[] = []
  const start = async () => {
    const identity = await testIdentity()
    const store = new MemoryStore()
    const library = noTracks()
    const node = new DcmxNode({
      identity,
      crypto: nodeCrypto,
      clock: realClock,
      random: Math.random,
      signaling: testSignaling(server.wsUrl, 'bench', identity.peerId),
      createLink: network.factory(identity.peerId),
      local: library,
      content: {
        read: (hash, s, e) => store.read(hash, s, e),
        partials: new MemoryPartialStore(store),
        adopt: async (track) => library.add(track),
      },
      config: { mesh: { gossip: { intervalMs: 200 } } },
    })
    node.start()
    started.push(node)
    return { node, store, library }
  }
  try {
    const a = await start()
    const b = await start()
    const bytes = new Uint8Array(randomBytes(TRANSFER.mib * 2 ** 20))
    const staged = await a.store.ingest(new Blob([bytes as BlobPart]))
    await staged.commit()
    const d = referenceDigest(bytes)
    a.library.add({
      contentHash: d.contentHash,
      size: d.size,
      mime: 'audio/mpeg',
      container: 'MPEG',
      title: 'bench',
      pieceSize: 256 * 1024,
      pieces: d.pieces,
      piecesRoot: d.piecesRoot,
      fileName: 'bench.mp3',
      addedAt: 0,
      source: 'local',
    })
    const deadline = Date.now() + 30_000
    while (!b.node.network.some((t) => t.contentHash === d.contentHash && t.described)) {
      if (Date.now() > deadline) throw new Error('track never described')
      await new Promise((r) => setTimeout(r, 20))
    }
    // CPU time as well as wall time: on a shared machine the wall clock mostly measures the others.
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    await b.node.fetcher!.fetch(d.contentHash).finished
    const cpu = process.cpuUsage(cpu0)
    return {
      mbs: bytes.length / 1e6 / ((performance.now() - t0) / 1000),
      cpuMsPerMiB: (cpu.user + cpu.system) / 1000 / TRANSFER.mib,
    }
  } finally {
    for (const n of started) n.stop()
    await server.close()
  }
}

/** The ceiling: the same bytes in the same frames through a bare in-memory link, each send awaited. */
async function pumpRun(): Promise<number> {
  const [a, b] = linkPair()
  await new Promise<void>((r) => (a.open ? r() : a.events.on('open', () => r())))
  const total = TRANSFER.mib * 2 ** 20
  const frame = new Uint8Array(randomBytes(CHUNK_BYTES + 64))
  let received = 0
  const done = new Promise<void>((r) =>
    b.events.on('message', (f) => {
      received += f.length
      if (received >= total) r()
    }),
  )
  const t0 = performance.now()
  for (let sent = 0; sent < total; sent += frame.length) await a.send(frame)
  await done
  a.close()
  return received / 1e6 / ((performance.now() - t0) / 1000)
}

const result: LinkLayerRun = {
  gossip: {
    nodes: SIM.nodes,
    tracks: SIM.tracks,
    reps: SIM.reps,
    quietBytes: [],
    spreadBytes: [],
    spreadRounds: [],
  },
  pushBytes: DEFAULT_GOSSIP_CONFIG.pushBytes,
  transfer: { mib: TRANSFER.mib, reps: TRANSFER.reps, fetchMBs: [], fetchCpuMsPerMiB: [], pumpMBs: [] },
}
for (let rep = 0; rep < (PARTS.includes('gossip') ? SIM.reps : 0); rep++) {
  const g = await gossipRun(11 + rep)
  console.error(`gossip rep ${rep}: ${JSON.stringify(g)}`)
  result.gossip.quietBytes.push(g.quiet)
  result.gossip.spreadBytes.push(g.spread)
  result.gossip.spreadRounds.push(g.rounds)
}
for (let rep = 0; rep < (PARTS.includes('transfer') ? TRANSFER.reps : 0); rep++) {
  result.transfer.pumpMBs.push(await pumpRun())
  const { mbs, cpuMsPerMiB } = await transferRun()
  result.transfer.fetchMBs.push(mbs)
  result.transfer.fetchCpuMsPerMiB.push(cpuMsPerMiB)
  console.error(`transfer rep ${rep}: fetch ${mbs.toFixed(1)} MB/s, ${cpuMsPerMiB.toFixed(0)} ms CPU/MiB`)
}
console.log(JSON.stringify(result))
process.exit(0)
