/**
 * `npm run bench`: measures, never asserts. Runs inside the private network namespace (see
 * scripts/netns-run.mjs) against the built app, and writes docs/benchmarks.md.
 */
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { resolve } from 'node:path'
import { measureRelayLatency } from '../../signaling/relay-bench.ts'
import { startSignaling } from '../../signaling/server.ts'
import { chromiumExecutable } from '../chromium.ts'
import { launchChromium } from './browser.ts'
import { measureFirstLink } from './first-link.ts'
import { measureStorage } from './storage.ts'

const FIRST_LINK_RUNS = 15
const RELAY = { clients: 200, rooms: 10, messagesPerClient: 20 }
const STORAGE = { hashMiB: 512, importMiB: 1024, smallTracks: 1000 }

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

const server = await startSignaling({
  port: 0,
  host: '127.0.0.1',
  staticDir: resolve(root, 'dist'),
  log: () => {},
})
// The storage bench page is built apart from the app (vite.bench.config.ts) and served on its own origin.
const benchServer = await startSignaling({
  port: 0,
  host: '127.0.0.1',
  staticDir: resolve(root, 'dist-bench'),
  log: () => {},
})
const browser = await launchChromium()
let firstLink
let storage
try {
  console.log(`first link: ${FIRST_LINK_RUNS} fresh nodes joining a room with one waiting node…`)
  firstLink = await measureFirstLink(browser, server.url, FIRST_LINK_RUNS)
  console.log(JSON.stringify(firstLink))
  console.log(
    `storage: ${STORAGE.hashMiB} MiB hashing, ${STORAGE.importMiB} MiB import, ${STORAGE.smallTracks} small tracks…`,
  )
  await browser.close()
  storage = await measureStorage(benchServer.url, STORAGE)
  console.log(JSON.stringify(storage))
} finally {
  await browser.close()
  await server.close()
  await benchServer.close()
}
console.log(`relay: ${RELAY.clients} WebSocket clients in ${RELAY.rooms} rooms…`)
const relay = await measureRelayLatency(RELAY)
console.log(JSON.stringify(relay))

const row = (name: string, s: { p50: number; min: number; max: number }) =>
  `| ${name} | ${fmt(s.p50)} | ${fmt(s.min)} | ${fmt(s.max)} |`

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
`

writeFileSync(resolve(root, 'docs', 'benchmarks.md'), report)
console.log('wrote docs/benchmarks.md')
