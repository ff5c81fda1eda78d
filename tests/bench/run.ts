/**
 * `npm run bench`: measures, never asserts. Runs inside the private network namespace (see
 * scripts/netns-run.mjs) against the built app, and writes docs/benchmarks.md. DCMX_DIST and
 * DCMX_DIST_BENCH point it at copies of dist/ and dist-bench/ (a rebuild mid-run pulls the files
 * from under the server).
 */
import { execFileSync, spawn } from 'node:child_process'
import { cpus, totalmem } from 'node:os'
import { resolve } from 'node:path'
import { DEFAULT_DIRECTORY_CONFIG } from '../../src/core/directory.ts'
import { DEFAULT_GOSSIP_CONFIG } from '../../src/core/gossip.ts'
import { measureRelayLatency } from '../../signaling/relay-bench.ts'
import { startSignaling } from '../../signaling/server.ts'
import { chromiumExecutable } from '../chromium.ts'
import { launchChromium } from './browser.ts'
import { measureFirstLink } from './first-link.ts'
import { measureGossip, median, type FullSyncResult, type SpreadRow } from './gossip.ts'
import type { GossipSimResult, SpreadSimRow } from './gossip-sim.ts'
import { benchPwa } from './pwa.ts'
import { formatUiImport, measureStorage } from './storage.ts'
import { benchTransfer } from './transfer.ts'
import { writeBenchSection } from './doc-section.ts'

const FIRST_LINK_RUNS = 15
const RELAY = { clients: 200, rooms: 10, messagesPerClient: 20 }
/**
 * The 10,000-track reload is timed by the big-library bench (its library is seeded in minutes through
 * real catalog entries and stored WAVs); seeding it by dropping 9,000 more files here takes half an hour.
 */
const STORAGE = { hashMiB: 512, importMiB: 1024, smallTracks: 1000 }
const GOSSIP = { sizes: [4, 8, 12], reps: 3, gossipMs: 1_000, linkBudget: 3, quietMs: 8_000 }
/** Heap for the simulator's child process: every simulated node holds every other node's record. */
const SIM_HEAP_MIB = 12_288

const root = resolve(import.meta.dirname, '..', '..')
const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(0))

function machine() {
  let chromium = 'unknown'
  try {
    // stderr ignored: Debian's wrapper script prints a harmless shell warning there.
    chromium = execFileSync(chromiumExecutable() ?? 'chromium', ['--version'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim()
  } catch {
    // Playwright's own browser, if any
  }
  return `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${chromium}`
}

// On every address of the (private) namespace: the transfer bench's nodes are on 127.0.0.1–4.
const server = await startSignaling({
  port: 0,
  host: '0.0.0.0',
  staticDir: process.env.DCMX_DIST ?? resolve(root, 'dist'),
  log: () => {},
})
const serverUrl = `http://127.0.0.1:${new URL(server.url).port}`
// The storage bench page is built apart from the app (vite.bench.config.ts) and served on its own origin.
const benchServer = await startSignaling({
  port: 0,
  host: '127.0.0.1',
  staticDir: process.env.DCMX_DIST_BENCH ?? resolve(root, 'dist-bench'),
  log: () => {},
})
const browser = await launchChromium()
let firstLink
let gossip
let storage
let transferSection: string
try {
  console.log(`first link: ${FIRST_LINK_RUNS} fresh nodes joining a room with one waiting node…`)
  firstLink = await measureFirstLink(browser, serverUrl, FIRST_LINK_RUNS)
  console.log(JSON.stringify(firstLink))
  console.log(`gossip: ${GOSSIP.sizes.join(', ')} nodes in one room; full sync of 100 tracks…`)
  gossip = await measureGossip(browser, serverUrl, GOSSIP, console.log)
  console.log('transfer: bare pump vs a 64 MiB fetch from one and three holders; time to first audio…')
  transferSection = await benchTransfer(browser, serverUrl, { log: console.log })
  console.log(
    `storage: ${STORAGE.hashMiB} MiB hashing, ${STORAGE.importMiB} MiB import, ${STORAGE.smallTracks} small tracks…`,
  )
  await browser.close()
  storage = await measureStorage(benchServer.url, STORAGE, serverUrl, console.log)
  console.log(JSON.stringify(storage))
} finally {
  await browser.close()
  await server.close()
  await benchServer.close()
}
console.log(`relay: ${RELAY.clients} WebSocket clients in ${RELAY.rooms} rooms…`)
const relay = await measureRelayLatency(RELAY)
console.log(JSON.stringify(relay))
console.log('gossip simulator: cold sync and new-track spread, 100 to 2,000 nodes…')
const sim = await runGossipSim()

/** The simulator in a child process with a large heap; it prints progress on stderr and JSON last. */
function runGossipSim(): Promise<GossipSimResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      [
        `--max-old-space-size=${SIM_HEAP_MIB}`,
        '--expose-gc',
        '--import',
        'tsx',
        resolve(root, 'tests', 'bench', 'gossip-sim.ts'),
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.on('error', reject)
    child.on('exit', (code) => {
      const last = out.trim().split('\n').at(-1)
      if (code !== 0 || !last) return reject(new Error(`gossip simulator exited with ${code}`))
      resolvePromise(JSON.parse(last) as GossipSimResult)
    })
  })
}

