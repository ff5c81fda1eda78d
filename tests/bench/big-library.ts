/**
 * `npm run bench:big-library`: the library with 10,000 tracks and the network view with 100,000
 * (seeded as in the e2e test: tests/seed/page-seed.ts), in the built app. Measures, never asserts:
 * - render: navigation → the library's first row (beside reading the catalog alone), and the
 *   network view rebuilt from the whole list (beside the plain filter and sort of the same list);
 * - a keystroke in each search box: input event → DOM updated and laid out (beside the plain
 *   filter, and the filter and sort the views did before, over the same tracks in the same page),
 *   and the main thread's CPU for it through the next frame (CDP's ThreadTime);
 * - one gossip change: the node's change event → the table updated (beside the full rebuild it
 *   replaced; wall and CPU), and end to end (an origin's delta received → its row on screen, through signature
 *   check, metadata request and the network change, told at once after a quiet spell and at most once per 50 ms);
 * - the page's JS heap after a full GC, beside the same app with nothing seeded.
 */
import type { CDPSession, Page } from '@playwright/test'
import { cpus, loadavg, totalmem } from 'node:os'
import { resolve } from 'node:path'
import { startSignaling } from '../../signaling/server.ts'
import type { NetworkChange } from '../../src/core/mesh-types.ts'
import { seedScript } from '../seed/build-seed.ts'
import type { SeedApi } from '../seed/page-seed.ts'
import { launchChromium, percentile } from './browser.ts'
import { writeBenchSection } from './doc-section.ts'

const LIBRARY = 10_000
const REMOTE = 90_000
const RUNS = 15

declare global {
  interface Window {
    __dcmxSeed?: SeedApi
  }
}

type Stat = { p50: number; p95: number; n: number }
const stat = (xs: number[]): Stat => ({ p50: percentile(xs, 50), p95: percentile(xs, 95), n: xs.length })
const ms = (x: number) => (x < 10 ? x.toFixed(1) : Math.round(x).toString())
const cell = (s: Stat) => `${ms(s.p50)} / ${ms(s.p95)}`

async function heapMiB(cdp: CDPSession): Promise<number> {
  await cdp.send('HeapProfiler.collectGarbage')
  await cdp.send('HeapProfiler.collectGarbage')
  const { usedSize } = await cdp.send('Runtime.getHeapUsage')
  return usedSize / 2 ** 20
}

/** The page's main-thread CPU time so far, in ms (CDP's ThreadTime). */
async function threadMs(cdp: CDPSession): Promise<number> {
  const { metrics } = await cdp.send('Performance.getMetrics')
  return (metrics.find((m) => m.name === 'ThreadTime')?.value ?? NaN) * 1000
}

/**
 * `step`'s result and the main thread's CPU for it through the next frame (style, layout, the
 * rows' resize observers), less `overhead` (what measuring an empty step costs): what the step
 * costs the page whatever else shares the machine, where wall times grow with the load.
 */
async function withCpu<T>(
  page: Page,
  cdp: CDPSession,
  step: () => Promise<T>,
  overhead = 0,
): Promise<[T, number]> {
  const t = await threadMs(cdp)
  const out = await step()
  await page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => setTimeout(r, 0))))
  return [out, Math.max(0, (await threadMs(cdp)) - t - overhead)]
}

/**
 * Type `query` into the search box named `label` one key at a time; per key, input → DOM laid out
 * (ms, wall), and the main thread's CPU through the next frame.
 */
async function typeQuery(
  page: Page,
  cdp: CDPSession,
  overhead: number,
  label: string,
  query: string,
): Promise<{ wall: number[]; cpu: number[] }> {
  const key = (value: string) =>
    page.evaluate(
      async ({ label, value }) => {
        const input = document.querySelector<HTMLInputElement>(`input[aria-label="${label}"]`)!
        const t = performance.now()
        input.value = value
        input.dispatchEvent(new Event('input', { bubbles: true }))
        // Svelte flushes in a microtask; the timer runs after it, the layout read forces layout.
        await new Promise((r) => setTimeout(r, 0))
        void document.querySelector('main')!.scrollHeight
        return performance.now() - t
      },
      { label, value },
    )
  const wall: number[] = []
  const cpu: number[] = []
  for (let i = 1; i <= query.length; i++) {
    const [ms, busy] = await withCpu(page, cdp, () => key(query.slice(0, i)), overhead)
    wall.push(ms)
    cpu.push(busy)
  }
  await key('')
  await page.waitForTimeout(50)
  return { wall, cpu }
}

/** The plain filter (and filter + sort) per prefix of `query`, over the same tracks, in the page. */
function plainQuery(page: Page, which: 'network' | 'library', query: string) {
  return page.evaluate(
    async ({ which, query }) => {
      const plain = window.__dcmxSeed!.plain
      const tracks = which === 'library' ? await plain.catalog() : []
      const filter: number[] = []
      const sort: number[] = []
      for (let i = 1; i <= query.length; i++) {
        const q = query.slice(0, i)
        let t = performance.now()
        if (which === 'network') plain.filterNetwork(q)
        else plain.filterLibrary(tracks, q)
        filter.push(performance.now() - t)
        t = performance.now()
        if (which === 'network') plain.sortNetwork(q)
        else plain.sortLibrary(tracks, q)
        sort.push(performance.now() - t)
      }
      return { filter, sort }
    },
    { which, query },
  )
}

