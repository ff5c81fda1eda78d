/**
 * The receiver's cost of a download, per MiB, on the real platform code in Chromium with an
 * on-disk profile: 64 MiB of 256 KiB pieces written with their expected digests to the partial
 * store (which verifies them) and completed into the content store, through the IndexedDB partial
 * store (each piece verified on the main thread, a transaction and a Blob per piece, then join +
 * re-hash + copy) and the OPFS one (the content worker verifies each piece, writes it at its offset
 * through a sync handle and extends the whole-file hash; completion compares it and moves the
 * file), beside a bare sync-handle write of the same bytes (the ceiling); and the main thread's
 * share of verifying pieces with WebCrypto, which the IndexedDB fallback still pays.
 *
 *   npm run bench:receive    (vite build -c vite.bench.config.ts && tsx tests/bench/receive.ts)
 *
 * Writes the `receive` section of docs/benchmarks.md (`--no-doc`: print only).
 */
import type { CDPSession, Page } from '@playwright/test'
import { readdirSync, readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { resolve } from 'node:path'
import { startSignaling } from '../../signaling/server.ts'
import { launchPersistent, percentile, pollPage } from './browser.ts'
import { writeBenchSection } from './doc-section.ts'

const MIB = 64
const REPEATS = 3
/** As tests/bench/page/receive-bench.ts writes: several pieces in flight, as a transfer has. */
const WRITE_WINDOW = 8
const root = resolve(import.meta.dirname, '..', '..')

/** CPU ms (user + system) of every process descended from this one: the bench's own browser only. */
function browserCpuMs(): number {
  const parent = new Map<number, number>()
  const ticks = new Map<number, number>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      parent.set(Number(name), Number(fields[1]))
      ticks.set(Number(name), Number(fields[11]) + Number(fields[12]))
    } catch {
      // the process ended while we looked
    }
  }
  const ours = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p))
      if (p === process.pid) return true
    return false
  }
  let total = 0
  for (const [pid, t] of ticks) if (ours(pid)) total += t
  return total * 10 // USER_HZ = 100
}

async function mainThreadMs(cdp: CDPSession): Promise<number> {
  const { metrics } = await cdp.send('Performance.getMetrics')
  return (metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0) * 1000
}

type Sample = { ms: number; mainMs: number; cpuMs: number; detail: Record<string, number> }

async function measure(page: Page, cdp: CDPSession, expr: string): Promise<Sample> {
  const [main0, cpu0] = [await mainThreadMs(cdp), browserCpuMs()]
  const detail = (await page.evaluate(expr)) as Record<string, number>
  const [main1, cpu1] = [await mainThreadMs(cdp), browserCpuMs()]
  return { ms: detail.ms ?? detail.totalMs ?? 0, mainMs: main1 - main0, cpuMs: cpu1 - cpu0, detail }
}

const server = await startSignaling({
  port: 0,
  host: '127.0.0.1',
  staticDir: process.env.DCMX_DIST_BENCH ?? resolve(root, 'dist-bench'),
  log: () => {},
})
const browser = await launchPersistent()
const loadBefore = loadavg()[0]!
const started = Date.now()
type Kind = 'idb' | 'opfs' | 'raw' | 'verify' | 'idle'
const runs: Record<Kind, Sample[]> = { idb: [], opfs: [], raw: [], verify: [], idle: [] }
const EXPR: Record<Kind, string> = {
  idb: "receiveBench.receive('idb')",
  opfs: "receiveBench.receive('opfs')",
  raw: 'receiveBench.rawWrite()',
  verify: 'receiveBench.verifyPieces()',
  idle: 'receiveBench.idlePieces()',
}
try {
  const page = browser.context.pages()[0] ?? (await browser.context.newPage())
  await page.goto(`${server.url}/`)
  await pollPage(page, 'window.receiveBench !== undefined')
  const cdp = await browser.context.newCDPSession(page)
  await cdp.send('Performance.enable')
  // Run 0 is a warm-up (worker start, WASM compile, database open); then REPEATS measured runs.
  for (let run = 0; run <= REPEATS; run++) {
    console.log(`receive: run ${run}${run === 0 ? ' (warm-up)' : ''}, ${MIB} MiB…`)
    await page.evaluate(`receiveBench.prepare(${MIB}, ${run + 1})`)
    // Alternate the order, so no store always runs first on a quieter disk.
    const order: Kind[] =
      run % 2 === 0 ? ['idb', 'opfs', 'raw', 'verify', 'idle'] : ['opfs', 'idb', 'idle', 'verify', 'raw']
    for (const kind of order) {
      // Cutting the pieces is the link layer's work, not the store's: done before the measurement.
      if (kind !== 'raw') await page.evaluate('receiveBench.cut()')
      const sample = await measure(page, cdp, EXPR[kind])
      if (run > 0) runs[kind].push(sample)
    }
  }
} finally {
  await browser.close()
  await server.close()
}
const loadAfter = loadavg()[0]!
const seconds = Math.round((Date.now() - started) / 1000)