const row = (name: string, s: { p50: number; min: number; max: number }) =>
  `| ${name} | ${fmt(s.p50)} | ${fmt(s.min)} | ${fmt(s.max)} |`

const ms0 = (ms: number) => ms.toFixed(0)
const range = (xs: number[]) =>
  xs.length === 1 ? ms0(xs[0]!) : `${ms0(median(xs))} (${ms0(Math.min(...xs))}–${ms0(Math.max(...xs))})`
const kb = (bytes: number) => (bytes < 10_240 ? (bytes / 1024).toFixed(1) : (bytes / 1024).toFixed(0))

function spreadRow(r: SpreadRow) {
  return `| ${r.nodes} | ${r.links.mean.toFixed(1)} (${r.links.min}–${r.links.max}) | ${(r.warmMs / 1000).toFixed(1)} s | ${range(r.importToAllMs)} | ${range(r.spreadMs)} | ${kb(r.gossipBytesPerRound.mean)} (${kb(r.gossipBytesPerRound.max)}) | ${kb(r.totalBytesPerRound.mean)} (${kb(r.totalBytesPerRound.max)}) |`
}

function syncRow(name: string, r: FullSyncResult) {
  return `| ${name} | ${range(r.firstPeerMs)} | ${range(r.allListedMs)} | ${range(r.allDescribedMs)} | ${range(r.allDescribedMs.map((x, i) => x - r.firstPeerMs[i]!))} |`
}

const log2 = (n: number) => Math.log2(n)
const simTime = (rounds: number) => `${Math.round((rounds * sim.intervalMs) / 1000)} s`

function simSpreadRow(r: SpreadSimRow) {
  const ok = r.rounds.filter((x) => Number.isFinite(x))
  const med = median(ok)
  const each = r.rounds.map((x) => (Number.isFinite(x) ? String(x) : '—')).join(', ')
  return `| ${r.nodes.toLocaleString('en')} | ${log2(r.nodes).toFixed(1)} | ${r.warm === 'gossip' ? 'cold sync' : 'built'} | ${r.meanDegree.toFixed(1)} | ${each} | **${med}** | ${(med / log2(r.nodes)).toFixed(2)} | ${simTime(med)} | ${kb(r.bytes.mean)} / ${kb(r.bytes.p95)} | ${kb(r.quietBytes.mean)} / ${kb(r.quietBytes.p95)} | ${(r.roundWallMs / 1000).toFixed(1)} s |`
}

/** Share of nodes listing the track after each round, for the track with the median round count. */
function coverageLine(r: SpreadSimRow) {
  const order = r.rounds
    .map((x, i) => [Number.isFinite(x) ? x : Infinity, i] as const)
    .sort((a, b) => a[0] - b[0])
  const curve = r.coverage[order[Math.floor((order.length - 1) / 2)]![1]]!
  const pcts = curve.map((c) => {
    const p = (100 * c) / r.nodes
    if (c < r.nodes && p >= 99.5) return Math.min(99.9, Math.floor(p * 10) / 10).toFixed(1)
    return p < 10 ? p.toFixed(1) : p.toFixed(0)
  })
  return `${r.nodes.toLocaleString('en').padStart(5)} nodes: ${pcts.join(' → ')} %`
}

/** Median rounds against log2 N, as bars of whole rounds. */
function roundsPlot(rows: SpreadSimRow[]) {
  const label = (x: string) => x.padStart(6)
  return rows
    .map((r) => {
      const med = median(r.rounds.filter((x) => Number.isFinite(x)))
      const l = log2(r.nodes)
      return [
        `${label(r.nodes.toLocaleString('en'))} rounds │${'█'.repeat(med)} ${med}`,
        `${label('')} log2 N │${'░'.repeat(Math.round(l))} ${l.toFixed(1)}`,
      ].join('\n')
    })
    .join('\n')
}

