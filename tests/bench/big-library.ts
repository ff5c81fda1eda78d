/**
 * `npm run bench:big-library`: the library with 10,000 tracks and the network view with 100,000
 * (seeded as in the e2e test: tests/seed/page-seed.ts), in the built app. Measures, never asserts:
 * - render: navigation → the library's first row (beside reading the catalog alone), and the
 *   network view rebuilt from the whole list (beside the plain filter and sort of the same list);
 * - a keystroke in each search box: input event → DOM updated and laid out (beside the plain
 *   filter, and the filter and sort the views did before, over the same tracks in the same page);
 * - one gossip change: the node's change event → the table updated (beside the full rebuild it
 *   replaced), and end to end (an origin's delta received → its row on screen, through signature
 *   check, metadata request and the 50 ms coalescing);
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

/** Type `query` into the search box named `label` one key at a time; per key, input → DOM laid out (ms). */
function typeQuery(page: Page, label: string, query: string): Promise<number[]> {
  return page.evaluate(
    async ({ label, query }) => {
      const input = document.querySelector<HTMLInputElement>(`input[aria-label="${label}"]`)!
      const out: number[] = []
      for (let i = 1; i <= query.length; i++) {
        const t = performance.now()
        input.value = query.slice(0, i)
        input.dispatchEvent(new Event('input', { bubbles: true }))
        // Svelte flushes in a microtask; the timer runs after it, the layout read forces layout.
        await new Promise((r) => setTimeout(r, 0))
        void document.querySelector('main')!.scrollHeight
        out.push(performance.now() - t)
      }
      input.value = ''
      input.dispatchEvent(new Event('input', { bubbles: true }))
      await new Promise((r) => setTimeout(r, 50))
      return out
    },
    { label, query },
  )
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
 * The node reports `change`: the view's update until the DOM is laid out, beside the plain filter
 * and sort of the whole list (what the view did on every change before the index).
 */
function timeChange(page: Page, change: NetworkChange): Promise<[number, number]> {
  return page.evaluate(async (change) => {
    let t = performance.now()
    window.dcmx!.events.emit('network', change)
    await new Promise((r) => setTimeout(r, 0))
    void document.querySelector('main')!.scrollHeight
    const view = performance.now() - t
    t = performance.now()
    window.__dcmxSeed!.plain.sortNetwork('')
    return [view, performance.now() - t] as [number, number]
  }, change)
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
    const plainKeys = {
      library: { filter: [] as number[], sort: [] as number[] },
      network: { filter: [] as number[], sort: [] as number[] },
    }
    for (const q of QUERIES.library) {
      keys.library.push(...(await typeQuery(page, 'Search library', q)))
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
      const [view, plain] = await timeChange(page, 'all')
      rebuild.push(view)
      plainRebuild.push(plain)
    }
    for (const q of QUERIES.network) {
      keys.network.push(...(await typeQuery(page, 'Search network', q)))
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
      const [view, plain] = await timeChange(page, { hashes: [hash] })
      apply.push(view)
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
      libFilter: stat(plainKeys.library.filter),
      libSort: stat(plainKeys.library.sort),
      netKey: stat(keys.network),
      netFilter: stat(plainKeys.network.filter),
      netSort: stat(plainKeys.network.sort),
      apply: stat(apply),
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

| what | the app | reference (same page, same data) |
|---|---|---|
| library: navigation → first row (n=${r.firstRow.n}) | ${cell(r.firstRow)} | catalog read alone: ${cell(r.catalog)} |
| library: keystroke → DOM laid out (n=${r.libKey.n}) | ${cell(r.libKey)} | plain filter: ${cell(r.libFilter)}; filter + sort (before): ${cell(r.libSort)} |
| network: whole list rebuilt → DOM laid out (n=${r.rebuild.n}) | ${cell(r.rebuild)} | plain filter + sort of the list: ${cell(r.plainRebuild)} |
| network: keystroke → DOM laid out (n=${r.netKey.n}) | ${cell(r.netKey)} | plain filter: ${cell(r.netFilter)}; filter + sort (before): ${cell(r.netSort)} |
| network: one gossip change → DOM laid out (n=${r.apply.n}) | ${cell(r.apply)} | full filter + sort it replaced: ${cell(r.full)} |
| network: one origin's delta received → row on screen (n=${r.endToEnd.n}) | ${cell(r.endToEnd)} | includes the 50 ms coalescing, signature and metadata checks |

JS heap after a full GC: ${emptyHeap.toFixed(1)} MiB with nothing seeded, ${libraryHeap.toFixed(1)} MiB with the 10,000-track
library, ${fullHeap.toFixed(1)} MiB with the 100,000-track network too. Body rows in the DOM at the end, both tables together: ${domRows}
(only the visible ones and an overscan of 8 each side).

The keystroke figures are per key of the queries ${[...QUERIES.library, ...QUERIES.network].map((q) => `“${q}”`).join(', ')}, typed one
character at a time: a query extending the previous one filters only the previous result.
`
    writeBenchSection('big-library', md)
    log('wrote docs/benchmarks.md (big-library)')
  } finally {
    await browser.close()
    await server.close()
  }
}

await main()
