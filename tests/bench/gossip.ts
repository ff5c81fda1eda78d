import type { Browser, BrowserContext, Page } from '@playwright/test'
import { makeWav, sha256, type FilePayload } from '../e2e/audio-fixtures.ts'
import { percentile, pollPage } from './browser.ts'

/**
 * Gossip in real browsers: N Chromium contexts (each its own storage, so its own node) in one
 * room, linked over WebRTC through the real signaling server. Measures how long a new track takes
 * to reach every node, what a node sends per gossip round, and how long a fresh node takes to learn
 * a network library. Page scripts are strings, not functions: tsx's transform would add helpers
 * the page does not have.
 */

type Node = { context: BrowserContext; page: Page }

/** Message types that are gossip proper; everything else a link sends is handshake or upkeep. */
const GOSSIP_TYPES = new Set(['discover', 'peers-req', 'peers-res', 'tracks-req', 'tracks-res'])

export type SpreadRow = {
  nodes: number
  /** Mean and range of connected links per node once the mesh was warm. */
  links: { mean: number; min: number; max: number }
  /** Time for the mesh to be warm after the last batch of nodes was opened (ms). */
  warmMs: number
  /** Per repetition: file chosen → every node lists the track (ms). */
  importToAllMs: number[]
  /** Per repetition: importing node lists the track → every other node lists it (ms). */
  spreadMs: number[]
  /** Per node over the quiet window: bytes sent per gossip round, gossip messages only / everything. */
  gossipBytesPerRound: { mean: number; max: number }
  totalBytesPerRound: { mean: number; max: number }
  quietRounds: { mean: number; min: number; max: number }
}

export type FullSyncResult = {
  holders: number
  tracksEach: number
  /** Per fresh node, from navigation start (ms). */
  firstPeerMs: number[]
  allListedMs: number[]
  allDescribedMs: number[]
}