const largest = sim.spread.at(-1)!
const bytesPerRecord = (largest.heapMiB * 2 ** 20) / largest.nodes ** 2

const mbs = (x: number) => `${x.toFixed(0)} MB/s`
const pct = (x: number, of: number) => `${Math.round((100 * x) / of)} %`

const report = `# Benchmarks

Produced by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}.
Machine: ${machine()}.
Every figure is measured in the same run as the ceiling it is compared with. Benchmarks measure;
they never assert a time. WebRTC runs inside a private network namespace (host candidates only).

## Page load to first link (issue 2)

${firstLink.runs} fresh browser contexts (new storage, so each generates its key pair) open the app
in a room where one node waits. Times are from navigation start, in milliseconds.

| milestone | p50 | min | max |
| --- | ---: | ---: | ---: |
${row('identity ready (key pair made and stored)', firstLink.identityMs)}
${row('signaling online (room joined)', firstLink.signalingMs)}
${row('**first open data channel**', firstLink.channelOpenMs)}
${row('first verified peer (identity proof done)', firstLink.verifiedMs)}
${row('ceiling: bare RTCPeerConnection pair in one page, to open channel', firstLink.barePairMs)}

The ceiling is what WebRTC alone costs with signalling in the same page; the gap to the first
open channel is page load, key generation, the WebSocket join and two signalling relays.

## Signaling relay latency (issue 2)

${relay.clients} concurrent WebSocket clients in ${RELAY.rooms} rooms of ${RELAY.clients / RELAY.rooms}, each
sending ${RELAY.messagesPerClient} ICE-candidate \`signal\` messages to random room-mates (about 20/s per
client). Latency is send → receive through the server; clients and server share one Node process
on this 2-core machine, so the figures include client work (an upper bound for the server's own cost).

| clients | messages | p50 (ms) | p99 (ms) | max (ms) | all connected and joined (ms) |
| ---: | ---: | ---: | ---: | ---: | ---: |
| ${relay.clients} | ${relay.samples} | ${fmt(relay.p50Ms)} | ${fmt(relay.p99Ms)} | ${fmt(relay.maxMs)} | ${fmt(relay.connectMs)} |

## Hashing and storage (issue 3)

In one Chromium page with an on-disk profile (an off-the-record profile keeps OPFS in memory), on a
${storage.hashMiB} MiB file on disk handed to the page as a \`File\` (disk-backed, as an imported file is). Medians of 3 runs after a warm-up run. MB = 10⁶ bytes.

| what | throughput | vs. ceiling |
| --- | ---: | ---: |
| reading the file alone, 4 MiB slices (ceiling for any pass over a file) | ${mbs(storage.readMBs)} | — |
| hash-wasm SHA-256 on the same bytes already in memory | ${mbs(storage.wasmMBs)} | — |
| WebCrypto \`digest\` on the same bytes in memory (one shot) | ${mbs(storage.subtleMBs)} | — |
| **worker pipeline**: read + whole-file hash-wasm + piece hashes | ${mbs(storage.pipelineMBs)} | ${pct(storage.pipelineMBs, storage.wasmMBs)} of in-memory hash-wasm, ${pct(storage.pipelineMBs, storage.readMBs)} of file read |
| raw OPFS write through a sync access handle in a worker | ${mbs(storage.rawWriteMBs)} | — |
| **content store write** (ingest: read + hash + write temp, then commit) | ${mbs(storage.storeWriteMBs)} | ${pct(storage.storeWriteMBs, storage.rawWriteMBs)} of raw OPFS write |
| **content store read** (the stored \`File\`, streamed, as playback reads it) | ${mbs(storage.storeReadMBs)} | — |

The issue's target (the pipeline at ≥ 80 % of in-memory hash-wasm) is out of reach on this
machine for any pipeline that reads a file: reading the bytes alone is slower than hashing them in
memory. The pipeline's fair ceiling is the file read; the store write is bound by the disk (the raw
OPFS write), not by hashing. The raw write and the store write use the same 4 MiB steps.

Importing a ${storage.importMiB} MiB WAV through the whole Library pipeline (tags, ingest, catalog) took
${(storage.importMs / 1000).toFixed(1)} s (${storage.importState}). Resident memory of all Chromium processes:
${storage.rssBaselineMiB.toFixed(0)} MiB before, peak ${storage.rssPeakMiB.toFixed(0)} MiB
(+${(storage.rssPeakMiB - storage.rssBaselineMiB).toFixed(0)} MiB); the page's JS heap peaked at
${storage.heapPeakMiB.toFixed(1)} MiB. The file is never held in memory: the worker holds two 4 MiB slices at a
time, and the rest of the rise is read slices waiting for garbage collection.

${storage.smallTracks} small distinct WAV tracks imported through the whole pipeline: ${storage.smallImported} imported,
${storage.perTrackMs.toFixed(1)} ms per track end to end; catalog writes alone (one IndexedDB transaction
per track) ${storage.catalogPerTrackMs.toFixed(2)} ms per track.
${
  storage.ui
    ? `
