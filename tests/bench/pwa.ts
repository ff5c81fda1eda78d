/**
 * The app shell as a user meets it (issue 6): cold, warm (service worker) and offline load times to
 * an interactive app, and the size of the precached shell next to a budget. Measures, never asserts.
 *
 * Each run gets its own server (so stopping it for the offline reload touches nothing else) and its
 * own on-disk profile (service workers, their caches and V8's code cache live there, as for a user):
 *   1. cold: first visit, no worker, empty HTTP cache;
 *   2. wait until the page is offline-ready: its worker controls it and has cached the shell;
 *   3. warm: a new tab opens the app, the worker running (as right after a visit);
 *   4. warm, worker stopped: the same after the browser stopped the idle worker (it must start);
 *   5. offline: server stopped, context offline, HTTP cache emptied, the tab reloads.
 * A second series of cold loads goes through an emulated slow link, in fresh contexts of one browser.
 */
import { chromium, type BrowserContext, type Page } from '@playwright/test'
import { readFileSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { gzipSync } from 'node:zlib'
import { startSignaling, type SignalingServer } from '../../signaling/server.ts'
import { SHELL_FILL_DELAY_MS } from '../../src/sw/protocol.ts'
import { chromiumLaunchOptions } from '../chromium.ts'
import { noteInteractive } from '../interactive-probe.ts'
import { launchPersistent, percentile } from './browser.ts'

const root = resolve(import.meta.dirname, '..', '..')

/** The budgets, in bytes of gzip (level 6), and why: see the markdown `benchPwa` writes. */
export const PWA_BUDGET = {
  /** index.html + the entry script + its stylesheet, gzip: what a first visit must fetch to start. */
  entryGzip: 120 * 1024,
  /** Everything the service worker precaches, gzip: what a first visit downloads to work offline. */
  precacheGzip: 250 * 1024,
}

/** The emulated slow link: a slow 3G-ish connection (Lighthouse's mobile throttling figures). */
export const SLOW_LINK = { downMbps: 1.6, upMbps: 0.75, rttMs: 150 }

export type PwaOptions = {
  /** The build to serve and measure; dist/ by default. */
  staticDir?: string
  /** Runs per scenario (medians of these); 10 by default. */
  runs?: number
  /** Cold loads through the emulated slow link; `runs` by default, 0 to skip. */
  slowRuns?: number
  log?: (line: string) => void
}

/** What one page load reports, in ms from its navigation start. */
export type LoadSample = {
  /** The app interactive: the page shows its peer id and the Add music button is enabled. */
  interactive: number
  /** The document's last byte arrived (from the network or the service worker). */
  responseEnd: number
  /** DOMContentLoaded handlers done. */
  dcl: number
  /** The load event's handlers done. */
  load: number
  fcp: number | null
  /** The app's own mark: the node's key pair loaded (or made and stored). */
  identity: number | null
  /** The document came from the service worker. */
  fromServiceWorker: boolean
}

type Summary = { p50: number; min: number; max: number; n: number }

export type PwaResult = {
  runs: number
  failures: string[]
  cold: LoadSample[]
  /** ms from the cold load's navigation start until the worker controls the page (a first install takes control at once). */
  controlledMs: number[]
  /** ms from the cold load's navigation start until the worker has the whole shell (`dcmx:offline-ready`). */
  offlineReadyMs: number[]
  warm: LoadSample[]
  warmStopped: LoadSample[]
  offline: LoadSample[]
  slow: LoadSample[]
  /** Same-origin paths the page requested on the first cold load before it was interactive. */
  criticalPaths: string[]
  sizes: ShellSizes
}

export type FileSize = { path: string; raw: number; gzip: number }
export type ShellSizes = {
  precache: FileSize[]
  /** index.html and what it loads itself (module script, modulepreloads, stylesheets). */
  entry: FileSize[]
  /** The service worker script: not in its own precache, but installed beside it. */
  sw: FileSize
}

// Page scripts are strings, not functions: tsx's transform would add helpers the page does not have.
/** Before any page script: note the moment the app turns interactive, and when a worker takes control. */
const INSTRUMENT = `(() => {
  ${noteInteractive('__benchInteractive')}
  if ('serviceWorker' in navigator)
    navigator.serviceWorker.addEventListener('controllerchange', () => {
      if (window.__benchControlled === undefined) window.__benchControlled = performance.now()
    })
})()`

/** The load's figures once the app is interactive and the load event has run; undefined before. */
const READ_LOAD = `(() => {
  const nav = performance.getEntriesByType('navigation')[0]
  if (window.__benchInteractive === undefined || !nav || nav.loadEventEnd === 0) return undefined
  const at = (name) => performance.getEntriesByName(name)[0]?.startTime ?? null
  // Paint timing arrives once the frame is presented, a little after the app mounts.
  if (at('first-contentful-paint') === null && performance.now() < window.__benchInteractive + 2000) return undefined
  return {
    interactive: window.__benchInteractive,
    responseEnd: nav.responseEnd,
    dcl: nav.domContentLoadedEventEnd,
    load: nav.loadEventEnd,
    fcp: at('first-contentful-paint'),
    identity: at('dcmx:identity-ready'),
  }
})()`

/** When the first visit's page was controlled, and when it was offline-ready (its worker had the whole shell). */
const OFFLINE_READY = `(() => {
  const ready = performance.getEntriesByName('dcmx:offline-ready')[0]?.startTime
  if (!navigator.serviceWorker.controller || ready === undefined) return undefined
  return { controlled: window.__benchControlled ?? -1, ready }
})()`

/**
 * Evaluate `expression` in the page every 20 ms until it is not undefined. Not waitForFunction: it
 * compiles a string predicate with `new Function`, which the app's CSP (no 'unsafe-eval') refuses;
 * a plain evaluation through the DevTools protocol is not subject to it. The figures are taken in
 * the page, so the polling interval does not enter them.
 */
async function poll<T>(page: Page, expression: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = (await page.evaluate(expression)) as T | undefined
    if (value !== undefined) return value
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${expression.slice(0, 60)}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function readLoad(page: Page, fromServiceWorker: boolean): Promise<LoadSample> {
  return { ...(await poll<Omit<LoadSample, 'fromServiceWorker'>>(page, READ_LOAD)), fromServiceWorker }
}

/** Open the app in a new tab of `context` after closing `previous`: the user reopens the app. */
async function reopen(
  context: BrowserContext,
  previous: Page,
  url: string,
): Promise<{ page: Page; sample: LoadSample }> {
  const page = await context.newPage()
  await previous.close()
  const response = await page.goto(url)
  return { page, sample: await readLoad(page, response?.fromServiceWorker() ?? false) }
}

async function oneRun(staticDir: string, i: number, critical: Set<string> | undefined) {
  let server: SignalingServer | undefined = await startSignaling({
    port: 0,
    host: '127.0.0.1',
    staticDir,
    log: () => {},
  })
  const browser = await launchPersistent()
  try {
    const { context } = browser
    await context.addInitScript(INSTRUMENT)
    const url = `${server.url}/?room=bench-pwa-${i}`
    const origin = new URL(server.url).origin
    let page = context.pages()[0] ?? (await context.newPage())

    // 1. Cold.
    const requested: string[] = []
    const onRequest = (r: { url(): string }) => {
      const u = new URL(r.url())
      if (u.origin === origin) requested.push(u.pathname)
    }
    page.on('request', onRequest)
    const coldResponse = await page.goto(url)
    const cold = await readLoad(page, coldResponse?.fromServiceWorker() ?? false)
    page.off('request', onRequest)
    if (critical) {
      // Requests made up to the moment the app was interactive (a page's requests arrive in order).
      const before = (await page.evaluate(
        `performance.getEntriesByType('resource').filter((e) => e.startTime <= window.__benchInteractive).map((e) => new URL(e.name).pathname)`,
      )) as string[]
      for (const p of requested) if (p === new URL(url).pathname || before.includes(p)) critical.add(p)
    }

    // 2. Offline-ready: a first visit's worker takes control at once, and the page asks it to cache
    // the shell once it has started (src/platform/sw-bridge.ts, SHELL_FILL_DELAY_MS).
    const { controlled: controlledMs, ready: offlineReadyMs } = await poll<{
      controlled: number
      ready: number
    }>(page, OFFLINE_READY)

    // 3. Warm, the worker still running.
    const warmLoad = await reopen(context, page, url)
    page = warmLoad.page
    const warm = warmLoad.sample

    // 4. Warm, the idle worker stopped by the browser, as after a while away.
    const cdp = await context.newCDPSession(page)
    await cdp.send('ServiceWorker.enable')
    await cdp.send('ServiceWorker.stopAllWorkers')
    await cdp.detach()
    const stoppedLoad = await reopen(context, page, url)
    page = stoppedLoad.page
    const warmStopped = stoppedLoad.sample

    // 5. Offline reload: nothing answers on the network, hashed assets are gone from the HTTP cache.
    await server.close()
    server = undefined
    await context.setOffline(true)
    const session = await context.newCDPSession(page)
    await session.send('Network.clearBrowserCache')
    await session.detach()
    const reloaded = await page.reload()
    const offline = await readLoad(page, reloaded?.fromServiceWorker() ?? false)

    return { cold, controlledMs, offlineReadyMs, warm, warmStopped, offline }
  } finally {
    await browser.close().catch(() => {})
    await server?.close()
  }
}

/** Cold loads through an emulated slow link, each in a fresh (off-the-record) context of one browser. */
async function slowColdLoads(staticDir: string, runs: number, failures: string[]): Promise<LoadSample[]> {
  const samples: LoadSample[] = []
  if (runs <= 0) return samples
  const server = await startSignaling({ port: 0, host: '127.0.0.1', staticDir, log: () => {} })
  const browser = await chromium.launch(chromiumLaunchOptions())
  try {
    for (let i = 0; i < runs; i++) {
      const context = await browser.newContext()
      try {
        await context.addInitScript(INSTRUMENT)
        const page = await context.newPage()
        const cdp = await context.newCDPSession(page)
        await cdp.send('Network.enable')
        await cdp.send('Network.emulateNetworkConditions', {
          offline: false,
          latency: SLOW_LINK.rttMs,
          downloadThroughput: (SLOW_LINK.downMbps * 1e6) / 8,
          uploadThroughput: (SLOW_LINK.upMbps * 1e6) / 8,
        })
        const response = await page.goto(`${server.url}/?room=bench-pwa-slow-${i}`)
        samples.push(await readLoad(page, response?.fromServiceWorker() ?? false))
      } catch (error) {
        failures.push(
          `slow cold load ${i + 1}: ${error instanceof Error ? error.message.split('\n')[0] : error}`,
        )
      } finally {
        await context.close().catch(() => {})
      }
    }
  } finally {
    await browser.close()
    await server.close()
  }
  return samples
}

function sizeOf(staticDir: string, path: string): FileSize {
  const bytes = readFileSync(resolve(staticDir, path.replace(/^\//, '')))
  return { path: path.replace(/^\//, ''), raw: bytes.length, gzip: gzipSync(bytes, { level: 6 }).length }
}

/** The precache list the build injected into sw.js, and the entry files index.html loads. */
export function shellSizes(staticDir: string): ShellSizes {
  const sw = readFileSync(resolve(staticDir, 'sw.js'), 'utf8')
  const urls = [...sw.matchAll(/\{"revision":(?:null|"[0-9a-f]+"),"url":"([^"]+)"\}/g)].map((m) => m[1]!)
  if (urls.length === 0) throw new Error(`no precache entries found in ${staticDir}/sw.js`)
  const html = readFileSync(resolve(staticDir, 'index.html'), 'utf8')
  const entry = ['index.html']
  for (const tag of html.match(/<(script|link)\b[^>]*>/g) ?? []) {
    const src = /\b(?:src|href)="([^"]+)"/.exec(tag)?.[1]
    if (!src) continue
    const isScript = tag.startsWith('<script') && /type="module"/.test(tag)
    const isLoaded = /rel="(stylesheet|modulepreload)"/.test(tag)
    if (isScript || isLoaded) entry.push(src)
  }
  return {
    precache: [...new Set(urls)].map((u) => sizeOf(staticDir, u)),
    entry: entry.map((u) => sizeOf(staticDir, u)),
    sw: sizeOf(staticDir, 'sw.js'),
  }
}

/** Run every scenario `runs` times and read the shell's sizes. */
export async function measurePwa(opts: PwaOptions = {}): Promise<PwaResult> {
  const staticDir = opts.staticDir ?? resolve(root, 'dist')
  const runs = opts.runs ?? 10
  const log = opts.log ?? (() => {})
  statSync(resolve(staticDir, 'sw.js'))
  const result: PwaResult = {
    runs,
    failures: [],
    cold: [],
    controlledMs: [],
    offlineReadyMs: [],
    warm: [],
    warmStopped: [],
    offline: [],
    slow: [],
    criticalPaths: [],
    sizes: shellSizes(staticDir),
  }
  const critical = new Set<string>()
  for (let i = 0; i < runs; i++) {
    try {
      const r = await oneRun(staticDir, i, i === 0 ? critical : undefined)
      result.cold.push(r.cold)
      result.controlledMs.push(r.controlledMs)
      result.offlineReadyMs.push(r.offlineReadyMs)
      result.warm.push(r.warm)
      result.warmStopped.push(r.warmStopped)
      result.offline.push(r.offline)
      log(
        `  run ${i + 1}/${runs}: cold ${r.cold.interactive.toFixed(0)} ms, controlled ${r.controlledMs.toFixed(0)}, offline-ready ${r.offlineReadyMs.toFixed(0)}, warm ${r.warm.interactive.toFixed(0)}, warm (worker stopped) ${r.warmStopped.interactive.toFixed(0)}, offline ${r.offline.interactive.toFixed(0)}`,
      )
    } catch (error) {
      const message = `run ${i + 1}: ${error instanceof Error ? error.message.split('\n')[0] : error}`
      result.failures.push(message)
      log(`  ${message}`)
    }
  }
  result.criticalPaths = [...critical]
  const slowRuns = opts.slowRuns ?? runs
  if (slowRuns > 0) {
    log(`  ${slowRuns} cold loads through ${SLOW_LINK.downMbps} Mbps / ${SLOW_LINK.rttMs} ms RTT…`)
    result.slow = await slowColdLoads(staticDir, slowRuns, result.failures)
  }
  return result
}

const summary = (xs: number[]): Summary => ({
  p50: percentile(xs, 50),
  min: Math.min(...xs),
  max: Math.max(...xs),
  n: xs.length,
})
const ms = (x: number | null | undefined) =>
  x === null || x === undefined || Number.isNaN(x) ? '—' : x < 10 ? x.toFixed(1) : x.toFixed(0)
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`
const sum = (xs: FileSize[], key: 'raw' | 'gzip') => xs.reduce((a, f) => a + f[key], 0)
/** Seconds to move `bytes` through the slow link, bandwidth alone. */
const slowSeconds = (bytes: number) => (bytes * 8) / (SLOW_LINK.downMbps * 1e6)

function kind(path: string): 'JS' | 'CSS' | 'other' {
  return path.endsWith('.js') ? 'JS' : path.endsWith('.css') ? 'CSS' : 'other'
}

function loadRow(name: string, samples: LoadSample[]): string {
  if (samples.length === 0) return `| ${name} | — | — | — | — | — | — | 0 |`
  const p50 = (pick: (s: LoadSample) => number | null) => {
    const xs = samples.map(pick).filter((x): x is number => x !== null)
    return xs.length ? percentile(xs, 50) : null
  }
  const i = summary(samples.map((s) => s.interactive))
  return `| ${name} | ${ms(p50((s) => s.responseEnd))} | ${ms(p50((s) => s.dcl))} | ${ms(p50((s) => s.identity))} | **${ms(i.p50)}** | ${ms(i.min)}–${ms(i.max)} | ${ms(p50((s) => s.fcp))} | ${i.n} |`
}

/** The markdown section for docs/benchmarks.md. */
export function formatPwa(r: PwaResult): string {
  const { precache, entry, sw } = r.sizes
  const byKind = (k: 'JS' | 'CSS' | 'other') => precache.filter((f) => kind(f.path) === k)
  const entryJsCss = entry.filter((f) => kind(f.path) !== 'other')
  const entryGzip = sum(entry, 'gzip')
  const precacheGzip = sum(precache, 'gzip')
  const verdict = (value: number, budget: number) =>
    `${kib(value)} of ${kib(budget)} (${Math.round((100 * value) / budget)} %): ${value <= budget ? 'within budget' : '**over budget**'}`
  // Scripts and styles only: icons and the manifest are fetched beside the app, never waited for.
  const criticalSizes = r.criticalPaths
    .map((p) => (p === '/' ? 'index.html' : p.replace(/^\//, '')))
    .map((p) => precache.find((f) => f.path === p))
    .filter((f): f is FileSize => f !== undefined && (f.path === 'index.html' || kind(f.path) !== 'other'))
  const lazyJs = byKind('JS').filter((f) => !entry.some((e) => e.path === f.path))
  const worker = lazyJs.filter((f) => f.path.includes('content.worker'))
  const rtc = lazyJs.filter((f) => f.path.includes('rtc-link'))
  const otherLazy = lazyJs.filter((f) => !worker.includes(f) && !rtc.includes(f))
  const all = [...r.cold, ...r.warm, ...r.warmStopped, ...r.offline]
  const swServed = (xs: LoadSample[]) => xs.filter((s) => s.fromServiceWorker).length
  const ready = r.offlineReadyMs.length ? summary(r.offlineReadyMs) : undefined
  const controlled = r.controlledMs.length ? summary(r.controlledMs) : undefined
  const fileRow = (label: string, files: FileSize[]) =>
    `| ${label} | ${files.length} | ${kib(sum(files, 'raw'))} | ${kib(sum(files, 'gzip'))} |`

  return `## App shell: cold, warm and offline loads, precache size (issue 6)

Each of ${r.runs} runs starts its own server and a new Chromium profile on disk (service workers and
their caches live there, as for a user), then: a **cold** first visit (no worker, empty HTTP cache);
waits until the page is offline-ready (its worker, which takes control at once, has cached the shell the page asks for); reopens
the app in a new tab, the worker running (**warm**) and again after stopping the idle worker through
the DevTools protocol (**warm, worker stopped**: it must start first, as after a while away); then
stops the server, takes the context offline, empties the HTTP cache and reloads (**offline**).
Times are in ms from navigation start; interactive is the moment the page shows its peer id with
the Add music button enabled (a MutationObserver installed before any page script notes it). The
server is on loopback, so these are CPU and storage costs, not transfer. Warm loads open a new tab;
the offline reload reuses its tab's renderer, one reason it is the quickest.

| load | document received | DOMContentLoaded | identity ready (\`dcmx:identity-ready\`) | **interactive** p50 | interactive min–max | first contentful paint | runs |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${loadRow('cold (first visit)', r.cold)}
${loadRow('warm, worker running', r.warm)}
${loadRow('warm, worker stopped', r.warmStopped)}
${loadRow('offline reload (server stopped, context offline)', r.offline)}
${loadRow(`cold through an emulated ${SLOW_LINK.downMbps} Mbps / ${SLOW_LINK.rttMs} ms RTT link`, r.slow)}

Served by the service worker: ${swServed(r.warm)}/${r.warm.length} warm, ${swServed(r.warmStopped)}/${r.warmStopped.length} warm (worker stopped), ${swServed(r.offline)}/${r.offline.length} offline;
cold loads from the worker: ${swServed(r.cold)}/${r.cold.length}.${controlled ? ` The first visit's worker controls its page at ${ms(controlled.p50)} ms p50 (${ms(controlled.min)}–${ms(controlled.max)}) from the cold load's navigation start: a first install takes control before it has the shell.` : ''}${ready ? ` Offline-ready (the worker has cached the whole shell, which the page asks for ${SHELL_FILL_DELAY_MS} ms after it is controlled, off its start-up) at ${ms(ready.p50)} ms p50 (${ms(ready.min)}–${ms(ready.max)}).` : ''}
The slow-link row uses fresh off-the-record contexts of one browser with DevTools network
emulation (page requests only). The server sends the Brotli copies the build writes
(\`scripts/compress-dist.mjs\`) to browsers that accept them, so that row moves compressed bytes
(somewhat fewer than the gzip figures below).
${all.length === 0 ? '\n**No run completed.**\n' : ''}${r.failures.length ? `\nFailed runs (left out of the figures): ${r.failures.map((f) => `\`${f}\``).join('; ')}.\n` : ''}
**Precached shell**, from the list the build injected into \`sw.js\` (${precache.length} entries; gzip level 6):

| files | count | raw | gzip |
| --- | ---: | ---: | ---: |
${fileRow('JS', byKind('JS'))}
${fileRow('CSS', byKind('CSS'))}
${fileRow('other (HTML, icons, manifest)', byKind('other'))}
${fileRow('**total precache**', precache)}
${fileRow(`entry: ${entry.map((f) => `\`${f.path.replace(/^assets\//, '')}\``).join(', ')}`, entry)}
${fileRow('entry JS + CSS alone', entryJsCss)}
${fileRow("content worker (hashing WASM, tag reading, music-metadata's parsers), loaded after the first render", worker)}
${fileRow('WebRTC chunk (simple-peer, ICE doctor), loaded after the first render', rtc)}
${fileRow('other chunks outside the entry', otherLazy)}
${fileRow('`sw.js` itself (installed beside the precache)', [sw])}
${fileRow(`requested on a cold load before interactive: ${criticalSizes.map((f) => `\`${f.path.replace(/^assets\//, '')}\``).join(', ')}`, criticalSizes)}

**Budgets.** *Entry (index.html + entry JS + CSS) ≤ ${kib(PWA_BUDGET.entryGzip)} gzip*: a first visit
must fetch these before it can show anything; on a slow 3G-ish ${SLOW_LINK.downMbps} Mbps link ${kib(PWA_BUDGET.entryGzip)} is
${slowSeconds(PWA_BUDGET.entryGzip).toFixed(2)} s of transfer, about 1 s with the few ${SLOW_LINK.rttMs} ms round trips of a new connection,
leaving room for key generation and the first render within 2 s. *Whole precache ≤ ${kib(PWA_BUDGET.precacheGzip)} gzip*:
the worker downloads all of it on the first visit before the app works offline (${slowSeconds(PWA_BUDGET.precacheGzip).toFixed(1)} s at ${SLOW_LINK.downMbps} Mbps,
in the background), and again the files a deploy changes. The content worker (with
music-metadata's parsers, so imports work offline) and the WebRTC chunk are in it but not in the
entry: the app loads them in the task after its first render (\`src/main.ts\`), the worker for the
OPFS probe that chooses the content store, the WebRTC code before the node joins its room.

- entry: ${verdict(entryGzip, PWA_BUDGET.entryGzip)}; ${slowSeconds(entryGzip).toFixed(2)} s at ${SLOW_LINK.downMbps} Mbps compressed, ${slowSeconds(sum(entry, 'raw')).toFixed(2)} s uncompressed (${kib(sum(entry, 'raw'))}).
- precache: ${verdict(precacheGzip, PWA_BUDGET.precacheGzip)}; ${slowSeconds(precacheGzip).toFixed(1)} s at ${SLOW_LINK.downMbps} Mbps compressed, ${slowSeconds(sum(precache, 'raw')).toFixed(1)} s uncompressed (${kib(sum(precache, 'raw'))}).
${criticalSizes.length ? `- what a cold load actually fetched before interactive (scripts, styles, HTML), against the entry budget: ${verdict(sum(criticalSizes, 'gzip'), PWA_BUDGET.entryGzip)}; ${slowSeconds(sum(criticalSizes, 'gzip')).toFixed(2)} s at ${SLOW_LINK.downMbps} Mbps compressed, ${slowSeconds(sum(criticalSizes, 'raw')).toFixed(2)} s uncompressed.${criticalSizes.some((f) => f.path.includes('content.worker')) ? ' The content worker is on that path: the library opens only after a probe of OPFS sync access *in the worker* (`src/platform/open-store.ts`), so its script and the chunk it shares are fetched and evaluated before the node starts (on the slow link, the gap between DOMContentLoaded and identity ready).' : ''}` : ''}
`
}

/** Measure and return the markdown section. */
export async function benchPwa(opts: PwaOptions = {}): Promise<string> {
  return formatPwa(await measurePwa(opts))
}