/**
 * The node reports `change`: the view's update until the DOM is laid out (wall, and main-thread
 * CPU through the next frame), beside the plain filter and sort of the whole list (what the view
 * did on every change before the index).
 */
async function timeChange(
  page: Page,
  cdp: CDPSession,
  overhead: number,
  change: NetworkChange,
): Promise<[number, number, number]> {
  const [view, cpu] = await withCpu(
    page,
    cdp,
    () =>
      page.evaluate(async (change) => {
        const t = performance.now()
        window.dcmx!.events.emit('network', change)
        await new Promise((r) => setTimeout(r, 0))
        void document.querySelector('main')!.scrollHeight
        return performance.now() - t
      }, change),
    overhead,
  )
  const plain = await page.evaluate(() => {
    const t = performance.now()
    window.__dcmxSeed!.plain.sortNetwork('')
    return performance.now() - t
  })
  return [view, plain, cpu]
}

const QUERIES = {
  library: ['song 77', 'artist 4', 'album 3 song'],
  network: ['band 42', 'tune 9', 'record 1 band'],
}

async function main() {
  const log = (line: string) => console.log(`[big-library] ${line}`)
  const server = await startSignaling({
    port: 0,
    host: '127.0.0.1',
    staticDir: resolve(import.meta.dirname, '..', '..', 'dist'),
    log: () => {},
  })
  const browser = await launchChromium()
  try {
    const context = await browser.newContext()
    const page = await context.newPage()
    const cdp = await context.newCDPSession(page)
    await page.goto(`${server.url}/?room=big-library`)
    await page.addInitScript({ content: await seedScript() })
    await page.reload()
    await page.getByLabel('Your peer id').waitFor({ state: 'attached' })
    const emptyHeap = await heapMiB(cdp)
    await cdp.send('Performance.enable')
    // What measuring costs the main thread (a round trip and a frame): taken off each CPU figure.
    const empty: number[] = []
    for (let i = 0; i < 10; i++) empty.push((await withCpu(page, cdp, () => page.evaluate(() => 0)))[1])
    const overhead = Math.min(...empty)
    log('seeding the library')
    await page.evaluate((n) => window.__dcmxSeed!.seedLibrary(n), LIBRARY)

    // Render: navigation → first library row, over reloads.
    const firstRow: number[] = []
    const catalog: number[] = []
    for (let i = 0; i < 5; i++) {
      await page.reload()
      await page.locator('table[aria-labelledby="library-heading"] tbody tr[data-index]').first().waitFor()
      firstRow.push(
        await page.evaluate(() => {
          const row = performance.getEntriesByName('dcmx-first-row')[0]
          return row ? row.startTime : performance.now()
        }),
      )
      catalog.push(
        await page.evaluate(async () => {
          const t = performance.now()
          await window.__dcmxSeed!.plain.catalog()
          return performance.now() - t
        }),
      )
    }

    const keys = { library: [] as number[], network: [] as number[] }
    const cpu = { library: [] as number[], network: [] as number[], apply: [] as number[] }
    const plainKeys = {
      library: { filter: [] as number[], sort: [] as number[] },
      network: { filter: [] as number[], sort: [] as number[] },
    }
    for (const q of QUERIES.library) {
      const typed = await typeQuery(page, cdp, overhead, 'Search library', q)
      keys.library.push(...typed.wall)
      cpu.library.push(...typed.cpu)
      const p = await plainQuery(page, 'library', q)
      plainKeys.library.filter.push(...p.filter)
      plainKeys.library.sort.push(...p.sort)
    }
    const libraryHeap = await heapMiB(cdp)

    log('seeding the network')
    const seedStart = Date.now()
    await page.evaluate((n) => window.__dcmxSeed!.seedNetwork(n), REMOTE)
    const seedS = (Date.now() - seedStart) / 1000
    await page.getByRole('tab', { name: 'Network', exact: true }).click()
    await page.getByText(`${LIBRARY + REMOTE} tracks,`).waitFor({ timeout: 120_000 })

    // The network view rebuilt from the whole list, as on a node's 'all' change.
    const rebuild: number[] = []
    const plainRebuild: number[] = []
    for (let i = 0; i < 5; i++) {
      const [view, plain] = await timeChange(page, cdp, overhead, 'all')
      rebuild.push(view)
      plainRebuild.push(plain)
    }
    for (const q of QUERIES.network) {
      const typed = await typeQuery(page, cdp, overhead, 'Search network', q)
      keys.network.push(...typed.wall)
      cpu.network.push(...typed.cpu)
      const p = await plainQuery(page, 'network', q)
      plainKeys.network.filter.push(...p.filter)
      plainKeys.network.sort.push(...p.sort)
    }

    // One gossip change: an origin's delta end to end (searching for the track it adds), then the
    // view's part alone, with the whole list shown.
    const search = page.getByRole('searchbox', { name: 'Search network' })
    const endToEnd: number[] = []
    const apply: number[] = []
    const full: number[] = []
    for (let i = 0; i < RUNS; i++) {
      const n = 200_000 + i
      await search.fill(`tune ${n}`)
      const t = Date.now()
      await page.evaluate(([o, n]) => window.__dcmxSeed!.announceOne(o!, n!), [i % 90, n])
      await page.getByRole('button', { name: `Play Tune ${n}`, exact: true }).waitFor()
      endToEnd.push(Date.now() - t)
      await search.fill('')
      const hash = await page.evaluate(() => window.dcmx!.network.at(-1)!.contentHash)
      const [view, plain, busy] = await timeChange(page, cdp, overhead, { hashes: [hash] })
      apply.push(view)
      cpu.apply.push(busy)
      full.push(plain)
    }
    const fullHeap = await heapMiB(cdp)
    const domRows = await page.locator('tbody tr[data-index]').count()

    const r = {
      firstRow: stat(firstRow),
      catalog: stat(catalog),
      rebuild: stat(rebuild),
      plainRebuild: stat(plainRebuild),
      libKey: stat(keys.library),
      libKeyCpu: stat(cpu.library),
      libFilter: stat(plainKeys.library.filter),
      libSort: stat(plainKeys.library.sort),
      netKey: stat(keys.network),
      netKeyCpu: stat(cpu.network),
      netFilter: stat(plainKeys.network.filter),
      netSort: stat(plainKeys.network.sort),
      apply: stat(apply),
      applyCpu: stat(cpu.apply),
      full: stat(full),
      endToEnd: stat(endToEnd),
    }
    log(JSON.stringify(r))
    const md = `## Big libraries: 10,000 local tracks, 100,000 in the network view

\`npm run bench:big-library\` (tests/bench/big-library.ts) on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'},
${Math.round(totalmem() / 2 ** 30)} GiB, headless Chromium; 1-minute load average ${loadavg()[0]!.toFixed(1)} when the section was written${loadavg()[0]! > 2 ? ' (other work shared the machine)' : ''},
so read each figure beside its reference, measured in the same page and run.
The page holds ${LIBRARY.toLocaleString('en')} library tracks and ${(LIBRARY + REMOTE).toLocaleString('en')} network tracks
(${REMOTE.toLocaleString('en')} from ${REMOTE / 1000} simulated origins with real keys and signed records, fed to the node's gossip;
seeding them took ${Math.round(seedS)} s). Times in ms, p50 / p95; a frame is 16.7 ms.

| what | the app | its main-thread CPU | reference (same page, same data) |
|---|---|---|---|
| library: navigation → first row (n=${r.firstRow.n}) | ${cell(r.firstRow)} | — | catalog read alone: ${cell(r.catalog)} |
| library: keystroke → DOM laid out (n=${r.libKey.n}) | ${cell(r.libKey)} | ${cell(r.libKeyCpu)} | plain filter: ${cell(r.libFilter)}; filter + sort (before): ${cell(r.libSort)} |
| network: whole list rebuilt → DOM laid out (n=${r.rebuild.n}) | ${cell(r.rebuild)} | — | plain filter + sort of the list: ${cell(r.plainRebuild)} |
| network: keystroke → DOM laid out (n=${r.netKey.n}) | ${cell(r.netKey)} | ${cell(r.netKeyCpu)} | plain filter: ${cell(r.netFilter)}; filter + sort (before): ${cell(r.netSort)} |
| network: one gossip change → DOM laid out (n=${r.apply.n}) | ${cell(r.apply)} | ${cell(r.applyCpu)} | full filter + sort it replaced: ${cell(r.full)} |
| network: one origin's delta received → row on screen (n=${r.endToEnd.n}) | ${cell(r.endToEnd)} | — | includes the signature and metadata checks and the network change (at most one per 50 ms; a lone change is told at once) |

JS heap after a full GC: ${emptyHeap.toFixed(1)} MiB with nothing seeded, ${libraryHeap.toFixed(1)} MiB with the 10,000-track
library, ${fullHeap.toFixed(1)} MiB with the 100,000-track network too. Body rows in the DOM at the end, both tables together: ${domRows}
(only the visible ones and an overscan of 4 each side).

The keystroke figures are per key of the queries ${[...QUERIES.library, ...QUERIES.network].map((q) => `“${q}”`).join(', ')}, typed one
character at a time: a query extending the previous one checks only its new part against the previous result (one typed
back would reuse an earlier result). A gossip change is spliced into the sorted list and the current result by binary search,
with no pass over the other rows. The CPU column is the page's main-thread CPU time for the step through the next frame
(style, layout, the rows' resize observers), less an empty step's (${overhead.toFixed(2)} ms). It counts the page's own work, not the time its
thread waited for a core, so it moves less with the machine's load than the wall time does.
`
    writeBenchSection('big-library', md)
    log('wrote docs/benchmarks.md (big-library)')
  } finally {
    await browser.close()
    await server.close()
  }
}

await main()