### Bulk import through the UI, and reloads of big libraries (issue 15)

Right after, in the same browser (the app on its own origin, an on-disk profile): ${storage.smallTracks} other small
WAVs on disk chosen at once through the app's "Add music files" input (as a drop of a folder
delivers them), timed until the queue's polite summary says every file has ended; then the page
reloaded, timed from the navigation's start to the library's count listing every track (the
10,000-track reload is in the "big-library" section). Each per-file figure beside the
pipeline alone measured above in the same run. Alone (after both builds): \`node scripts/netns-run.mjs -- npx tsx tests/bench/storage-main.ts\`.

${formatUiImport({ pipelinePerTrackMs: storage.perTrackMs, ui: storage.ui })}
`
    : ''
}
## Gossip: a new track reaching every node, in browser contexts

N Chromium contexts (each its own storage, so its own node) in one room, opened with
\`?links=${gossip.linkBudget}&gossip=${gossip.gossipMs}\`: each node dials at most ${gossip.linkBudget} peers (and accepts a few more),
and gossips every ${gossip.gossipMs / 1000} s on average (±50 % jitter), ten times the default rate so the bench stays
short. The room grows in batches (${GOSSIP.sizes.join(' → ')} nodes). At each size the mesh is first made warm
(every node linked, in every directory, and listing every track with its metadata); then one node
imports a new 0.25 s WAV through the app's "Add music files" input, ${gossip.repetitions} times from different nodes.
Each page records (\`Date.now()\`, one machine) when its \`dcmx.network\` first lists the track's
hash with a holder, polling every 5 ms. Times in ms, median (min–max) of the ${gossip.repetitions} tracks.

Bytes are what each node sent over ${gossip.quietMs / 1000} s of a quiet, warm mesh (after the joins' pushes
cooled; own-record refreshes, every 6 rounds at this size, included), divided by the gossip rounds
that node ran in that window: mean over nodes (max). "Gossip" counts discover, peers and tracks
messages; "all" adds pings (every 2 s per link) and handshakes.

| nodes | links per node | warm after | import → every node lists it | importing node lists it → last node lists it | gossip KiB per node per round | all KiB per node per round |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${gossip.spread.map(spreadRow).join('\n')}

"Import → every node" includes the import itself (hashing, tags, catalog, signing the new
record); the next column is the spread alone. The importing node pushes its new record at once to
each of its links; nodes further away get it when a neighbour next gossips (a new version is
pushed for ${DEFAULT_DIRECTORY_CONFIG.hotRounds} rounds to ${DEFAULT_GOSSIP_CONFIG.fanout} random links per round), so each extra hop costs up to one gossip
interval. Bytes per round grow with N at these sizes because digests (up to ${DEFAULT_GOSSIP_CONFIG.digestSize} entries), record
samples and the number of refreshes per round all grow with the directory until their caps.

### Full sync of a network library (the seed's reference table)

${gossip.fullSync.holders} nodes each import ${gossip.fullSync.tracksEach} small WAVs (${gossip.fullSync.holders * gossip.fullSync.tracksEach} tracks in the network); then ${gossip.fullSync.allListedMs.length} fresh
nodes, one after another, open the app in that room. Times from the fresh page's navigation
start, median (min–max):

| fresh node's URL | first verified peer | all ${gossip.fullSync.holders * gossip.fullSync.tracksEach} tracks listed | all ${gossip.fullSync.holders * gossip.fullSync.tracksEach} with metadata | first peer → all with metadata |
| --- | ---: | ---: | ---: | ---: |
${syncRow(`\`?links=${gossip.linkBudget}&gossip=${gossip.gossipMs}\``, gossip.fullSync)}
${syncRow('no parameters (default 8 links, 10 s rounds)', gossip.fullSyncDefault)}

The seed's reference figures: peer discovery 100–500 ms, full sync of 100 tracks 1–5 s. Here
"peer discovery" is the first verified peer (it includes page load and key generation; see the
first-link section for the split), and a newly linked node gets the full picture at link time
(each side pushes its own record and swaps digests at once), not after gossip rounds.

## Gossip at scale, in the simulator

