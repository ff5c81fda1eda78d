/**
 * NAT lab benchmark (`npm run bench:nat`): per path — direct, reflexive, relayed over UDP and over
 * TCP — DCMX's time to the first verified link and its fetch throughput, each beside a bare
 * RTCDataChannel between the same two homes with the same ICE servers (tests/nat/pump.ts).
 * Measures only; asserts nothing about time.
 */
import { test, type Browser } from '@playwright/test'
import { writeBenchSection } from '../bench/doc-section.ts'
import { makeWav, sha256 } from '../e2e/audio-fixtures.ts'
import { IceProvider } from '../../signaling/turn.ts'
import {
  labCoturn,
  labServer,
  launchHome,
  openLabNode,
  readLab,
  SECRET,
  stunServer,
  turnUrl,
  type HomeName,
} from './lab.ts'
import { pump } from './pump.ts'

const lab = readLab()
const song = makeWav({ name: 'bench.wav', seconds: 90, sampleRate: 44_100, title: 'Bench Song' })
const songHash = sha256(song.buffer)
const PUMP_BYTES = 16 * 1024 * 1024

const PATHS: { name: string; a: HomeName; b: HomeName; withTurn: boolean }[] = [
  { name: 'direct (host ↔ host, one home)', a: 'cone1', b: 'cone1', withTurn: false },
  { name: 'reflexive (cone NAT ↔ cone NAT)', a: 'cone1', b: 'cone2', withTurn: false },
  { name: 'relayed, TURN/UDP (symmetric NAT ↔ cone NAT)', a: 'symmetric', b: 'cone1', withTurn: true },
  { name: 'relayed, TURN/TCP (UDP blocked ↔ cone NAT)', a: 'udpblocked', b: 'cone1', withTurn: true },
]

const mbps = (bytes: number, ms: number) => ((bytes / 1e6 / ms) * 1000).toFixed(1)

async function poll<T>(fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    const v = await fn()
    if (v !== undefined) return v
    await new Promise((r) => setTimeout(r, 100))
  }
  return undefined
}

test('NAT lab: link set-up and throughput per path, beside a bare data channel', async () => {
  test.setTimeout(600_000)
  const coturn = await labCoturn(lab)
  const rows: string[] = []
  try {
    for (const path of PATHS) {
      const server = await labServer(lab, coturn, { withTurn: path.withTurn })
      const browsers: Browser[] = []
      try {
        const origin = new URL(server.url).origin
        browsers.push(await launchHome(lab, path.a, origin), await launchHome(lab, path.b, origin))
        const [ba, bb] = browsers as [Browser, Browser]
        // DCMX: the holder first, then the fetcher; its first verified link is timed from its navigation.
        const room = `bench${Date.now() % 100_000}`
        const holder = await openLabNode(bb, server, { room })
        await holder.page.getByLabel('Add music files').setInputFiles([song])
        const fetcher = await openLabNode(ba, server, { room })
        const verifiedMs = await poll(
          () =>
            fetcher.page.evaluate(
              () => performance.getEntriesByName('dcmx:first-peer-verified')[0]?.startTime,
            ),
          60_000,
        )
        const route = await poll(
          () =>
            fetcher.page.evaluate(() => {
              const r = window.dcmx?.peers.find((p) => p.state === 'connected')?.route
              return r
                ? `${r.local}${r.relayProtocol ? `(${r.relayProtocol})` : ''} ↔ ${r.remote}`
                : undefined
            }),
          20_000,
        )
        await poll(
          () =>
            fetcher.page.evaluate(
              (h) =>
                window.dcmx!.network.some((t) => t.contentHash === h && t.described) ? true : undefined,
              songHash,
            ),
          30_000,
        )
        const t0 = Date.now()
        await fetcher.page.evaluate((h) => window.dcmx!.fetcher!.fetch(h), songHash)
        const done = await poll(
          () =>
            fetcher.page.evaluate((h) => {
              const d = window.dcmx!.fetcher!.downloads.find((x) => x.hash === h)
              return d?.state === 'done' || d?.state === 'failed' ? d.state : undefined
            }, songHash),
          120_000,
        )
        const fetchMs = Date.now() - t0
        // The ceiling: a bare channel between the same two homes, with the same ICE servers.
        const iceServers = new IceProvider(
          [stunServer(lab, coturn)],
          path.withTurn ? { secret: SECRET, urls: [turnUrl(lab, coturn)] } : undefined,
        ).serversFor('bench')
        const pa = await (await ba.newContext()).newPage()
        const pb = await (await bb.newContext()).newPage()
        const bare = await pump(pa, pb, { iceServers, bytes: PUMP_BYTES, timeoutMs: 60_000 })
        rows.push(
          `| ${path.name} | ${route ?? '—'} | ${verifiedMs?.toFixed(0) ?? 'no link'} | ${bare.openMs.toFixed(0)} | ` +
            `${done === 'done' ? mbps(song.buffer.length, fetchMs) : (done ?? 'timed out')} | ` +
            `${bare.done ? mbps(bare.bytes, bare.ms) : `stalled at ${(bare.bytes / 1e6).toFixed(1)} MB`} | ${bare.pair} |`,
        )
        console.log(rows.at(-1))
      } finally {
        for (const b of browsers) await b.close().catch(() => {})
        await server.close()
      }
    }
  } finally {
    await coturn.close()
  }
  writeBenchSection(
    'nat-lab',
    `## NAT lab: link set-up and throughput by path

\`npm run bench:nat\` (tests/nat/lab.bench.ts), in the NAT lab of scripts/nat-lab.mjs: Chromium in
home namespaces behind nftables NAT routers, the DCMX server and coturn 4.6 in an "internet"
namespace, all on one machine (veth links, no added latency or loss), taken on the shared 2-core
machine under parallel load from other engineers' work.

- *DCMX first link*: from the fetching tab's navigation to its first verified peer (page load,
  identity, signaling, ICE, DTLS, the signed hello exchange), \`dcmx:first-peer-verified\`.
- *Bare open*: the ceiling for the network part: two bare RTCPeerConnections between the same two
  homes, the same ICE servers, descriptions and trickled candidates carried by the test process
  (polled every 20 ms), from creating the connection to the data channel opening.
- *DCMX fetch*: ${(song.buffer.length / 1e6).toFixed(1)} MB track, from \`fetch()\` to the verified
  file stored (SHA-256 per piece and of the whole file, OPFS writes).
- *Bare pump*: 16 MiB in 16 KiB messages over one ordered channel on the same path, receiver-timed.

| path | DCMX route (local ↔ remote) | DCMX first link, ms | bare open, ms | DCMX fetch, MB/s | bare pump, MB/s | bare pair (remote ↔ local) |
| --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}
`,
  )
})
