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
import { launchChromium } from './browser.ts'
import { measureFirstLink } from './first-link.ts'

const FIRST_LINK_RUNS = 15
const RELAY = { clients: 200, rooms: 10, messagesPerClient: 20 }

const root = resolve(import.meta.dirname, '..', '..')
const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(0))

function machine() {
  let chromium = 'unknown'
  try {
    chromium = execFileSync(process.env.DCMX_CHROMIUM ?? '/usr/bin/chromium', ['--version'])
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
const browser = await launchChromium()
let firstLink
try {
  console.log(`first link: ${FIRST_LINK_RUNS} fresh nodes joining a room with one waiting node…`)
  firstLink = await measureFirstLink(browser, server.url, FIRST_LINK_RUNS)
} finally {
  await browser.close()
  await server.close()
}
console.log(JSON.stringify(firstLink))
console.log(`relay: ${RELAY.clients} WebSocket clients in ${RELAY.rooms} rooms…`)
const relay = await measureRelayLatency(RELAY)
console.log(JSON.stringify(relay))

const row = (name: string, s: { p50: number; min: number; max: number }) =>
  `| ${name} | ${fmt(s.p50)} | ${fmt(s.min)} | ${fmt(s.max)} |`

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
`

writeFileSync(resolve(root, 'docs', 'benchmarks.md'), report)
console.log('wrote docs/benchmarks.md')
