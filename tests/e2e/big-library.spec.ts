import type { Locator, Page } from '@playwright/test'
import { compareTracks, matches } from '../../src/ui/library-helpers.ts'
import { visibleNetwork } from '../../src/ui/network-helpers.ts'
import { seedScript } from '../seed/build-seed.ts'
import { expectedLibrary, expectedNetwork } from '../seed/expected.ts'
import type { SeedApi } from '../seed/page-seed.ts'
import { expect, test } from './fixtures.ts'

/**
 * A library of 10,000 tracks and a network view of 100,000 (the library's own and 90,000 from 90
 * simulated origins with real keys and signed records, fed to the node's gossip; see
 * tests/seed/page-seed.ts). The tables keep a bounded number of rows in the DOM whatever the list's
 * length, and show the right ones: a query's matches in order, the last row once scrolled to the
 * end. How fast is for the bench (big-library); here only what and how many.
 */

const LIBRARY = 10_000
const REMOTE = 90_000
/** Rows on screen (a 720 px viewport shows about ten) plus the overscan, far below any list here. */
const MAX_DOM_ROWS = 60

declare global {
  interface Window {
    __dcmxSeed?: SeedApi
  }
}

/** The body rows in the DOM (the header row and hidden spacers are not rows). */
const bodyRows = (table: Locator) => table.locator('tbody').getByRole('row')

async function scrollMain(page: Page, to: 'end' | 'middle' | 'top') {
  await page.evaluate((where) => {
    const main = document.querySelector('main')!
    const max = main.scrollHeight - main.clientHeight
    main.scrollTop = where === 'end' ? max : where === 'middle' ? max / 2 : 0
  }, to)
}

/** The titles of the first `n` body rows, in order. */
async function firstTitles(table: Locator, n: number): Promise<string[]> {
  const rows = bodyRows(table)
  const titles: string[] = []
  for (let i = 0; i < n; i++) titles.push((await rows.nth(i).locator('.name').textContent()) ?? '')
  return titles
}