\`tests/bench/gossip-sim.ts\` runs real \`Mesh\` instances (directory, announcer, gossip, codec,
per-link rate limits) joined by in-memory links carrying real encoded frames
(\`src/core/testing/mesh-sim.ts\`). What it fakes: the transport (instant, no WebRTC), the clock
(every node runs one round, then time moves ${sim.intervalMs / 1000} s, the default interval; no jitter), and signatures
(a keyed hash). Each node opens ${sim.degree} links to random nodes plus one ring link (mean degree about 8), holds
${sim.tracksPerNode} track, gossips with the default config (fanout ${sim.fanout}), and re-announces its record on the app's
schedule (\`Mesh.refreshIfDue\`, called by the simulator each round: every 6 rounds, or every N / 32
rounds once the directory outgrows that). Bytes are what a node sent in a round (refreshes
included), over every node and round measured: mean / p95.

### Cold sync (warm-up)

Every node starts knowing only itself (links up, own announcement pushed to its direct
neighbours); rounds until every directory holds every node:

| nodes | rounds | simulated time | KiB per node per round (mean / p95) | total sent per node | wall time |
| ---: | ---: | ---: | ---: | ---: | ---: |
${sim.coldSync.map((r) => `| ${r.nodes} | ${r.rounds ?? `> ${r.maxRounds}`} | ${r.rounds ? simTime(r.rounds) : '—'} | ${kb(r.bytes.mean)} / ${kb(r.bytes.p95)} | ${(r.totalPerNode / 2 ** 20).toFixed(1)} MiB | ${(r.wallMs / 1000).toFixed(0)} s |`).join('\n')}

Cold sync is O(N) rounds at bounded bytes per round: each exchange carries at most a ${DEFAULT_GOSSIP_CONFIG.digestSize}-entry
digest and ${DEFAULT_GOSSIP_CONFIG.pushBytes / 1024} KiB of pushed records, so a node learns a bounded number of peers per round.

### A new track reaching every node

On a warm mesh: after cold sync for the sizes above, or else built by \`MeshSim.warm()\` (the
state cold sync ends in, without its O(N) rounds: every node's record, re-signed for the mesh's
size at a random point of its refresh period, installed in every directory through the same checks
gossip applies, and every track's metadata cached everywhere; wall time below). After ${DEFAULT_DIRECTORY_CONFIG.hotRounds}
rounds to settle and a few quiet rounds, new tracks one after another, each added at a random
node; rounds until every node lists it with a holder. Bytes "during" cover the rounds of the
spreads (refreshes included); "quiet" the quiet rounds before the first.

| nodes | log2 N | warm by | mean degree | rounds, each track | median | ÷ log2 N | simulated time | KiB/node/round during (mean / p95) | quiet (mean / p95) | wall per round |
| ---: | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |
${sim.spread.map(simSpreadRow).join('\n')}

Median rounds (█) beside log2 N (░), one block per round:

\`\`\`
${roundsPlot(sim.spread)}
\`\`\`

Share of nodes listing the track after the immediate push (first figure) and after each round,
for the median track at each size:

\`\`\`
${sim.spread.map(coverageLine).join('\n')}
\`\`\`

Not simulated: 10,000 nodes, nor 3,000. In this simulator every node holds every other node's
record (the default directory cap is 20,000): N² records in one process. At ${largest.nodes.toLocaleString('en')} nodes the
live heap was ${(largest.heapMiB / 1024).toFixed(1)} GiB, about ${Math.round(bytesPerRecord)} bytes per record held (every other overhead
included), so 10,000 nodes would need about ${((bytesPerRecord * 1e8) / 2 ** 30).toFixed(0)} GiB, beyond this ${Math.round(totalmem() / 2 ** 30)} GiB machine. Time
rules out 3,000: building the warm state took ${(largest.warmWallMs / 1000).toFixed(0)} s at ${largest.nodes.toLocaleString('en')} nodes and grows as N² (about
${((largest.warmWallMs * (3000 / largest.nodes) ** 2) / 60_000).toFixed(0)} min at 3,000, ${((bytesPerRecord * 9e6) / 2 ** 30).toFixed(0)} GiB), and one round took ${(largest.roundWallMs / 1000).toFixed(1)} s. Capping directories below N to make it fit would
measure something else: nodes then keep pulling the records they lack from every digest, which
is cold-sync traffic in every round.
`

console.log('app shell: cold, warm and offline loads…')
const pwaSection = await benchPwa({ log: console.log })

writeBenchSection('main', `${report}\n${transferSection.trim()}\n\n${pwaSection.trim()}\n`)
console.log('wrote the main section of docs/benchmarks.md')