export type GossipBenchResult = {
  gossipMs: number
  linkBudget: number
  repetitions: number
  quietMs: number
  spread: SpreadRow[]
  fullSync: FullSyncResult
  fullSyncDefault: FullSyncResult
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const run = <T>(page: Page, expr: string) => page.evaluate(expr) as Promise<T>

/** Poll a page expression (string: see pollPage) until it holds. */
const waitFor = (page: Page, expr: string, timeout = 60_000, every = 50) =>
  pollPage<true>(page, expr, timeout, every)

async function openNodes(browser: Browser, url: string, n: number): Promise<Node[]> {
  // Opened together, as a batch of visitors would: page load and key generation overlap.
  return Promise.all(
    Array.from({ length: n }, async () => {
      const context = await browser.newContext()
      const page = await context.newPage()
      await page.goto(url)
      await waitFor(page, 'window.dcmx !== undefined', 30_000)
      return { context, page }
    }),
  )
}

/** Links up everywhere, every node in every directory, every track listed with its metadata. */
const WARM = (nodes: number, tracks: number) => `(() => {
  const d = window.dcmx
  const linked = d.peers.filter((p) => p.state === 'connected').length
  const described = d.network.filter((t) => t.holders >= 1 && t.described).length
  return linked >= 1 && d.stats.knownPeers >= ${nodes - 1} && described >= ${tracks}
})()`

async function waitWarm(nodes: Node[], tracks: number, timeout = 60_000) {
  await Promise.all(nodes.map((n) => waitFor(n.page, WARM(nodes.length, tracks), timeout, 100)))
}

/** Record (Date.now) the first moment this page lists `hash` with a holder. */
const WATCH = (hash: string) => `(() => {
  window.__benchSeen = undefined
  clearInterval(window.__benchWatch)
  const check = () => {
    if (window.dcmx.network.some((t) => t.contentHash === ${JSON.stringify(hash)} && t.holders >= 1)) {
      window.__benchSeen = Date.now()
      clearInterval(window.__benchWatch)
    }
  }
  window.__benchWatch = setInterval(check, 5)
  check()
})()`

type Snapshot = { sent: Record<string, { bytes: number }>; rounds: number }
const SNAPSHOT = '(() => { const s = window.dcmx.stats; return { sent: s.sent, rounds: s.gossipRounds } })()'

function bytesBetween(a: Snapshot, b: Snapshot, only?: Set<string>) {
  let total = 0
  for (const [type, row] of Object.entries(b.sent)) {
    if (only && !only.has(type)) continue
    total += row.bytes - (a.sent[type]?.bytes ?? 0)
  }
  return total
}

const stats = (xs: number[]) => ({
  mean: xs.reduce((a, b) => a + b, 0) / xs.length,
  min: Math.min(...xs),
  max: Math.max(...xs),
})

let wavSerial = 0
function wav(label: string, seconds = 0.25): FilePayload {
  const n = wavSerial++
  return makeWav({
    name: `${label}-${n}.wav`,
    seconds,
    hz: 200 + ((n * 37 + Date.now()) % 2000),
    title: `${label} ${n}`,
    artist: 'DCMX Bench',
  })
}

async function importFiles(page: Page, files: FilePayload[]) {
  await page.getByLabel('Add music files').setInputFiles(files)
}

/**
 * Grow one room to each size in `sizes`, and at each size: wait until warm, meter a quiet window,
 * then import a new track on one node `reps` times and time its spread to every node.
 */
async function measureSpread(
  browser: Browser,
  url: string,
  sizes: number[],
  reps: number,
  quietMs: number,
  gossipMs: number,
  log: (s: string) => void,
): Promise<SpreadRow[]> {
  const nodes: Node[] = []
  const rows: SpreadRow[] = []
  let tracks = 0
  try {
    for (const size of sizes) {
      const t0 = Date.now()
      nodes.push(...(await openNodes(browser, url, size - nodes.length)))
      await waitWarm(nodes, tracks)
      const warmMs = Date.now() - t0
      const links = stats(
        await Promise.all(
          nodes.map((n) =>
            run<number>(n.page, `window.dcmx.peers.filter((p) => p.state === 'connected').length`),
          ),
        ),
      )
      // Let the joins' hot records cool (they are pushed for a few rounds), then meter a window.
      await sleep(4 * gossipMs)
      const before = await Promise.all(nodes.map((n) => run<Snapshot>(n.page, SNAPSHOT)))
      await sleep(quietMs)
      const after = await Promise.all(nodes.map((n) => run<Snapshot>(n.page, SNAPSHOT)))
      const rounds = after.map((a, i) => a.rounds - before[i]!.rounds)
      const perRound = (only?: Set<string>) =>
        stats(after.map((a, i) => bytesBetween(before[i]!, a, only) / Math.max(1, rounds[i]!)))

      const importToAllMs: number[] = []
      const spreadMs: number[] = []
      for (let rep = 0; rep < reps; rep++) {
        const origin = nodes[(rep * 5) % nodes.length]!
        const file = wav(`spread-${size}`)
        const hash = sha256(file.buffer)
        await Promise.all(nodes.map((n) => run(n.page, WATCH(hash))))
        const start = Date.now()
        await importFiles(origin.page, [file])
        const seen = await Promise.all(
          nodes.map(async (n) => {
            await waitFor(n.page, 'window.__benchSeen !== undefined')
            return run<number>(n.page, 'window.__benchSeen')
          }),
        )
        tracks++
        const atOrigin = seen[nodes.indexOf(origin)]!
        const last = Math.max(...seen)
        importToAllMs.push(last - start)
        spreadMs.push(last - atOrigin)
        // Metadata follows the announcement; wait for it so the next repetition starts warm.
        await waitWarm(nodes, tracks)
        await sleep(gossipMs)
      }
      const row: SpreadRow = {
        nodes: nodes.length,
        links,
        warmMs,
        importToAllMs,
        spreadMs,
        gossipBytesPerRound: perRound(GOSSIP_TYPES),
        totalBytesPerRound: perRound(),
        quietRounds: stats(rounds),
      }
      log(JSON.stringify(row))
      rows.push(row)
    }
  } finally {
    await Promise.all(nodes.map((n) => n.context.close().catch(() => {})))
  }
  return rows
}

/** In a fresh page: performance.now() when the node first lists `count` tracks, and when all are described. */
const FRESH_WATCH = (count: number) => `(() => {
  const timer = setInterval(() => {
    const d = window.dcmx
    if (!d) return
    const listed = d.network.filter((t) => t.holders >= 1)
    if (window.__benchListed === undefined && listed.length >= ${count}) window.__benchListed = performance.now()
    if (listed.filter((t) => t.described).length >= ${count}) {
      window.__benchDescribed = performance.now()
      clearInterval(timer)
    }
  }, 5)
})()`

/**
 * The seed's "full sync of 100 tracks": `holders` nodes each hold `tracksEach` tracks (imported
 * through the app); a fresh node opens the app in that room, and is timed from navigation start
 * to listing every track, and to having every track's metadata.
 */
async function measureFullSync(
  browser: Browser,
  holderUrl: string,
  freshUrls: string[],
  holders: number,
  tracksEach: number,
  fresh: number,
  log: (s: string) => void,
): Promise<FullSyncResult[]> {
  const nodes = await openNodes(browser, holderUrl, holders)
  const total = holders * tracksEach
  try {
    await waitWarm(nodes, 0)
    await Promise.all(
      nodes.map((n, i) =>
        importFiles(
          n.page,
          Array.from({ length: tracksEach }, () => wav(`sync-${i}`)),
        ),
      ),
    )
    await waitWarm(nodes, total, 120_000)
    const results: FullSyncResult[] = []
    for (const url of freshUrls) {
      const result: FullSyncResult = {
        holders,
        tracksEach,
        firstPeerMs: [],
        allListedMs: [],
        allDescribedMs: [],
      }
      for (let i = 0; i < fresh; i++) {
        const context = await browser.newContext()
        const page = await context.newPage()
        await page.addInitScript({ content: FRESH_WATCH(total) })
        await page.goto(url)
        await waitFor(page, 'window.__benchDescribed !== undefined')
        const [peer, listed, described] = await run<number[]>(
          page,
          `[performance.getEntriesByName('dcmx:first-peer-verified')[0]?.startTime ?? NaN, window.__benchListed, window.__benchDescribed]`,
        )
        result.firstPeerMs.push(peer!)
        result.allListedMs.push(listed!)
        result.allDescribedMs.push(described!)
        await context.close()
        // The others notice the closed links before the next fresh node arrives.
        await sleep(1_000)
      }
      log(JSON.stringify(result))
      results.push(result)
    }
    return results
  } finally {
    await Promise.all(nodes.map((n) => n.context.close().catch(() => {})))
  }
}

export async function measureGossip(
  browser: Browser,
  baseUrl: string,
  opts = { sizes: [4, 8, 12], reps: 3, gossipMs: 1_000, linkBudget: 3, quietMs: 8_000 },
  log: (s: string) => void = () => {},
): Promise<GossipBenchResult> {
  const stamp = Date.now()
  const params = `links=${opts.linkBudget}&gossip=${opts.gossipMs}`
  const spread = await measureSpread(
    browser,
    `${baseUrl}/?room=bench-gossip-${stamp}&${params}`,
    opts.sizes,
    opts.reps,
    opts.quietMs,
    opts.gossipMs,
    log,
  )
  const room = `bench-sync-${stamp}`
  const [fullSync, fullSyncDefault] = await measureFullSync(
    browser,
    `${baseUrl}/?room=${room}&${params}`,
    [`${baseUrl}/?room=${room}&${params}`, `${baseUrl}/?room=${room}`],
    4,
    25,
    opts.reps,
    log,
  )
  return {
    gossipMs: opts.gossipMs,
    linkBudget: opts.linkBudget,
    repetitions: opts.reps,
    quietMs: opts.quietMs,
    spread,
    fullSync: fullSync!,
    fullSyncDefault: fullSyncDefault!,
  }
}

export const median = (xs: number[]) => percentile(xs, 50)