test('10,000 library tracks and 100,000 network tracks: bounded rows, right results, scrolled to the end', async ({
  openNode,
}) => {
  test.setTimeout(600_000)
  const { page } = await openNode()
  await page.addInitScript({ content: await seedScript() })
  await page.reload()
  await page.evaluate((n) => window.__dcmxSeed!.seedLibrary(n), LIBRARY)
  await page.reload()

  const library = page.getByRole('table', { name: 'Library' })
  const count = (name: string) => page.getByRole('region', { name, exact: true }).locator('.count')
  await expect(count('Library')).toContainText(`${LIBRARY} tracks,`, { timeout: 60_000 })
  await expect(library).toHaveAttribute('aria-rowcount', String(LIBRARY + 1))
  const rows = bodyRows(library)
  await expect(rows.first()).toHaveAttribute('aria-rowindex', '2')
  expect(await rows.count()).toBeLessThanOrEqual(MAX_DOM_ROWS)
  const tracks = expectedLibrary(LIBRARY)
  expect(await firstTitles(library, 3)).toEqual(['Song 0', 'Song 1', 'Song 2'])

  // Scrolled to the end: the last track, at the last row index, and still few rows in the DOM.
  await scrollMain(page, 'end')
  await expect(library.getByRole('button', { name: 'Play Song 9999', exact: true })).toBeVisible()
  await expect(rows.last()).toHaveAttribute('aria-rowindex', String(LIBRARY + 1))
  expect(await rows.count()).toBeLessThanOrEqual(MAX_DOM_ROWS)
  await scrollMain(page, 'top')

  // Typing a query letter by letter: each keystroke's result is the matching tracks, in order.
  const search = page.getByRole('searchbox', { name: 'Search library' })
  for (const query of ['s', 'so', 'song 77', 'song 777']) {
    await search.fill(query)
    const want = tracks.filter((t) => matches(t, query))
    await expect(library).toHaveAttribute('aria-rowcount', String(want.length + 1))
    expect(await firstTitles(library, Math.min(3, want.length))).toEqual(want.slice(0, 3).map((t) => t.title))
    expect(await rows.count()).toBeLessThanOrEqual(MAX_DOM_ROWS)
  }
  await search.fill('')

  // Sorted by artist: the comparator's order, first rows and (scrolled down) the last.
  await library.getByRole('button', { name: 'Artist' }).click()
  const byArtist = [...tracks].sort(compareTracks('artist', 'asc'))
  await expect(rows.first().locator('.name')).toHaveText(byArtist[0]!.title)
  expect(await firstTitles(library, 4)).toEqual(byArtist.slice(0, 4).map((t) => t.title))
  await scrollMain(page, 'end')
  await expect(rows.last().locator('.name')).toHaveText(byArtist.at(-1)!.title)
  await scrollMain(page, 'top')

  // The network: the library's tracks and 90,000 announced by 90 origins.
  await page.evaluate((n) => window.__dcmxSeed!.seedNetwork(n), REMOTE)
  await page.getByRole('tab', { name: 'Network', exact: true }).click()
  const network = page.getByRole('table', { name: 'Network' })
  await expect(count('Network')).toHaveText(`${LIBRARY + REMOTE} tracks, ${LIBRARY} on this device`)
  await expect(network).toHaveAttribute('aria-rowcount', String(LIBRARY + REMOTE + 1))
  const netRows = bodyRows(network)
  expect(await netRows.count()).toBeLessThanOrEqual(MAX_DOM_ROWS)
  const all = expectedNetwork(tracks, REMOTE)
  const ordered = visibleNetwork(all, '')
  expect(await firstTitles(network, 3)).toEqual(ordered.slice(0, 3).map((t) => t.title))
  await scrollMain(page, 'middle')
  const middle = Number(await netRows.nth(0).getAttribute('aria-rowindex'))
  expect(middle).toBeGreaterThan(LIBRARY)
  await expect(netRows.nth(0).locator('.name')).toHaveText(ordered[middle - 2]!.title)
  await scrollMain(page, 'end')
  await expect(netRows.last()).toHaveAttribute('aria-rowindex', String(LIBRARY + REMOTE + 1))
  await expect(netRows.last().locator('.name')).toHaveText(ordered.at(-1)!.title)
  expect(await netRows.count()).toBeLessThanOrEqual(MAX_DOM_ROWS)
  await scrollMain(page, 'top')

  // Rows take their heights from their resize observers' entries, read after layout: a keystroke
  // that renders new rows forces no layout per row (a row's getBoundingClientRect would).
  await page.evaluate(() => {
    const own = Element.prototype.getBoundingClientRect
    const counted = window as unknown as { __rowRects: number }
    counted.__rowRects = 0
    Element.prototype.getBoundingClientRect = function (this: Element) {
      if (this.localName === 'tr') counted.__rowRects++
      return own.call(this)
    }
  })
  const netSearch = page.getByRole('searchbox', { name: 'Search network' })
  for (const query of ['b', 'band 4', 'band 42', 'band 42 record 1']) {
    await netSearch.fill(query)
    const want = visibleNetwork(all, query)
    await expect(network).toHaveAttribute('aria-rowcount', String(want.length + 1))
    expect(await firstTitles(network, Math.min(3, want.length))).toEqual(want.slice(0, 3).map((t) => t.title))
    expect(await netRows.count()).toBeLessThanOrEqual(MAX_DOM_ROWS)
  }
  expect(await page.evaluate(() => (window as unknown as { __rowRects: number }).__rowRects)).toBe(0)
  // Typed back: an earlier result again, the same rows as a search from scratch.
  await netSearch.fill('band 4')
  const back = visibleNetwork(all, 'band 4')
  await expect(network).toHaveAttribute('aria-rowcount', String(back.length + 1))
  expect(await firstTitles(network, 3)).toEqual(back.slice(0, 3).map((t) => t.title))

  // One gossip change while searching: an origin announces one more track, which matches.
  await netSearch.fill('tune 95000')
  await expect(page.getByText('No tracks match “tune 95000”.')).toBeVisible()
  await page.evaluate(() => window.__dcmxSeed!.announceOne(0, 95_000))
  await expect(network.getByRole('button', { name: 'Play Tune 95000', exact: true })).toBeVisible()
  await expect(network).toHaveAttribute('aria-rowcount', '2')
  await expect(count('Network')).toHaveText(`${LIBRARY + REMOTE + 1} tracks, ${LIBRARY} on this device`)
})
