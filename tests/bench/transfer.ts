/**
 * Transfer benchmark (issue 5): a bare RTCDataChannel pump (the ceiling) vs a DCMX fetch of a
 * large track from one holder and from three, time to first audio for a remote track (link up and
 * link cold), and CPU time per MiB transferred. Measures, never asserts.
 *
 * Every node is a page of one Chromium running the built app: by default pages of a profile on
 * disk, each on an origin of its own (storage is per origin), or off-the-record contexts as in the
 * e2e tests (`profile`). The pump runs in the very pages the fetch then uses (same renderer
 * processes, same Chromium flags), on an RTCPeerConnection of its own signalled through
 * Playwright, with no ICE servers.
 */
import type { Browser, BrowserContext, CDPSession, Page } from '@playwright/test'
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ContentStats } from '../../src/core/content-stats.ts'
import { makeWav } from '../e2e/audio-fixtures.ts'
import { launchPersistent, percentile, pollPage } from './browser.ts'
import { contentStats, statsDelta, throttle } from './transfer-limits.ts'

const MiB = 1024 * 1024

export type TransferBenchOptions = {
  /** Size of each large track and of each pump run. */
  mib: number
  /**
   * Large tracks: each is fetched once from one holder (A → B), right after one run of each pump
   * variant (so the fetch and its ceiling see the same machine), and once from three (A, B, D → C).
   */
  tracks: number
  /** Pump message size: the app's link sends 60 KiB frames. */
  pumpChunk: number
  /**
   * Pump backpressure, [high, low] bytes: wait while more than `high` is queued, until the
   * bufferedamountlow event at `low`. Each pair is a pump variant; the best one is the ceiling.
   * The app's link (src/platform/rtc-link.ts) uses 1 MiB / 256 KiB; Chromium refuses sends
   * beyond a 16 MiB queue.
   */
  pumpWatermarks: [number, number][]
  /** Measured time-to-first-audio trials each (after one warm-up trial each). */
  ttfaTrials: number
  /** Seconds of 44.1 kHz 16-bit mono WAV per time-to-first-audio track (36 s ≈ 3.2 MB, a short MP3's size). */
  ttfaSeconds: number
  /** Rate-limited holders: size of each track, and fetches each from one holder and from three. */
  limitedMib: number
  limitedRuns: number
  /**
   * Each rate-limited holder sends at most the ceiling pump's rate divided by this, one round per
   * entry. The first (3) is the issue's target; a lower rate shows how the scheduler adds holders
   * up when the machine's CPU is not what limits the three together.
   */
  limitedShares: number[]
  /**
   * Where the four nodes keep their storage. 'disk': pages of one Chromium with a profile on disk,
   * each node on an origin of its own (127.0.0.1–4; storage is per origin), as a user's browser
   * keeps OPFS on disk. 'memory': one off-the-record context each, where Chromium keeps OPFS in the
   * browser process's memory and every sync-handle read and write is an IPC round trip to it.
   */
  profile: 'disk' | 'memory'
  log: (line: string) => void
}

export const DEFAULT_TRANSFER_OPTIONS: TransferBenchOptions = {
  mib: 64,
  tracks: 5,
  pumpChunk: 60 * 1024,
  pumpWatermarks: [
    [1024 * 1024, 256 * 1024],
    [8 * 1024 * 1024, 2 * 1024 * 1024],
  ],
  ttfaTrials: 10,
  ttfaSeconds: 36,
  limitedMib: 32,
  limitedRuns: 3,
  limitedShares: [3, 6],
  profile: 'disk',
  log: (line) => console.log(line),
}

type Summary = { p50: number; p90: number; min: number; max: number; n: number }
const summary = (xs: number[]): Summary => ({
  p50: percentile(xs, 50),
  p90: percentile(xs, 90),
  min: Math.min(...xs),
  max: Math.max(...xs),
  n: xs.length,
})

type Cpu = {
  /** Renderer process CPU (all threads: main, workers, WebRTC), ms. */
  senderMs: number
  receiverMs: number
  /** Every non-renderer process of this browser (browser, network service, storage, GPU), ms. */
  otherMs: number
  /** Main-thread task and script time from CDP Performance.getMetrics, ms. */
  senderTaskMs: number
  senderScriptMs: number
  receiverTaskMs: number
  receiverScriptMs: number
  /** The same CPU split by thread (THREAD_GROUPS), ms. */
  threads: Record<ThreadGroup, number>
}

/** The threads the CPU-by-thread table tells apart, as [group, label]. */
const THREAD_GROUPS = [
  ['network', 'network service, socket I/O thread (the UDP of both ends)'],
  ['sender-webrtc', 'sender, WebRTC thread (SCTP, DTLS)'],
  ['receiver-webrtc', 'receiver, WebRTC thread (SCTP, DTLS)'],
  ['sender-ipc', 'sender, IPC I/O thread'],
  ['receiver-ipc', 'receiver, IPC I/O thread'],
  ['sender-main', 'sender, main thread'],
  ['receiver-main', 'receiver, main thread'],
  ['sender-worker', 'sender, content worker (reads the blob)'],
  ['receiver-worker', 'receiver, content worker (checks and writes pieces, whole-file hash)'],
  ['sender-pool', 'sender, thread pool'],
  ['receiver-pool', 'receiver, thread pool (WebCrypto piece digests)'],
  ['rest', 'everything else (other threads, browser process, storage, GPU)'],
] as const
type ThreadGroup = (typeof THREAD_GROUPS)[number][0]

type PumpRun = { ms: number; mbs: number; cpu: Cpu }
type PumpVariant = { high: number; low: number; runs: PumpRun[] }
type FetchRun = {
  ms: number
  mbs: number
  /** Until the last piece was verified and written (the rest is checking the whole-file hash and committing it). */
  piecesMs: number
  piecesMbs: number
  /** fetch() to the first verified piece (holder lookup, piece list, first piece). */
  firstPieceMs: number
  /** content-piece bytes each holder sent during this fetch, by node name. */
  sent: Record<string, number>
  cpu: Cpu
  /** The holders' bulk-path counters during this fetch (summed), and the receiver's. */
  holderStats: ContentStats
  receiverStats: ContentStats
}
export type TtfaRun = {
  /** Click to the audio element's first 'playing' event. */
  playingMs: number
  /** Click to the first currentTime > 0 (polled every 4 ms). */
  advancedMs: number
  /** Cold trials: from navigation start. */
  navToClickMs?: number
  /** Until the Play button of the track was first enabled (the track listed). */
  navToListedMs?: number
  navToPlayingMs?: number
  navToAdvancedMs?: number
  linkOpenMs?: number
  /** Cold trials: the app's startup marks (performance.mark names without `dcmx:`), from navigation start. */
  marks?: Record<string, number>
  holderLinkedAtClick?: boolean
  workerAtClick?: boolean
  /** Click to the first read of /content/<hash> reaching the page from the service worker. */
  readAskedMs?: number
  /** That read's duration (its pieces fetched from peers and verified), and its size. */
  readMs?: number
  readBytes?: number
}

type LimitedRound = {
  share: number
  bytesPerMs: number
  trackBytes: number
  single: FetchRun[]
  triple: FetchRun[]
}

export type TransferResult = {
  options: Omit<TransferBenchOptions, 'log'>
  trackBytes: number
  pieceSize: number
  pumps: PumpVariant[]
  single: FetchRun[]
  triple: FetchRun[]
  /** Per entry of limitedShares: holders each limited to pump / share; one holder (A → C), three (A, B, D → C). */
  limited: LimitedRound[]
  warm: TtfaRun[]
  cold: TtfaRun[]
  /** Trials that never played (described), by kind. */
  warmFailed: string[]
  coldFailed: string[]
  ttfaTrackBytes: number
  /** 1-minute load average when the section started and ended, and its wall time. */
  loadStart: number
  loadEnd: number
  wallS: number
}

// --- files ---

/** A 16-bit stereo 44.1 kHz WAV of exactly `bytes` bytes of noise, titled, on disk. */
function writeLargeWav(path: string, bytes: number, title: string) {
  const text = Buffer.concat([Buffer.from(title, 'utf8'), Buffer.alloc(1)])
  const inam = Buffer.concat([Buffer.from('INAM'), u32(text.length), text, Buffer.alloc(text.length % 2)])
  const list = Buffer.concat([Buffer.from('LIST'), u32(4 + inam.length), Buffer.from('INFO'), inam])
  const fmt = Buffer.alloc(16)
  fmt.writeUInt16LE(1, 0)
  fmt.writeUInt16LE(2, 2)
  fmt.writeUInt32LE(44_100, 4)
  fmt.writeUInt32LE(44_100 * 4, 8)
  fmt.writeUInt16LE(4, 12)
  fmt.writeUInt16LE(16, 14)
  const head = Buffer.concat([
    Buffer.from('RIFF'),
    u32(bytes - 8),
    Buffer.from('WAVE'),
    Buffer.from('fmt '),
    u32(16),
    fmt,
    list,
  ])
  let dataBytes = bytes - head.length - 8
  dataBytes -= dataBytes % 4
  const pad = bytes - head.length - 8 - dataBytes
  const fd = openSync(path, 'w')
  writeSync(fd, Buffer.concat([head, Buffer.from('data'), u32(dataBytes)]))
  for (let left = dataBytes; left > 0; left -= MiB) writeSync(fd, randomBytes(Math.min(MiB, left)))
  if (pad) writeSync(fd, Buffer.alloc(pad))
  closeSync(fd)
  return createHash('sha256').update(readFileSync(path)).digest('hex')
}