const med = (xs: number[]) => percentile(xs, 50)
const perMiB = (kind: Kind, pick: (s: Sample) => number) => med(runs[kind].map(pick)) / MIB
const f1 = (x: number) => x.toFixed(1)
const row = (name: string, kind: Kind) => {
  const d = (key: string) => (s: Sample) => s.detail[key] ?? 0
  return `| ${name} | ${f1(perMiB(kind, d('writeMs')))} | ${f1(perMiB(kind, d('completeMs')))} | ${f1(perMiB(kind, (s) => s.ms))} | ${f1(perMiB(kind, (s) => s.mainMs))} | ${f1(perMiB(kind, (s) => s.cpuMs))} |`
}
const verifyMain = perMiB('verify', (s) => s.mainMs) - perMiB('idle', (s) => s.mainMs)
const verifyWall = perMiB('verify', (s) => s.ms) - perMiB('idle', (s) => s.ms)
const speedup = perMiB('idb', (s) => s.ms) / perMiB('opfs', (s) => s.ms)

const markdown = `## Receiving a download (issue 15, item 1)

The receiver's side of a download, without the network: ${MIB} MiB of 256 KiB pieces (each in a
fresh buffer, as the link layer assembles them, cut before the clock starts; ${WRITE_WINDOW} writes in flight) written by the page
to a partial store with the digest the piece list gives each (the store verifies every piece and
writes only what matches), then \`complete()\` into the content store (OPFS). Chromium with an on-disk
profile, the bench page (\`tests/bench/page/receive-bench.ts\`) on the real platform code. Medians of
${REPEATS} runs after a warm-up (each column its own median), in ms per MiB. "Main thread" is the page's CDP
\`Performance.getMetrics\` TaskDuration; "browser CPU" is user + system time of every process of
this browser (renderer, its workers, storage and browser processes), from \`/proc\`.

- **IndexedDB partial store** (\`IdbPartialStore\`, the fallback where OPFS sync handles are
  missing): each piece verified with WebCrypto on the main thread, one transaction and one Blob per
  piece; completion joins the Blobs and ingests them (the content worker hashes and copies them
  into a temporary, then it is moved into place).
- **OPFS partial store** (\`OpfsPartialStore\`): each piece's buffer is transferred to the content
  worker with its digest; the worker verifies it (WebCrypto), writes it at its offset through a
  sync access handle open for the download's life (held pieces recorded after a flush, every
  8 MiB) and extends the whole-file SHA-256 over the written prefix (hash-wasm); completion only
  compares that hash and moves the file to \`content/<ab>/<hash>\`.
- **Ceiling**: the same bytes written through a bare sync access handle in a worker, in 4 MiB
  steps, with no pieces, hashing or commit (\`raw-opfs.worker.ts\`).

| receive ${MIB} MiB | write pieces | complete | total | main thread | browser CPU |
| --- | ---: | ---: | ---: | ---: | ---: |
${row('IndexedDB partial store (the fallback)', 'idb')}
${row('**OPFS partial store**', 'opfs')}
| bare sync-handle write (**ceiling**, write only) | — | — | ${f1(perMiB('raw', (s) => s.ms))} | ${f1(perMiB('raw', (s) => s.mainMs))} | ${f1(perMiB('raw', (s) => s.cpuMs))} |

The OPFS path takes ${speedup.toFixed(1)}× less time per MiB than the IndexedDB one, and
${f1(perMiB('opfs', (s) => s.ms) / perMiB('raw', (s) => s.ms))}× the bare write (which neither hashes nor commits).

**Verifying pieces on the main thread** (what the IndexedDB fallback still does, and the OPFS
path no longer does). Digesting the same ${MIB} MiB with \`crypto.subtle.digest\` one piece per task
costs the main thread ${f1(verifyMain)} ms per MiB more than the same tasks without hashing
(${f1(verifyWall)} ms per MiB of wall time more). In the OPFS path that work, and the whole-file
hash, run in the content worker, beside the write they guard.

Taken with \`npm run bench:receive\` in ${seconds} s; 1-minute load average ${loadBefore.toFixed(1)} at the start
and ${loadAfter.toFixed(1)} at the end on 2 cores${loadBefore > 2 || loadAfter > 2 ? ' (taken under parallel load: other work shared the machine)' : ''}.
`
console.log(`\n${markdown}`)
if (!process.argv.includes('--no-doc')) writeBenchSection('receive', markdown)