function u32(n: number) {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(n)
  return b
}

// --- CPU ---

let ticksPerSecond = 100 // USER_HZ on Linux

type ProcCpu = Map<
  number,
  { ticks: number; renderer: boolean; ppid: number; browser: boolean; network: boolean }
>

/** utime + stime of every Chromium process on the machine. */
function procCpu(): ProcCpu {
  const out: ProcCpu = new Map()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      if (!/^chrom/.test(comm)) continue
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const ticks = Number(fields[11]) + Number(fields[12])
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8')
      out.set(Number(name), {
        ticks,
        renderer: cmdline.includes('--type=renderer'),
        ppid: Number(fields[1]),
        browser: !cmdline.includes('--type='),
        network: cmdline.includes('NetworkService'),
      })
    } catch {
      // gone
    }
  }
  return out
}

/**
 * utime + stime of every thread of the sender's and receiver's renderers and of the browser's
 * other processes (not the other pages' renderers), by thread group.
 */
function threadCpu(
  procs: ProcCpu,
  sender: Node,
  receiver: Node,
): Map<string, { group: ThreadGroup; ticks: number }> {
  const out = new Map<string, { group: ThreadGroup; ticks: number }>()
  for (const [pid, p] of procs) {
    const role = pid === sender.pid ? 'sender' : pid === receiver.pid ? 'receiver' : undefined
    if (role === undefined && (p.renderer || !under(procs, pid, sender.browserPid))) continue
    try {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
        const ticks = Number(fields[11]) + Number(fields[12])
        out.set(`${pid}/${tid}`, { group: threadGroup(role, p.network, Number(tid) === pid, comm), ticks })
      }
    } catch {
      // gone
    }
  }
  return out
}

function threadGroup(
  role: 'sender' | 'receiver' | undefined,
  network: boolean,
  main: boolean,
  comm: string,
): ThreadGroup {
  if (role === undefined) return network && comm === 'Chrome_ChildIOT' ? 'network' : 'rest'
  if (main) return `${role}-main`
  if (comm === 'WebRTC_W_and_N') return `${role}-webrtc`
  if (comm === 'Chrome_ChildIOT') return `${role}-ipc`
  if (comm.startsWith('DedicatedWorker')) return `${role}-worker`
  if (comm.startsWith('ThreadPool')) return `${role}-pool`
  return 'rest'
}

function threadMs(before: ReturnType<typeof threadCpu>, after: ReturnType<typeof threadCpu>) {
  const ms = Object.fromEntries(THREAD_GROUPS.map(([group]) => [group, 0])) as Record<ThreadGroup, number>
  for (const [key, t] of after)
    ms[t.group] += ((t.ticks - (before.get(key)?.ticks ?? 0)) * 1000) / ticksPerSecond
  return ms
}

const cpuMs = (before: ProcCpu, after: ProcCpu, pid: number) =>
  (((after.get(pid)?.ticks ?? 0) - (before.get(pid)?.ticks ?? 0)) * 1000) / ticksPerSecond

/** The browser (main) process above `pid`: other test runs on the machine may run browsers too. */
function browserOf(procs: ProcCpu, pid: number): number {
  for (let p: number | undefined = pid; p !== undefined && procs.has(p); p = procs.get(p)?.ppid)
    if (procs.get(p)!.browser) return p
  throw new Error(`no Chromium browser process above ${pid}`)
}

/** Whether `pid` runs under `root` (or is it). */
function under(procs: ProcCpu, pid: number, root: number) {
  for (let p: number | undefined = pid; p !== undefined && procs.has(p); p = procs.get(p)?.ppid)
    if (p === root) return true
  return false
}

/** Whether `pid` belongs to a browser this process launched. */
function launchedHere(procs: ProcCpu, pid: number) {
  try {
    return procs.get(browserOf(procs, pid))?.ppid === process.pid
  } catch {
    return false
  }
}

/** CPU of the non-renderer processes of the browser `root` (itself included) between two snapshots, ms. */
function otherMs(before: ProcCpu, after: ProcCpu, root: number) {
  let ms = 0
  for (const [pid, p] of after) if (!p.renderer && under(after, pid, root)) ms += cpuMs(before, after, pid)
  return ms
}

/**
 * The renderer process of a page: the one whose CPU time jumps while the page spins for 500 ms
 * (clearly more than any other renderer's; retried if the machine is too busy to tell).
 */
async function rendererPid(page: Page): Promise<number> {
  let seen = ''
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = procCpu()
    await page.evaluate(`(() => { const t = performance.now(); while (performance.now() - t < 500) {} })()`)
    const after = procCpu()
    // Only this process's own browsers: other runs on a shared machine may spin renderers too.
    const ranked = [...after]
      .filter(([pid, p]) => p.renderer && launchedHere(after, pid))
      .map(([pid]) => [pid, cpuMs(before, after, pid)] as const)
      .sort((x, y) => y[1] - x[1])
    const [best, second] = [ranked[0], ranked[1]]
    if (best && best[1] >= 150 && best[1] >= 2 * (second?.[1] ?? 0)) return best[0]
    seen = ranked
      .slice(0, 3)
      .map(([pid, ms]) => `${pid}: ${ms} ms`)
      .join(', ')
  }
  throw new Error(`could not tell which renderer runs ${page.url()} (${seen})`)
}

async function mainThread(cdp: CDPSession) {
  const { metrics } = await cdp.send('Performance.getMetrics')
  const get = (name: string) => (metrics.find((m) => m.name === name)?.value ?? 0) * 1000
  return { task: get('TaskDuration'), script: get('ScriptDuration') }
}

/** Measure CPU of `sender` and `receiver` (and the rest of Chromium) while `fn` runs. */
async function withCpu<T>(sender: Node, receiver: Node, fn: () => Promise<T>): Promise<[T, Cpu]> {
  const [s0, r0] = [await mainThread(sender.cdp), await mainThread(receiver.cdp)]
  const p0 = procCpu()
  const t0 = threadCpu(p0, sender, receiver)
  const value = await fn()
  const t1 = threadCpu(procCpu(), sender, receiver)
  const p1 = procCpu()
  const [s1, r1] = [await mainThread(sender.cdp), await mainThread(receiver.cdp)]
  return [
    value,
    {
      senderMs: cpuMs(p0, p1, sender.pid),
      receiverMs: cpuMs(p0, p1, receiver.pid),
      otherMs: otherMs(p0, p1, sender.browserPid),
      senderTaskMs: s1.task - s0.task,
      senderScriptMs: s1.script - s0.script,
      receiverTaskMs: r1.task - r0.task,
      receiverScriptMs: r1.script - r0.script,
      threads: threadMs(t0, t1),
    },
  ]
}

// --- nodes ---

export type Node = {
  name: string
  context: BrowserContext
  page: Page
  peerId: string
  cdp: CDPSession
  /** Its renderer process, and the browser process above it. */
  pid: number
  browserPid: number
}

// Page scripts are strings, not functions: tsx's transform would add helpers the page does not have.
const js = (fn: string, ...args: unknown[]) => `(${fn})(${args.map((a) => JSON.stringify(a)).join(', ')})`

/**
 * Poll `expr` in the page until it is truthy. Not page.waitForFunction: that evaluates its string
 * with eval inside the page, which the app's CSP (no 'unsafe-eval') refuses.
 */
async function waitFor(page: Page, expr: string, timeout = 60_000) {
  const deadline = Date.now() + timeout
  for (;;) {
    if (await page.evaluate(expr)) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${expr}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** A node in a new context of `browser`, or in a page of its own in `context` (its origin is the url's). */
export async function openNode(host: Browser | BrowserContext, url: string, name: string): Promise<Node> {
  const context = 'newContext' in host ? await host.newContext() : host
  const page = await context.newPage()
  await page.goto(url)
  await waitFor(page, `window.dcmx && /^[0-9a-f]{32}$/.test(window.dcmx.peerId)`)
  // A first visit is taken over by the freshly installed service worker (it serves /content/).
  await waitFor(page, `navigator.serviceWorker.controller !== null`)
  const peerId = (await page.evaluate(`window.dcmx.peerId`)) as string
  const cdp = await context.newCDPSession(page)
  await cdp.send('Performance.enable')
  return { name, context, page, peerId, cdp, pid: 0, browserPid: 0 }
}

export const linkedTo = (node: Node, others: Node[]) =>
  waitFor(
    node.page,
    js(
      `(ids) => ids.every((id) => window.dcmx.peers.some((p) => p.peerId === id && p.state === 'connected'))`,
      others.map((o) => o.peerId),
    ),
  )

export const seesHolders = (node: Node, hash: string, holders: number) =>
  waitFor(
    node.page,
    js(
      `(hash, n) => window.dcmx.network.some((t) => t.contentHash === hash && t.described && t.holders === n)`,
      hash,
      holders,
    ),
  )

/**
 * Drop files on the page and wait until each is imported. The import queue renders only the rows
 * near its scroll position, so this pages through it (a bounded scan, one step per poll) until it
 * has seen every file's row finished.
 */
export async function importFiles(node: Node, paths: string[], names: string[]) {
  await node.page.getByLabel('Add music files').setInputFiles(paths)
  const imports = node.page.getByRole('list', { name: 'Imports' }).getByRole('listitem')
  const waiting = new Set(names)
  const deadline = Date.now() + 120_000
  while (waiting.size > 0) {
    for (const name of [...waiting]) {
      const done = imports.filter({ hasText: name }).filter({ hasText: /Added|Already/ })
      if ((await done.count()) > 0) waiting.delete(name)
    }
    if (waiting.size === 0) break
    if (Date.now() > deadline) throw new Error(`imports not finished: ${[...waiting].join(', ')}`)
    await node.page.evaluate(SCROLL_QUEUE)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Scroll the import queue's scroller one screen on, back to its top after its end. */
const SCROLL_QUEUE = `(() => {
  let el = document.querySelector('[aria-label="Imports"]')
  while (el && !/auto|scroll/.test(getComputedStyle(el).overflowY)) el = el.parentElement
  if (!el) return
  const end = el.scrollTop + el.clientHeight >= el.scrollHeight - 1
  el.scrollTop = end ? 0 : el.scrollTop + el.clientHeight
})()`

const contentSent = async (node: Node) =>
  (await node.page.evaluate(`window.dcmx.stats.sent['content-piece']?.bytes ?? 0`)) as number

// --- bare pump ---

const GATHERED = `(pc) => new Promise((resolve) => {
  if (pc.iceGatheringState === 'complete') return resolve()
  pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve())
})`

const PUMP_OFFER = `async () => {
  const gathered = ${GATHERED}
  const pc = new RTCPeerConnection({ iceServers: [] })
  const channel = pc.createDataChannel('bench-pump', { ordered: true })
  const open = new Promise((resolve) => (channel.onopen = resolve))
  window.__pump = { pc, channel, open }
  await pc.setLocalDescription()
  await gathered(pc)
  return pc.localDescription.toJSON()
}`

const PUMP_ANSWER = `async (offer) => {
  const gathered = ${GATHERED}
  const pc = new RTCPeerConnection({ iceServers: [] })
  const channel = new Promise((resolve) => (pc.ondatachannel = (e) => resolve(e.channel)))
  window.__pump = { pc, channel }
  await pc.setRemoteDescription(offer)
  await pc.setLocalDescription()
  await gathered(pc)
  return pc.localDescription.toJSON()
}`

const PUMP_CONNECT = `async (answer) => {
  await window.__pump.pc.setRemoteDescription(answer)
  await window.__pump.open
}`

/** Receiver: count bytes until `total`, then resolve window.__pump.done with the epoch time of the last byte. */
const PUMP_ARM = `async (total) => {
  const channel = await window.__pump.channel
  channel.binaryType = 'arraybuffer'
  let got = 0
  window.__pump.done = new Promise((resolve) => {
    channel.onmessage = (e) => {
      got += e.data.byteLength
      if (got >= total) {
        channel.onmessage = null
        resolve(performance.timeOrigin + performance.now())
      }
    }
  })
}`

/** Sender: `total` bytes in `chunk`-byte messages, waiting below `high` queued bytes for the `low` event. */
const PUMP_SEND = `async (total, chunk, high, low) => {
  const channel = window.__pump.channel
  channel.bufferedAmountLowThreshold = low
  const buf = crypto.getRandomValues(new Uint8Array(chunk))
  const start = performance.timeOrigin + performance.now()
  for (let sent = 0; sent < total; ) {
    if (channel.bufferedAmount > high)
      await new Promise((resolve) => channel.addEventListener('bufferedamountlow', resolve, { once: true }))
    const n = Math.min(chunk, total - sent)
    channel.send(n === chunk ? buf : buf.subarray(0, n))
    sent += n
  }
  return start
}`

async function pumpConnect(a: Node, b: Node) {
  const offer = await a.page.evaluate(js(PUMP_OFFER))
  const answer = await b.page.evaluate(js(PUMP_ANSWER, offer))
  await a.page.evaluate(js(PUMP_CONNECT, answer))
}

async function pumpOnce(
  a: Node,
  b: Node,
  o: TransferBenchOptions,
  [high, low]: [number, number],
): Promise<PumpRun> {
  const total = o.mib * MiB
  const [ms, cpu] = await withCpu(a, b, async () => {
    await b.page.evaluate(js(PUMP_ARM, total))
    const start = (await a.page.evaluate(js(PUMP_SEND, total, o.pumpChunk, high, low))) as number
    const end = (await b.page.evaluate(`window.__pump.done`)) as number
    return end - start
  })
  return { ms, mbs: total / 1e6 / (ms / 1000), cpu }
}

// --- DCMX fetch ---

/** fetch(hash).finished on the page, with the times of the first verified piece and of the last. */
const FETCH = `async (hash) => {
  const f = window.dcmx.fetcher
  const now = () => performance.timeOrigin + performance.now()
  const marks = {}
  const off = f.events.on('change', () => {
    const d = f.downloads.find((d) => d.hash === hash)
    if (!d) return
    if (d.have > 0 && marks.first === undefined) marks.first = now()
    if (d.total > 0 && d.have === d.total && marks.pieces === undefined) marks.pieces = now()
  })
  const start = now()
  await f.fetch(hash).finished
  const end = now()
  off()
  return { start, end, first: marks.first ?? end, pieces: marks.pieces ?? end }
}`

async function fetchOnce(receiver: Node, holders: Node[], hash: string, bytes: number): Promise<FetchRun> {
  const before = await Promise.all(holders.map(contentSent))
  const statsBefore = await Promise.all([receiver, ...holders].map((n) => contentStats(n.page)))
  const [t, cpu] = await withCpu(holders[0]!, receiver, async () => {
    return (await receiver.page.evaluate(js(FETCH, hash))) as {
      start: number
      end: number
      first: number
      pieces: number
    }
  })
  const after = await Promise.all(holders.map(contentSent))
  const statsAfter = await Promise.all([receiver, ...holders].map((n) => contentStats(n.page)))
  const sent = Object.fromEntries(holders.map((h, i) => [h.name, after[i]! - before[i]!]))
  const ms = t.end - t.start
  const piecesMs = t.pieces - t.start
  return {
    ms,
    mbs: bytes / 1e6 / (ms / 1000),
    piecesMs,
    piecesMbs: bytes / 1e6 / (piecesMs / 1000),
    firstPieceMs: t.first - t.start,
    sent,
    cpu,
    holderStats: statsDelta(statsBefore.slice(1), statsAfter.slice(1)),
    receiverStats: statsDelta(statsBefore.slice(0, 1), statsAfter.slice(0, 1)),
  }
}

/**
 * Holders rate-limited to `1 / share` of the ceiling pump each (a bench-only throttle on their data
 * channels, transfer-limits.ts): fresh tracks fetched by C from A alone, and from A, B and D,
 * alternately, so both see the same machine load.
 */
async function measureLimited(
  nodes: [Node, Node, Node, Node],
  dir: string,
  o: TransferBenchOptions,
  pumpMbs: number,
  share: number,
): Promise<LimitedRound> {
  const [a, b, c, d] = nodes
  const trackBytes = o.limitedMib * MiB
  const files = (kind: string) =>
    Array.from({ length: o.limitedRuns }, (_, i) => {
      const title = `Bench Limited ${share} ${kind} ${i + 1}`
      const name = `limited-${share}-${kind}-${i + 1}.wav`
      const path = join(dir, name)
      return { title, path, name, hash: writeLargeWav(path, trackBytes, title) }
    })
  const alone = files('one')
  const shared = files('three')
  o.log(
    `transfer: holders limited to 1/${share} of the pump, ${o.limitedRuns} × ${o.limitedMib} MiB from A, and from A, B, D…`,
  )
  const names = (fs: typeof alone) => [fs.map((f) => f.path), fs.map((f) => f.name)] as const
  await importFiles(a, ...names([...alone, ...shared]))
  for (const n of [b, d]) await importFiles(n, ...names(shared))
  for (const f of alone) await seesHolders(c, f.hash, 1)
  for (const f of shared) await seesHolders(c, f.hash, 3)
  await linkedTo(c, [a, b, d])
  const bytesPerMs = (pumpMbs * 1e6) / 1000 / share
  for (const n of [a, b, d]) await throttle(n.page, bytesPerMs)
  const single: FetchRun[] = []
  const triple: FetchRun[] = []
  try {
    for (let i = 0; i < o.limitedRuns; i++) {
      single.push(await fetchOnce(c, [a], alone[i]!.hash, trackBytes))
      triple.push(await fetchOnce(c, [a, b, d], shared[i]!.hash, trackBytes))
      const [one, three] = [single.at(-1)!, triple.at(-1)!]
      o.log(
        JSON.stringify({
          one: [one.mbs.toFixed(1), one.piecesMbs.toFixed(1)],
          three: [three.mbs.toFixed(1), three.piecesMbs.toFixed(1)],
          sent: three.sent,
        }),
      )
    }
  } finally {
    for (const n of [a, b, d]) await throttle(n.page, 0)
  }
  return { share, bytesPerMs, trackBytes, single, triple }
}

// --- time to first audio ---

/**
 * In-page probe: the time of the next click on a "Play …" button, of the audio element's next
 * 'playing' event after it, and of the first currentTime > 0 after it (polled). Times are
 * performance.now(), i.e. ms since navigation start. Installed as an init script on cold pages.
 */
export const PROBE = `(() => {
  if (window.__ttfa) return
  const s = (window.__ttfa = { click: undefined, playing: undefined, advanced: undefined, atClick: undefined })
  s.reset = () =>
    Object.assign(s, { click: undefined, playing: undefined, advanced: undefined, atClick: undefined, read: undefined })
  addEventListener('click', (e) => {
    const label = e.target?.closest?.('button')?.getAttribute('aria-label') ?? ''
    if (s.click !== undefined || !label.startsWith('Play ')) return
    s.click = performance.now()
    // Wrap the node's content reader (the service worker's reads of /content/ reach it through
    // the page) to time the first read: when it was asked, and when its bytes were ready.
    const fetcher = window.dcmx?.fetcher
    if (fetcher && !fetcher.__timed) {
      const read = fetcher.read.bind(fetcher)
      fetcher.__timed = true
      fetcher.read = async (...args) => {
        const entry = { asked: performance.now(), start: args[1], end: args[2] }
        if (s.click !== undefined && s.read === undefined) s.read = entry
        try {
          const bytes = await read(...args)
          entry.answered ??= performance.now()
          return bytes
        } catch (error) {
          entry.failed = performance.now() + ': ' + (error?.code ?? '') + ' ' + (error?.message ?? String(error))
          throw error
        }
      }
    }
    s.atClick = {
      peers: window.dcmx?.peers.filter((p) => p.state === 'connected').map((p) => p.peerId) ?? [],
      worker: navigator.serviceWorker.controller !== null,
    }
    const poll = setInterval(() => {
      const audio = document.querySelector('audio')
      if (audio && audio.currentTime > 0 && s.advanced === undefined) {
        s.advanced = performance.now()
        clearInterval(poll)
      }
    }, 1)
  }, true)
  // Cold pages: when the button window.__ttfaWant names is first enabled (the track is listed).
  if (window.__ttfaWant) {
    const listed = new MutationObserver(() => {
      for (const b of document.querySelectorAll('button[aria-label]'))
        if (b.getAttribute('aria-label') === window.__ttfaWant && !b.disabled) {
          s.listed = performance.now()
          return listed.disconnect()
        }
    })
    listed.observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['disabled'] })
  }
  // Media events do not bubble, but a capturing listener on the document sees them.
  document.addEventListener('playing', () => {
    if (s.click !== undefined && s.playing === undefined) s.playing = performance.now()
  }, true)
})()`

type ProbeState = {
  click: number
  playing: number
  advanced: number
  atClick: { peers: string[]; worker: boolean }
  read?: { asked: number; answered?: number; start: number; end: number }
}

/** What the page shows when a trial never played: the player's alert, the audio element, downloads. */
const DIAGNOSE = `(() => {
  const audio = document.querySelector('audio')
  return JSON.stringify({
    alert: [...document.querySelectorAll('[role=alert]')].map((e) => e.textContent.trim()).join(' | '),
    worker: navigator.serviceWorker.controller !== null,
    src: audio?.src.replace(location.origin, '').slice(0, 30),
    paused: audio?.paused,
    readyState: audio?.readyState,
    networkState: audio?.networkState,
    error: audio?.error ? audio.error.code + ' ' + audio.error.message : undefined,
    downloads: window.dcmx?.fetcher?.downloads.map((d) => d.state + ' ' + d.have + '/' + d.total + (d.error ? ' ' + d.error : '')),
    probe: { click: __ttfa.click, playing: __ttfa.playing, advanced: __ttfa.advanced, read: __ttfa.read },
  })
})()`

/** A trial that did not play within the time allowed: counted and described, not measured. */
class TrialFailed extends Error {}

const readProbe = async (page: Page) => {
  try {
    await waitFor(page, `window.__ttfa.playing !== undefined && window.__ttfa.advanced !== undefined`, 20_000)
  } catch {
    throw new TrialFailed(`no audio 20 s after the click: ${(await page.evaluate(DIAGNOSE)) as string}`)
  }
  return (await page.evaluate(
    `({ click: __ttfa.click, playing: __ttfa.playing, advanced: __ttfa.advanced, atClick: __ttfa.atClick, read: __ttfa.read })`,
  )) as ProbeState
}

const playButton = (page: Page, title: string) =>
  page.getByRole('table', { name: 'Network' }).getByRole('button', { name: `Play ${title}`, exact: true })

/** Link up: `listener` (linked to the holder, page loaded) presses Play on a track it has never fetched. */
export async function warmTrial(listener: Node, title: string, hash: string): Promise<TtfaRun> {
  // The table renders only the rows in view: search for the track first, as a user would.
  await listener.page.getByLabel('Search network').fill(title)
  await listener.page.evaluate(`window.__ttfa.reset()`)
  await playButton(listener.page, title).click()
  let p: ProbeState
  try {
    p = await readProbe(listener.page)
  } finally {
    await listener.page.evaluate(`document.querySelector('audio').pause()`)
    // Let the rest of the track arrive, so the next trial has the link to itself.
    await waitFor(
      listener.page,
      js(
        `(hash) => ['done', 'failed'].includes(window.dcmx.fetcher.downloads.find((d) => d.hash === hash)?.state)`,
        hash,
      ),
    ).catch(() => {})
  }
  return { playingMs: p.playing - p.click, advancedMs: p.advanced - p.click, ...readTimes(p) }
}

function readTimes(p: ProbeState): Pick<TtfaRun, 'readAskedMs' | 'readMs' | 'readBytes'> {
  if (!p.read?.answered) return {}
  return {
    readAskedMs: p.read.asked - p.click,
    readMs: p.read.answered - p.read.asked,
    readBytes: p.read.end - p.read.start,
  }
}

/**
 * A trusted mouse click at the centre of the element that the page expression `find` yields, once
 * it is there, on screen and not covered by another element (checked in the page every 10 ms).
 */
async function clickWhenShown(page: Page, find: string) {
  const at = await pollPage<{ x: number; y: number }>(
    page,
    `(() => {
      const e = ${find}
      if (!e) return undefined
      e.scrollIntoView({ block: 'nearest' })
      const r = e.getBoundingClientRect()
      const x = r.x + r.width / 2, y = r.y + r.height / 2
      return r.width > 0 && e.contains(document.elementFromPoint(x, y)) ? { x, y } : undefined
    })()`,
    60_000,
  )
  await page.mouse.click(at.x, at.y)
}

/**
 * What a cold trial records with TTFA_TRACE=<path prefix> set: one Chromium trace per trial (main
 * thread, workers and service worker tasks, network requests, the app's `dcmx:` marks), to find
 * where a cold start's time goes. Tracing slows the page: never keep figures from such a run.
 */
const TRACE_CATEGORIES = [
  'devtools.timeline',
  'disabled-by-default-devtools.timeline',
  'v8.execute',
  'blink.user_timing',
  'toplevel',
]

/** Link cold: a fresh node (new context: new storage, new key pair, first visit) opens the app and
 * presses Play on the track as soon as its row's button is enabled. */
export async function coldTrial(
  browser: Browser,
  url: string,
  title: string,
  holder: Node,
): Promise<TtfaRun> {
  const context = await browser.newContext()
  try {
    const page = await context.newPage()
    await page.addInitScript({ content: `window.__ttfaWant = ${JSON.stringify(`Play ${title}`)}` })
    await page.addInitScript({ content: PROBE })
    const tracePath = process.env.TTFA_TRACE ? `${process.env.TTFA_TRACE}-${Date.now()}.json` : undefined
    if (tracePath) await browser.startTracing(page, { path: tracePath, categories: TRACE_CATEGORIES })
    await page.goto(url)
    // Both clicks are the mouse's, at the element's centre, as soon as the page shows it (polled
    // every 10 ms). Not Playwright's locator clicks: their role queries and actionability checks
    // run on the page's main thread while it starts, and their waits for an actionable element
    // retry only after 20, 100, 100 and then 500 ms, which would time the test driver, not the app.
    await clickWhenShown(
      page,
      `[...document.querySelectorAll('[role=tab]')].find((e) => e.textContent.trim() === 'Network')`,
    )
    await clickWhenShown(
      page,
      js(
        `(label) => [...document.querySelectorAll('button[aria-label]')].find((b) => b.getAttribute('aria-label') === label && !b.disabled)`,
        `Play ${title}`,
      ),
    )
    const p = await readProbe(page)
    if (tracePath) await browser.stopTracing()
    const listedMs = (await page.evaluate(`__ttfa.listed`)) as number
    const linkOpen = (await page.evaluate(
      `performance.getEntriesByName('dcmx:first-channel-open')[0]?.startTime ?? NaN`,
    )) as number
    const marks = (await page.evaluate(
      `Object.fromEntries(performance.getEntriesByType('mark').filter((m) => m.name.startsWith('dcmx:')).map((m) => [m.name.slice(5), m.startTime]))`,
    )) as Record<string, number>
    return {
      marks,
      playingMs: p.playing - p.click,
      advancedMs: p.advanced - p.click,
      navToClickMs: p.click,
      navToListedMs: listedMs,
      navToPlayingMs: p.playing,
      navToAdvancedMs: p.advanced,
      linkOpenMs: linkOpen,
      holderLinkedAtClick: p.atClick.peers.includes(holder.peerId),
      workerAtClick: p.atClick.worker,
      ...readTimes(p),
    }
  } finally {
    await context.close()
  }
}

// --- the run ---

/** Run trial `i` (0 is the warm-up, not kept); a trial that never played is recorded as a failure. */
export async function trial(i: number, runs: TtfaRun[], failures: string[], fn: () => Promise<TtfaRun>) {
  try {
    const run = await fn()
    if (i > 0) runs.push(run)
  } catch (error) {
    if (!(error instanceof TrialFailed)) throw error
    failures.push(`${i === 0 ? 'warm-up' : `trial ${i}`}: ${error.message}`)
  }
}

/** The tracks and nodes of the time-to-first-audio trials. */
export type TtfaSetup = {
  /** Linked to the holder, its page loaded: plays one tone per link-up trial. */
  listener: Node
  /** Holds every tone and the cold track. */
  holder: Node
  /** One distinct track per link-up trial (a fetched track becomes local), the first a warm-up. */
  tones: { title: string; hash: string }[]
  /** Played by every cold trial (each a fresh node). */
  coldTrack: { title: string }
  trials: number
  log: (line: string) => void
}

/** Time to first audio: link up (the listener plays the tones), then link cold (fresh nodes). */
export async function measureTtfa(browser: Browser, url: string, s: TtfaSetup) {
  const { listener, holder, tones, coldTrack, trials, log } = s
  log(
    `transfer: time to first audio, link up (${listener.name} plays ${holder.name}'s tracks), 1 warm-up + ${trials}…`,
  )
  await listener.page.evaluate(PROBE)
  await listener.page.getByRole('tab', { name: 'Network', exact: true }).click()
  const warm: TtfaRun[] = []
  const warmFailed: string[] = []
  for (let i = 0; i <= trials; i++) {
    const t = tones[i]!
    await seesHolders(listener, t.hash, 1)
    await trial(i, warm, warmFailed, () => warmTrial(listener, t.title, t.hash))
  }
  log(JSON.stringify(warm.map((r) => Math.round(r.playingMs))))

  log(`transfer: time to first audio, link cold (fresh nodes), 1 warm-up + ${trials}…`)
  const cold: TtfaRun[] = []
  const coldFailed: string[] = []
  for (let i = 0; i <= trials; i++)
    await trial(i, cold, coldFailed, () => coldTrial(browser, url, coldTrack.title, holder))
  log(JSON.stringify(cold.map((r) => [Math.round(r.navToPlayingMs!), Math.round(r.playingMs)])))
  return { warm, warmFailed, cold, coldFailed }
}

export async function measureTransfer(
  browser: Browser,
  baseUrl: string,
  options: Partial<TransferBenchOptions> = {},
): Promise<TransferResult> {
  const o = { ...DEFAULT_TRANSFER_OPTIONS, ...options }
  const log = o.log
  try {
    ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100
  } catch {
    // keep 100
  }
  const started = Date.now()
  const loadStart = loadavg()[0]!
  const room = `bench-transfer-${Date.now() % 1e8}`
  const url = `${baseUrl}/?room=${room}`
  const dir = mkdtempSync(join(tmpdir(), 'dcmx-bench-transfer-'))
  const nodes: Node[] = []
  let persistent: Awaited<ReturnType<typeof launchPersistent>> | undefined
  try {
    // Files: the large tracks, the link-up trials' distinct small tracks, one track for cold trials.
    const bytes = o.mib * MiB
    const large = Array.from({ length: o.tracks }, (_, i) => {
      const title = `Bench Transfer ${i + 1}`
      const path = join(dir, `transfer-${i + 1}.wav`)
      return { title, path, name: `transfer-${i + 1}.wav`, hash: writeLargeWav(path, bytes, title) }
    })
    const smallWav = (i: number, title: string, name: string) => {
      const wav = makeWav({ name, seconds: o.ttfaSeconds, sampleRate: 44_100, hz: 220 + 20 * i, title })
      const path = join(dir, wav.name)
      writeFileSync(path, wav.buffer)
      const hash = createHash('sha256').update(wav.buffer).digest('hex')
      return { title, path, name: wav.name, hash, size: wav.buffer.length }
    }
    // Link-up trials: one distinct track each (a fetched track becomes local), the first a warm-up.
    const tones = Array.from({ length: o.ttfaTrials + 1 }, (_, i) =>
      smallWav(i, `Bench Tone ${i}`, `tone-${i}.wav`),
    )
    // Cold trials: every trial is a fresh node, so they can all play the same track.
    const coldTrack = smallWav(o.ttfaTrials + 1, 'Bench Cold Tone', 'cold.wav')
    // Fetched by B and C before the measured fetches (first use of the code paths and databases).
    const warmUp = smallWav(o.ttfaTrials + 2, 'Bench Warm-up', 'warm-up.wav')
    const small = [...tones, coldTrack, warmUp]
    const ttfaTrackBytes = small[0]!.size

    log(
      `transfer: opening nodes A, B, C, D (${o.profile === 'disk' ? 'profile on disk' : 'off the record'})…`,
    )
    if (o.profile === 'disk') persistent = await launchPersistent()
    for (const [i, name] of ['A', 'B', 'C', 'D'].entries()) {
      const at = new URL(url)
      if (persistent) at.hostname = `127.0.0.${i + 1}`
      nodes.push(await openNode(persistent?.context ?? browser, at.href, name))
    }
    const [a, b, c, d] = nodes as [Node, Node, Node, Node]
    for (const n of nodes)
      await linkedTo(
        n,
        nodes.filter((x) => x !== n),
      )
    for (const n of nodes) {
      n.pid = await rendererPid(n.page)
      n.browserPid = browserOf(procCpu(), n.pid)
    }

    log(`transfer: A imports ${o.tracks} × ${o.mib} MiB and ${small.length} small tracks…`)
    await importFiles(
      a,
      [...large, ...small].map((f) => f.path),
      [...large, ...small].map((f) => f.name),
    )

    log(`transfer: bare pump A → B, ${o.mib} MiB, one warm-up run per variant…`)
    await pumpConnect(a, b)
    const pumps: PumpVariant[] = o.pumpWatermarks.map(([high, low]) => ({ high, low, runs: [] }))
    for (const marks of o.pumpWatermarks) await pumpOnce(a, b, o, marks)

    await seesHolders(b, large[0]!.hash, 1)
    const pieceSize = (await b.page.evaluate(
      js(`(hash) => window.dcmx.mesh.gossip.meta.get(hash)?.pieceSize ?? 0`, large[0]!.hash),
    )) as number
    log('transfer: warm-up fetches (B, then C), then DCMX fetch from one holder (A → B)…')
    for (const node of [b, c]) {
      await seesHolders(node, warmUp.hash, node === b ? 1 : 2)
      await node.page.evaluate(js(`(hash) => window.dcmx.fetcher.fetch(hash).finished`, warmUp.hash))
    }
    const single: FetchRun[] = []
    for (const t of large) {
      for (const v of pumps) v.runs.push(await pumpOnce(a, b, o, [v.high, v.low]))
      await seesHolders(b, t.hash, 1)
      single.push(await fetchOnce(b, [a], t.hash, bytes))
      log(
        JSON.stringify({
          pumps: pumps.map((v) => v.runs.at(-1)!.mbs.toFixed(1)),
          mbs: single.at(-1)!.mbs.toFixed(1),
          piecesMbs: single.at(-1)!.piecesMbs.toFixed(1),
        }),
      )
    }
    await a.page.evaluate(`window.__pump.pc.close()`)

    log('transfer: D imports the large tracks; DCMX fetch from three holders (A, B, D → C)…')
    await importFiles(
      d,
      large.map((f) => f.path),
      large.map((f) => f.name),
    )
    const triple: FetchRun[] = []
    for (const t of large) {
      await seesHolders(c, t.hash, 3)
      await linkedTo(c, [a, b, d])
      triple.push(await fetchOnce(c, [a, b, d], t.hash, bytes))
      log(JSON.stringify({ mbs: triple.at(-1)!.mbs.toFixed(1), sent: triple.at(-1)!.sent }))
    }

    const ceilingMbs = Math.max(
      ...pumps.map((v) =>
        percentile(
          v.runs.map((p) => p.mbs),
          50,
        ),
      ),
    )
    const limited: LimitedRound[] = []
    for (const share of o.limitedShares)
      limited.push(await measureLimited([a, b, c, d], dir, o, ceilingMbs, share))

    const { warm, warmFailed, cold, coldFailed } = await measureTtfa(browser, url, {
      listener: b,
      holder: a,
      tones,
      coldTrack,
      trials: o.ttfaTrials,
      log,
    })

    const { log: _log, ...rest } = o
    return {
      options: rest,
      trackBytes: bytes,
      pieceSize,
      pumps,
      single,
      triple,
      limited,
      warm,
      cold,
      warmFailed,
      coldFailed,
      ttfaTrackBytes,
      loadStart,
      loadEnd: loadavg()[0]!,
      wallS: (Date.now() - started) / 1000,
    }
  } finally {
    for (const n of nodes) await (persistent ? n.page : n.context).close().catch(() => {})
    await persistent?.close().catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  }
}

// --- report ---

const f0 = (x: number) => x.toFixed(0)
const f1 = (x: number) => x.toFixed(1)
const ms = (x: number) => (x < 10 ? x.toFixed(1) : x.toFixed(0))
const med = (xs: number[]) => percentile(xs, 50)

export function transferMarkdown(r: TransferResult): string {
  const o = r.options
  const mib = r.trackBytes / MiB
  const kib = (n: number) => (n >= MiB ? `${n / MiB} MiB` : `${n / 1024} KiB`)
  const pumpMedian = (v: PumpVariant) => med(v.runs.map((p) => p.mbs))
  const ceiling = [...r.pumps].sort((x, y) => pumpMedian(y) - pumpMedian(x))[0]!
  const appPump = r.pumps.find((v) => v.high === 1024 * 1024 && v.low === 256 * 1024)
  const pairs = r.single.map((f, i) => [f, ceiling.runs[i]!] as const)
  const pairedPieces = med(pairs.map(([f, p]) => f.piecesMbs / p.mbs))
  const pairedEnd = med(pairs.map(([f, p]) => f.mbs / p.mbs))
  const paired = `to the last piece ${pairs.map(([f, p]) => Math.round((100 * f.piecesMbs) / p.mbs)).join(', ')} % (median ${Math.round(100 * pairedPieces)} %), end to end ${pairs.map(([f, p]) => Math.round((100 * f.mbs) / p.mbs)).join(', ')} % (median ${Math.round(100 * pairedEnd)} %)`
  const pumpMbs = pumpMedian(ceiling)
  const singleMbs = med(r.single.map((p) => p.mbs))
  const singlePieces = med(r.single.map((p) => p.piecesMbs))
  const tripleMbs = med(r.triple.map((p) => p.mbs))
  const triplePieces = med(r.triple.map((p) => p.piecesMbs))
  const pct = (x: number) =>
    `${Math.round((100 * x) / pumpMbs)} %` +
    (appPump && appPump !== ceiling ? ` (${Math.round((100 * x) / pumpMedian(appPump))} %)` : '')
  const range = (xs: number[], f = f1) =>
    xs.length > 1 ? ` (${f(Math.min(...xs))}–${f(Math.max(...xs))})` : ''

  // Per-holder share over all three-holder fetches.
  const holders = Object.keys(r.triple[0]?.sent ?? {})
  const sentTotal = (name: string) => r.triple.reduce((s, t) => s + (t.sent[name] ?? 0), 0)
  const allSent = holders.reduce((s, h) => s + sentTotal(h), 0)
  const payload = r.triple.length * r.trackBytes
  const shares = holders.map((h) => `${h} ${Math.round((100 * sentTotal(h)) / allSent)} %`).join(', ')
  const perFetchShares = r.triple
    .map((t) => {
      const total = Object.values(t.sent).reduce((s, x) => s + x, 0)
      return holders.map((h) => `${Math.round((100 * (t.sent[h] ?? 0)) / total)}`).join(' / ')
    })
    .join('; ')

  // CPU per MiB: medians over runs.
  const perMiB = (runs: { cpu: Cpu }[], key: Exclude<keyof Cpu, 'threads'>) =>
    med(runs.map((x) => x.cpu[key])) / mib
  const total = (runs: { cpu: Cpu }[]) =>
    perMiB(runs, 'senderMs') + perMiB(runs, 'receiverMs') + perMiB(runs, 'otherMs')
  const cpuRow = (name: string, runs: { cpu: Cpu }[]) =>
    `| ${name} | ${f1(perMiB(runs, 'senderMs'))} | ${f1(perMiB(runs, 'senderTaskMs'))} / ${f1(perMiB(runs, 'senderScriptMs'))} | ${f1(perMiB(runs, 'receiverMs'))} | ${f1(perMiB(runs, 'receiverTaskMs'))} / ${f1(perMiB(runs, 'receiverScriptMs'))} | ${f1(perMiB(runs, 'otherMs'))} | ${f1(total(runs))} |`

  const signed = (x: number) => `${x >= 0 ? '+' : '−'}${f1(Math.abs(x))}`
  const threadPerMiB = (runs: { cpu: Cpu }[], group: ThreadGroup) =>
    med(runs.map((x) => x.cpu.threads[group])) / mib
  const threadRows = THREAD_GROUPS.map(([group, label]) => {
    const [pump, fetch] = [threadPerMiB(ceiling.runs, group), threadPerMiB(r.single, group)]
    return `| ${label} | ${f1(pump)} | ${f1(fetch)} | ${signed(fetch - pump)} |`
  }).join('\n')
  const threadSum = (runs: { cpu: Cpu }[]) =>
    THREAD_GROUPS.reduce((sum, [group]) => sum + threadPerMiB(runs, group), 0)

  // Cores kept busy = CPU ms per MiB × MiB per second / 1000.
  const cores = (runs: { cpu: Cpu }[], mbs: number) => (total(runs) * (mbs / 1.048576)) / 1000
  const pumpCores = cores(ceiling.runs, pumpMbs)
  const fetchCores = cores(r.single, singleMbs)
  const cpuRatio = total(r.single) / total(ceiling.runs)
  const busy =
    `The ceiling pump kept ${pumpCores.toFixed(1)} of the machine's ${cpus().length} cores busy (CPU per MiB × MiB/s), the ` +
    `single-holder fetch ${fetchCores.toFixed(1)}; the fetch spends ${cpuRatio.toFixed(2)}× the pump's CPU per MiB.` +
    (Math.min(pumpCores, fetchCores) >= 0.75 * cpus().length
      ? ` Both are near the machine's capacity, so here the fetch's throughput is set by its CPU cost per MiB ` +
        `rather than by the link: it reached ${Math.round((100 * singleMbs) / pumpMbs)} % of the pump at ` +
        `${Math.round(100 / cpuRatio)} % of its CPU efficiency.`
      : '')
  const warmPlaying = summary(r.warm.map((x) => x.playingMs))
  const warmAdvanced = summary(r.warm.map((x) => x.advancedMs))
  const cold = (key: keyof TtfaRun) => summary(r.cold.map((x) => x[key] as number))
  const ttfaRow = (name: string, s: Summary) =>
    s.n === 0
      ? `| ${name} | — | — | — | — |`
      : `| ${name} | ${ms(s.p50)} | ${ms(s.p90)} | ${ms(s.min)} | ${ms(s.max)} |`
  const part = (runs: TtfaRun[], key: 'readAskedMs' | 'readMs') =>
    summary(runs.map((x) => x[key]).filter((x): x is number => x !== undefined))
  const readKiB = med(r.warm.map((x) => x.readBytes ?? NaN)) / 1024
  const linkedAtClick = r.cold.filter((x) => x.holderLinkedAtClick).length
  const workerAtClick = r.cold.filter((x) => x.workerAtClick).length

  const failed = [...r.warmFailed.map((f) => `link up, ${f}`), ...r.coldFailed.map((f) => `link cold, ${f}`)]
  const failures =
    failed.length === 0
      ? `Every trial played (${r.warm.length} link-up and ${r.cold.length} cold trials measured).\n\n`
      : `${failed.length} trial(s) never played within 20 s and are left out of the table (${r.warm.length} link-up and ${r.cold.length} cold trials measured):\n\n${failed.map((f) => `- ${f.replace(/\|/g, '\\|')}`).join('\n')}\n\n`
  const met = (ok: boolean) => (ok ? '**met**' : '**not met**')
  const singleRatio = singleMbs / pumpMbs

  return `## Transfer and time to first audio (issue 5)

${
  o.profile === 'disk'
    ? `Four nodes (A, B, C, D: pages of one Chromium with a profile on disk, as a user's browser is,
each on an origin of its own, \`http://127.0.0.1\` to \`http://127.0.0.4\`, so each has its own OPFS and
IndexedDB, on disk) in one room, all linked,`
    : `Four nodes (A, B, C, D: browser contexts of one Chromium, off-the-record, so each node's OPFS and
IndexedDB live in the browser process's memory, and every sync-handle read and write is an IPC
round trip to it) in one room, all linked,`
} inside the private network namespace (host
candidates only, no STUN/TURN). The section took ${f0(r.wallS)} s; the machine's 1-minute load average
was ${r.loadStart.toFixed(1)} when it started and ${r.loadEnd.toFixed(1)} when it ended (${cpus().length} cores: any other work competes with
the browser, and every figure below is sensitive to it). Large tracks: ${o.tracks} distinct ${f0(mib)} MiB WAV files
(noise), imported on A through the app's file input; ${r.pieceSize / 1024} KiB pieces, sent as 60 KiB frames. MB = 10⁶ bytes.

### Throughput

The ceiling is a bare \`RTCDataChannel\` (ordered, reliable, as the app's links) opened between the
same two pages A and B, on an \`RTCPeerConnection\` of its own signalled through the test driver,
pumping ${f0(mib)} MiB in ${o.pumpChunk / 1024} KiB messages with \`bufferedAmountLowThreshold\` backpressure (send while at most
*high* bytes are queued, then wait for the \`bufferedamountlow\` event at *low*); time from the first
send to the receiver holding the last byte. After one warm-up run of each watermark pair, each pair
runs once right before each single-holder fetch (${r.single.length} runs each), so that the fetches and their
ceiling see the same machine over the section; medians per watermark pair.
The app's link (\`src/platform/rtc-link.ts\`) uses 1 MiB / 256 KiB; the best pump is the ceiling.

A DCMX fetch is \`window.dcmx.fetcher.fetch(hash).finished\` on the receiving node: holder lookup,
piece list, every piece requested and handed to the content worker, which verifies it (SHA-256),
writes it at its offset in one OPFS file per download and extends the whole-file hash over the
written prefix; then that hash is compared, the file moved into the content store (OPFS) and the
track added to the library. "To last piece" stops when the last piece is written. B and C each fetch a small track
first (warm-up). One fetch per large track: ${r.single.length} single-holder (A → B) and ${r.triple.length} three-holder (A, B and D →
C; B holds the copy it fetched, D imported the same file). Medians, with ranges in brackets;
percentages are of the ceiling${appPump && appPump !== ceiling ? ", and in brackets of the pump with the app's watermarks" : ''}.

| what | throughput | vs. pump |
| --- | ---: | ---: |
${r.pumps
  .map(
    (v) =>
      `| bare pump A → B, watermarks ${kib(v.high)} / ${kib(v.low)}${v === ceiling ? ' (**ceiling**)' : ''} | ${f1(pumpMedian(v))} MB/s${range(v.runs.map((p) => p.mbs))} | ${v === ceiling ? '—' : `${Math.round((100 * pumpMedian(v)) / pumpMbs)} %`} |`,
  )
  .join('\n')}
| **DCMX fetch, one holder** (A → B), end to end | ${f1(singleMbs)} MB/s${range(r.single.map((p) => p.mbs))} | ${pct(singleMbs)} |
| DCMX fetch, one holder, to last piece | ${f1(singlePieces)} MB/s${range(r.single.map((p) => p.piecesMbs))} | ${pct(singlePieces)} |
| **DCMX fetch, three holders** (A, B, D → C), end to end | ${f1(tripleMbs)} MB/s${range(r.triple.map((p) => p.mbs))} | ${pct(tripleMbs)} |
| DCMX fetch, three holders, to last piece | ${f1(triplePieces)} MB/s${range(r.triple.map((p) => p.piecesMbs))} | ${pct(triplePieces)} |

fetch() to the first verified piece: ${ms(med(r.single.map((x) => x.firstPieceMs)))} ms with one holder, ${ms(med(r.triple.map((x) => x.firstPieceMs)))} ms with three.
Share of the \`content-piece\` bytes each holder sent in the three-holder fetches (each holder's
\`window.dcmx.stats.sent['content-piece'].bytes\` before and after, frame headers included): ${shares}
(per fetch, A / B / D: ${perFetchShares} %); in all ${f1(allSent / MiB)} MiB sent for ${f1(payload / MiB)} MiB of tracks
(${Math.round((100 * (allSent - payload)) / payload)} % more: frame headers and endgame duplicates).
Each single-holder fetch beside the ceiling pump's run just before it: ${paired}.

Targets (issue 15): single-holder fetch ≥ 90 % of the bare pump to the last piece — ${met(singlePieces / pumpMbs >= 0.9)}: ${Math.round((100 * singlePieces) / pumpMbs)} %; ≥ 80 % end to end — ${met(singleRatio >= 0.8)}: ${Math.round(100 * singleRatio)} % of the ceiling${appPump && appPump !== ceiling ? ` (${Math.round((100 * singleMbs) / pumpMedian(appPump))} % of the pump with the app's watermarks)` : ''}.

${pipeMarkdown(r, pumpMbs)}

### CPU time per MiB transferred

Medians, in ms of CPU per MiB. "Renderer" is the page's whole renderer process (main thread,
workers, service worker, WebRTC threads), from \`/proc/<pid>/stat\` (10 ms ticks); each page's process
is the one that jumps while that page spins for 500 ms. "Main thread" is the page's CDP
\`Performance.getMetrics\` TaskDuration / ScriptDuration. "Rest" is every non-renderer process of this
browser (browser process, network service, which carries the UDP sockets, storage, GPU), for both
ends together. In the fetch the sender is A (the only holder) and the receiver B, and the time
includes the final whole-file hash and commit.

| transfer | sender renderer | sender main thread (task / script) | receiver renderer | receiver main thread (task / script) | rest | total |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
${r.pumps.map((v) => cpuRow(`bare pump, ${kib(v.high)} / ${kib(v.low)}`, v.runs)).join('\n')}
${cpuRow('DCMX fetch, one holder', r.single)}

${busy} Target: CPU per MiB ≤ 1.3× the pump's — ${met(cpuRatio <= 1.3)}: ${cpuRatio.toFixed(2)}×.

The same CPU by thread (\`/proc/<pid>/task/<tid>/stat\` of the two renderers and of the browser's
other processes, by thread name; medians per thread group, so the rows need not add up to the
total above), for the ceiling pump and the single-holder fetch, in ms per MiB:

| thread | ceiling pump | DCMX fetch, one holder | fetch − pump |
| --- | ---: | ---: | ---: |
${threadRows}
| sum of the rows | ${f1(threadSum(ceiling.runs))} | ${f1(threadSum(r.single))} | ${signed(threadSum(r.single) - threadSum(ceiling.runs))} |

### Time to first audio

For a remote track, in ms: from the click on "Play <title>" in the Network view
(\`role=table\` "Network"), timed in the page by a capturing click listener, to the \`<audio>\`
element's first \`playing\` event, and to its first \`currentTime > 0\` (polled every 4 ms). The tracks
are ${f1(r.ttfaTrackBytes / 1e6)} MB WAV files (${o.ttfaSeconds} s of 44.1 kHz mono) held by A only. Playback streams through the service
worker, which answers \`/content/<hash>\` by asking the page for the bytes a piece at a time; its
first answer waits for the first piece (256 KiB) only. ${o.ttfaTrials} trials each, after a warm-up trial.

- *Link up*: B, linked to A with its page loaded, plays a track it has never fetched (a distinct
  track per trial; each trial waits for the previous download to finish). Before each trial B types
  the track's title into "Search network" (the table renders only the rows in view).
- *Link cold*: every trial is a fresh node (a new off-the-record context: new storage and key pair, a first visit,
  so the service worker installs) that opens the app in the room, clicks the Network tab and then
  Play on the track as soon as its row's button is enabled (the track is listed once gossip over a
  first link describes it; the page notes the moment the button is enabled). Both are mouse clicks
  at the element's centre as soon as the test driver sees it there (it polls every 10 ms), not
  Playwright's locator clicks, whose queries would run on the starting page's main thread and
  whose retries would time the driver. Timed from navigation start, and from the click. At the click the link to the holder A was up
  in ${linkedAtClick} of ${r.cold.length} trials, and the service worker controlled the page in ${workerAtClick} of ${r.cold.length} (until it does, the
  app waits for it before it plays).

| time to first audio (ms) | p50 | p90 | min | max |
| --- | ---: | ---: | ---: | ---: |
${ttfaRow('**link up: click → `playing`**', warmPlaying)}
${ttfaRow('link up: click → currentTime > 0', warmAdvanced)}
${ttfaRow("link up, part: click → the service worker's first read reaches the page", part(r.warm, 'readAskedMs'))}
${ttfaRow(`link up, part: that read (${f0(readKiB)} KiB) fetched and verified`, part(r.warm, 'readMs'))}
${ttfaRow('link cold: navigation → first open data channel', cold('linkOpenMs'))}
${ttfaRow('link cold: navigation → track listed (button enabled)', cold('navToListedMs'))}
${ttfaRow('link cold: navigation → click', cold('navToClickMs'))}
${ttfaRow('link cold: click → `playing`', cold('playingMs'))}
${ttfaRow("link cold, part: click → the service worker's first read reaches the page", part(r.cold, 'readAskedMs'))}
${ttfaRow('**link cold: navigation → `playing`**', cold('navToPlayingMs'))}
${ttfaRow('link cold: navigation → currentTime > 0', cold('navToAdvancedMs'))}

${failures}Targets (issue 15): time to first audio with the link up p50 ≤ 250 ms — ${met(warmPlaying.p50 <= 250)}: median ${ms(warmPlaying.p50)} ms, p90 ${ms(warmPlaying.p90)} ms; link cold, navigation → \`playing\` p50 ≤ 800 ms — ${met(cold('navToPlayingMs').p50 <= 800)}: median ${ms(cold('navToPlayingMs').p50)} ms, p90 ${ms(cold('navToPlayingMs').p90)} ms.
`
}

/** Rate-limited holders, the holders' buffer drains and what content-cancel saved (issue 15). */
function pipeMarkdown(r: TransferResult, pumpMbs: number): string {
  const range = (xs: number[]) => (xs.length > 1 ? ` (${f1(Math.min(...xs))}–${f1(Math.max(...xs))})` : '')
  const figures = (l: LimitedRound) => ({
    one: med(l.single.map((x) => x.mbs)),
    three: med(l.triple.map((x) => x.mbs)),
    onePieces: med(l.single.map((x) => x.piecesMbs)),
    threePieces: med(l.triple.map((x) => x.piecesMbs)),
    limit: (l.bytesPerMs * 1000) / 1e6,
  })
  const shareName = (share: number) => (share === 3 ? 'a third' : share === 6 ? 'a sixth' : `1/${share}`)
  const limitedRows = r.limited.flatMap((l) => {
    const f = figures(l)
    const each = `each ≤ ${shareName(l.share)} of the pump (${f1(f.limit)} MB/s)`
    return [
      `| one holder (A → C), ${each} | ${f1(f.one)} MB/s${range(l.single.map((x) => x.mbs))} | ${f1(f.onePieces)} MB/s${range(l.single.map((x) => x.piecesMbs))} | — |`,
      `| three holders (A, B, D → C), ${each} | ${f1(f.three)} MB/s${range(l.triple.map((x) => x.mbs))} | ${f1(f.threePieces)} MB/s${range(l.triple.map((x) => x.piecesMbs))} | ${(f.three / f.one).toFixed(2)}× (${(f.threePieces / f.onePieces).toFixed(2)}×) |`,
    ]
  })
  const target = r.limited.find((l) => l.share === 3)
  const t = target && figures(target)
  const lower = r.limited.filter((l) => l.share > 3)
  const rows: [string, FetchRun[]][] = [
    ['one holder (A → B)', r.single],
    ['three holders (A, B, D → C)', r.triple],
    ...r.limited.flatMap((l): [string, FetchRun[]][] => [
      [`one holder limited to ${shareName(l.share)} (A → C)`, l.single],
      [`three holders limited to ${shareName(l.share)} (A, B, D → C)`, l.triple],
    ]),
  ]
  const sum = (runs: FetchRun[], f: (x: FetchRun) => number) => runs.reduce((n, x) => n + f(x), 0)
  const pipeRow = ([name, runs]: [string, FetchRun[]]) => {
    const frames = sum(runs, (x) => x.holderStats.pieceFrames)
    const drains = sum(runs, (x) => x.holderStats.drains)
    const reads = sum(runs, (x) => x.holderStats.reads)
    const pieces = sum(runs, (x) => x.holderStats.piecesRead)
    const idle = sum(runs, (x) => x.holderStats.idleStarts)
    const cancels = sum(runs, (x) => x.receiverStats.cancelsSent)
    const saved = sum(runs, (x) => x.holderStats.savedSending)
    const savedHere = sum(runs, (x) => x.receiverStats.savedReceiving)
    const late = sum(runs, (x) => x.receiverStats.lateBytes)
    return `| ${name} | ${runs.length} | ${frames} | ${drains} (${((100 * drains) / Math.max(1, frames)).toFixed(2)} %) | ${idle} | ${reads} / ${pieces} | ${cancels} | ${f1(saved / MiB)} / ${f1(savedHere / MiB)} | ${f1(late / MiB)} |`
  }
  const first = r.limited[0]!
  return `### Rate-limited holders

Holders A, B and D each limited to a share of the ceiling pump by a bench-only throttle on their
pages' data channels (\`tests/bench/transfer-limits.ts\`, installed from the test driver: data over
the rate waits in a queue that \`bufferedAmount\` counts, so the app's backpressure sees a slow
uplink; nothing of it is in the app). For each share, ${first.single.length} fresh ${f0(first.trackBytes / MiB)} MiB tracks each fetched by C
from A alone and ${first.triple.length} from A, B and D, alternately. Medians, ranges in brackets.

| what | end to end | to last piece | three ÷ one, end to end (to last piece) |
| --- | ---: | ---: | ---: |
${limitedRows.join('\n')}

${t ? `Target: three rate-limited holders ≥ 2.5× one — ${t.three >= 2.5 * t.one ? '**met**' : '**not met**'}: ${(t.three / t.one).toFixed(2)}× end to end (${(t.threePieces / t.onePieces).toFixed(2)}× to the last piece); the three together reached ${Math.round((100 * t.three) / pumpMbs)} % of the unlimited pump, beside ${Math.round((100 * med(r.triple.map((x) => x.mbs))) / pumpMbs)} % for the same three holders unlimited.` : ''}${lower.length > 0 ? ` At ${lower.map((l) => shareName(l.share)).join(' and ')} of the pump each, where the three together need less of the machine: ${lower.map((l) => `${(figures(l).three / figures(l).one).toFixed(2)}×`).join(' and ')}.` : ''}

### The holder's pipe, and what content-cancel saved

From each node's \`window.dcmx.stats.content\`, summed over the fetches of each kind. *Drains*: piece
frames a holder was about to send while serving a piece whose link buffer had run empty (the link
waited on the holder while there was work; share of all piece frames). *Idle arrivals*: requests
that reached a holder serving that peer nothing with an empty link (once per fetch and holder when
the asker's window covers the pipe). *Reads*: store reads / pieces they covered (consecutive
pieces are read together). *Cancels*: \`content-cancel\`s the receiver sent (endgame duplicates,
timeouts); *saved*: bytes the holders did not send / the receiver did not receive because of
them (MiB); *late*: bytes of cancelled pieces that were already on their way.

| fetches | n | piece frames | drains | idle arrivals | reads / pieces | cancels | saved (holders / receiver) | late |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.map(pipeRow).join('\n')}
`
}

/** The markdown section for docs/benchmarks.md: measure, then format. */
export async function benchTransfer(
  browser: Browser,
  baseUrl: string,
  options: Partial<TransferBenchOptions> = {},
): Promise<string> {
  return transferMarkdown(await measureTransfer(browser, baseUrl, options))
}
