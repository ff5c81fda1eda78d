import { describe, expect, it } from 'vitest'
import { DcmxError } from './errors.ts'
import { checkPiece } from './partial.ts'
import type { Sha256 } from './records.ts'
import { FakeClock } from './testing/fake-clock.ts'
import {
  FakeSource,
  makeContent,
  seeded,
  syncSha256,
  type Content,
  type FakeBehaviour,
} from './testing/fake-sources.ts'
import { Transfer, type EarlyRequest, type TransferConfig, type TransferProgress } from './transfer.ts'

const PIECE = 1024

type Setup = {
  content?: Content
  holders?: Record<string, FakeBehaviour>
  config?: Partial<TransferConfig>
  have?: number[]
  write?: (index: number, bytes: Uint8Array) => Promise<void>
  sha256?: (clock: FakeClock) => Sha256
  /** Requests sent before the transfer is made (to these holders, or to sources it never lists). */
  early?: (holders: Record<string, FakeSource>, clock: FakeClock, content: Content) => EarlyRequest[]
}

/** A transfer over fake holders, recording what it writes, reports and emits. */
function setup(options: Setup = {}) {
  const clock = new FakeClock()
  const content = options.content ?? makeContent(32, PIECE, 100)
  const holders: Record<string, FakeSource> = {}
  for (const [id, behaviour] of Object.entries(options.holders ?? {}))
    holders[id] = new FakeSource(id, content, clock, behaviour)
  const listed: FakeSource[] = Object.values(holders)
  const sha256 = options.sha256?.(clock) ?? syncSha256
  const writes = new Map<number, Uint8Array>()
  const writeLog: number[] = []
  const writtenAt = new Map<number, number>()
  const badReports: [string, boolean][] = []
  const banTimes = new Map<string, number>()
  const progress: TransferProgress[] = []
  const result = { doneAt: undefined as number | undefined, failedAt: undefined as number | undefined }
  let failure: DcmxError | undefined
  let doneCount = 0
  const transfer = new Transfer({
    size: content.size,
    pieceSize: content.pieceSize,
    pieces: content.pieces,
    ...(options.have ? { have: options.have } : {}),
    ...(options.early ? { early: options.early(holders, clock, content) } : {}),
    sources: () => listed,
    // A store verifies as it writes (partial.ts): only what matches is written.
    write: async (index, bytes, expected) => {
      await checkPiece(sha256, index, bytes, expected)
      writeLog.push(index)
      await options.write?.(index, bytes)
      writes.set(index, bytes.slice())
      writtenAt.set(index, clock.now())
    },
    onBadPiece: (peerId, banned) => {
      badReports.push([peerId, banned])
      if (banned) banTimes.set(peerId, clock.now())
    },
    clock,
    random: seeded(7),
    config: { pieceTimeoutMs: 8_000, noSourceTimeoutMs: 15_000, ...options.config },
  })
  transfer.events.on('progress', (p) => progress.push(p))
  transfer.events.on('done', () => {
    doneCount++
    result.doneAt = clock.now()
  })
  transfer.events.on('failed', (e) => {
    failure = e
    result.failedAt = clock.now()
  })
  const startedAt = clock.now()

  /** Advance in steps until `condition` holds or `maxMs` passed (bounded). */
  async function runUntil(condition: () => boolean, maxMs: number, stepMs = 25): Promise<void> {
    for (let t = 0; t < maxMs && !condition(); t += stepMs) await clock.advance(stepMs)
  }

  /** Every written piece is the right bytes, written once; done means all of them. */
  function expectIntact() {
    expect(new Set(writeLog).size).toBe(writeLog.length)
    for (const [index, bytes] of writes) expect(bytes, `piece ${index}`).toEqual(content.piece(index))
    if (result.doneAt !== undefined)
      expect(writes.size + (options.have?.length ?? 0)).toBe(content.pieces.length)
  }

  return {
    clock,
    content,
    holders,
    listed,
    transfer,
    writes,
    writeLog,
    writtenAt,
    badReports,
    banTimes,
    progress,
    result,
    startedAt,
    runUntil,
    expectIntact,
    get failure() {
      return failure
    },
    get doneCount() {
      return doneCount
    },
    /** Run until done or failed (bounded). */
    finish: (maxMs = 60_000) => runUntil(() => transfer.state !== 'running', maxMs, 250),
  }
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)

describe('Transfer: fetching and verifying', () => {
  it('fetches every piece from one honest holder, verifies it, writes it once and reports progress', async () => {
    const t = setup({ holders: { A: { latencyMs: 20, msPerPiece: 10 } } })
    t.transfer.start()
    await t.finish()
    expect(t.transfer.state).toBe('done')
    expect(t.doneCount).toBe(1)
    t.expectIntact()
    expect(t.writes.size).toBe(32)
    // The short last piece arrives whole.
    expect(t.writes.get(31)!.length).toBe(PIECE - 100)
    expect(t.progress.map((p) => p.have)).toEqual(Array.from({ length: 32 }, (_, i) => i + 1))
    const last = t.transfer.progress
    expect(last).toMatchObject({
      have: 32,
      total: 32,
      bytes: t.content.size,
      size: t.content.size,
      banned: [],
    })
    expect(last.perPeer).toEqual({ A: t.content.size })
    expect(last.sources).toBe(1)
    // One request per piece: nothing wasted with a single well-behaved holder.
    expect(t.holders.A!.requests.length).toBe(32)
  })

  it('fetches from the playhead on, in order, with one holder', async () => {
    const t = setup({ holders: { A: { latencyMs: 20, msPerPiece: 10 } } })
    t.transfer.start()
    await t.finish()
    const order = t.holders.A!.requests.map((r) => r.index)
    expect(order).toEqual([...order].sort((a, b) => a - b))
  })

  it('downloads from every holder in parallel, faster than from one', async () => {
    const content = makeContent(48, PIECE)
    const holder = { latencyMs: 20, msPerPiece: 40 }
    const one = setup({ content, holders: { A: holder } })
    one.transfer.start()
    await one.finish()
    const two = setup({ content, holders: { A: holder, B: holder } })
    two.transfer.start()
    await two.finish()
    expect(two.transfer.state).toBe('done')
    two.expectIntact()
    const perPeer = two.transfer.progress.perPeer
    expect(perPeer.A).toBeGreaterThan(content.size / 4)
    expect(perPeer.B).toBeGreaterThan(content.size / 4)
    expect(two.result.doneAt! - two.startedAt).toBeLessThan(0.7 * (one.result.doneAt! - one.startedAt))
  })

  it('places pieces answered out of order by index', async () => {
    const shuffle = seeded(3)
    const delays = Array.from({ length: 32 }, () => 10 + Math.floor(shuffle() * 400))
    const t = setup({
      holders: { A: { delayMs: (i) => delays[i]! }, B: { delayMs: (i) => delays[31 - i]! } },
    })
    t.transfer.start()
    await t.finish()
    expect(t.transfer.state).toBe('done')
    t.expectIntact()
    // The answers really did come back out of request order.
    const answered = [...t.writtenAt.entries()].sort((a, b) => a[1] - b[1]).map(([i]) => i)
    expect(answered).not.toEqual([...answered].sort((a, b) => a - b))
  })

  it('resumes from partial state: only the missing pieces are fetched', async () => {
    const have = Array.from({ length: 16 }, (_, i) => i * 2)
    const t = setup({ have, holders: { A: { latencyMs: 20, msPerPiece: 10 } } })
    expect(t.transfer.progress).toMatchObject({ have: 16, total: 32 })
    t.transfer.start()
    await t.finish()
    expect(t.transfer.state).toBe('done')
    t.expectIntact()
    const fetched = new Set(t.holders.A!.requests.map((r) => r.index))
    expect([...fetched].sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, i) => i * 2 + 1))
    expect([...t.writes.keys()].every((i) => i % 2 === 1)).toBe(true)
    expect(t.transfer.progress.bytes).toBe(t.content.size)
  })

  it('resolves need() at once for a held piece, and is done at once when everything is held', async () => {
    const content = makeContent(4, PIECE)
    const t = setup({ content, have: [0, 1, 2, 3] })
    await expect(t.transfer.need(2)).resolves.toBeUndefined()
    t.transfer.start()
    expect(t.transfer.state).toBe('done')
    expect(t.doneCount).toBe(1)
    const empty = setup({ content: makeContent(0, PIECE) })
    empty.transfer.start()
    expect(empty.transfer.state).toBe('done')
  })

  it('rejects inputs that do not describe the content', async () => {
    const content = makeContent(4, PIECE)
    const base = {
      size: content.size,
      pieceSize: PIECE,
      pieces: content.pieces,
      sources: () => [],
      write: async () => {},
      clock: new FakeClock(),
      random: () => 0.5,
    }
    expect(() => new Transfer({ ...base, pieces: content.pieces.slice(1) })).toThrow(RangeError)
    expect(() => new Transfer({ ...base, have: [4] })).toThrow(RangeError)
    expect(() => new Transfer({ ...base, pieceSize: 0 })).toThrow(RangeError)
    await expect(new Transfer(base).need(-1)).rejects.toThrow(RangeError)
    await expect(new Transfer(base).need(4)).rejects.toThrow(RangeError)
  })
})

describe('Transfer: playback priority', () => {
  it('seek: after setPlayhead(80%), need(i) there resolves before most earlier pieces are fetched', async () => {
    const content = makeContent(100, PIECE)
    const t = setup({ content, holders: { A: { latencyMs: 20, msPerPiece: 20 } } })
    t.transfer.start()
    await t.runUntil(() => t.writes.size >= 5, 2_000)
    const seekAt = 80
    t.transfer.setPlayhead(seekAt * PIECE + 10)
    let resolvedWith: number | undefined
    void t.transfer.need(85).then(() => (resolvedWith = t.writes.size))
    await t.runUntil(() => resolvedWith !== undefined, 5_000)
    expect(resolvedWith).toBeDefined()
    expect(resolvedWith!).toBeLessThan(30)
    await t.finish()
    expect(t.transfer.state).toBe('done')
    t.expectIntact()
    // Pieces from the playhead to the end came before the ones left behind it (wrap-around).
    const at = (i: number) => t.writtenAt.get(i)!
    expect(Math.max(...[80, 85, 90, 99].map(at))).toBeLessThan(Math.min(...[40, 50, 60].map(at)))
  })

  it('need() fetches a piece with top priority', async () => {
    const content = makeContent(64, PIECE)
    const t = setup({ content, holders: { A: { latencyMs: 20, msPerPiece: 20 } } })
    t.transfer.start()
    let resolvedAt: number | undefined
    void t.transfer.need(50).then(() => (resolvedAt = t.clock.now()))
    await t.runUntil(() => resolvedAt !== undefined, 5_000)
    expect(t.writes.size).toBeLessThan(15)
    expect(t.writes.has(50)).toBe(true)
  })

  it('a slow holder beside a fast one: the fast one serves most, playback pieces never wait on the slow one', async () => {
    const t = setup({
      content: makeContent(64, PIECE),
      holders: { F: { latencyMs: 20, msPerPiece: 20 }, S: { latencyMs: 20, msPerPiece: 3_000 } },
    })
    t.transfer.start()
    const ready: number[] = []
    for (const i of [0, 1, 2, 3]) void t.transfer.need(i).then(() => ready.push(t.clock.now()))
    await t.finish()
    expect(t.transfer.state).toBe('done')
    t.expectIntact()
    expect(ready.length).toBe(4)
    // The slow holder was given some of them (both unmeasured at first); they were duplicated on
    // the fast one long before the slow one answered, or the end of the transfer.
    expect(t.holders.S!.requests.some((r) => r.index < 4)).toBe(true)
    expect(Math.max(...ready) - t.startedAt).toBeLessThan(1_000)
    expect(t.result.doneAt! - t.startedAt).toBeGreaterThan(1_000)
    expect(t.result.doneAt! - t.startedAt).toBeLessThan(3_000)
    expect(t.transfer.progress.perPeer.F).toBeGreaterThan(0.8 * t.content.size)
  })

  it('a measured slow holder takes the pieces needed last, from the end of the file', async () => {
    const content = makeContent(64, PIECE)
    const t = setup({
      content,
      config: { endgame: false },
      holders: { F: { latencyMs: 20, msPerPiece: 100 }, S: { latencyMs: 20, msPerPiece: 1_000 } },
    })
    t.transfer.start()
    await t.finish()
    expect(t.transfer.state).toBe('done')
    t.expectIntact()
    const s = t.holders.S!
    const firstAnswer = Math.min(...s.requests.map((r) => r.answeredAt ?? Infinity))
    const later = s.requests.filter((r) => r.at >= firstAnswer)
    expect(later.length).toBeGreaterThan(1)
    for (const r of later) expect(r.index).toBeGreaterThanOrEqual(48)
    expect(t.transfer.progress.perPeer.S).toBeGreaterThan(0)
  })
})

describe('Transfer: per-peer windows and timeouts', () => {
  it.each([
    { max: 8, fastAtLeast: 8 },
    { max: 3, fastAtLeast: 3 },
  ])(
    'sizes each window by measured speed, within maxInFlightPerPeer = $max',
    async ({ max, fastAtLeast }) => {
      const content = makeContent(64, PIECE)
      const fast = setup({
        content,
        config: { maxInFlightPerPeer: max },
        holders: { F: { latencyMs: 50, msPerPiece: 5 } },
      })
      fast.transfer.start()
      await fast.finish()
      expect(fast.holders.F!.maxOutstanding).toBe(fastAtLeast)
      const slow = setup({
        content: makeContent(6, PIECE),
        config: { maxInFlightPerPeer: max },
        holders: { S: { latencyMs: 50, msPerPiece: 2_500 } },
      })
      slow.transfer.start()
      await slow.finish()
      expect(slow.transfer.state).toBe('done')
      // A peer delivering well under a piece per TARGET_QUEUE_MS keeps a window of one after measuring.
      const s = slow.holders.S!
      const afterFirst = s.requests.filter((r) => r.at >= s.requests[0]!.answeredAt!)
      for (const r of afterFirst)
        expect(afterFirst.filter((o) => o.at <= r.at && (o.answeredAt ?? Infinity) > r.at).length).toBe(1)
    },
  )

  it("sizes a fast holder's window to keep its pipe full across its round trip and link buffer", async () => {
    // 256 KiB pieces every 10 ms (~26 MB/s): the piece in service, its link's 1 MiB buffer and
    // what it sends in a round trip plus turnaround must all be asked for ahead.
    const outstanding = async (rttMs: number) => {
      const t = setup({
        content: makeContent(48, 256 * 1024),
        config: { maxInFlightPerPeer: 64, endgame: false },
        holders: { F: { latencyMs: 5, msPerPiece: 10, rttMs } },
      })
      t.transfer.start()
      await t.finish()
      expect(t.transfer.state).toBe('done')
      return t.holders.F!.maxOutstanding
    }
    const near = await outstanding(0)
    const far = await outstanding(200)
    // (256 KiB + 26.2 kB/ms × 150 ms + 1 MiB) / 256 KiB = 20; with 200 ms more, 40.
    expect(near).toBeGreaterThanOrEqual(18)
    expect(near).toBeLessThanOrEqual(22)
    expect(far).toBeGreaterThanOrEqual(37)
    expect(far).toBeLessThanOrEqual(43)
  })

  it('waits for a slow holder that is all there is, without abandoning its requests', async () => {
    const t = setup({ content: makeContent(6, PIECE), holders: { S: { latencyMs: 50, msPerPiece: 2_000 } } })
    t.transfer.start()
    await t.finish()
    expect(t.transfer.state).toBe('done')
    t.expectIntact()
    expect(t.holders.S!.requests.length).toBe(6)
    expect(t.holders.S!.requests.every((r) => r.abortedAt === undefined)).toBe(true)
  })

  it('uses an answer that arrives after its deadline if the piece is still missing', async () => {
    const t = setup({
      content: makeContent(2, PIECE),
      holders: { S: { delayMs: (i) => (i === 0 ? 9_000 : 10), ignoreAbort: true } },
    })
    t.transfer.start()
    await t.finish()
    expect(t.transfer.state).toBe('done')
    t.expectIntact()
    const first = t.holders.S!.requests.filter((r) => r.index === 0)
    // Re-asked at the deadline, but the first (late) answer is the one that is written.
    expect(first.map((r) => r.at - t.startedAt)).toEqual([0, 8_000])
    expect(t.writtenAt.get(0)! - t.startedAt).toBe(9_000)
  })

  it.each([{ ignoreAbort: false }, { ignoreAbort: true }])(
    'a silent holder (ignoreAbort: $ignoreAbort): requests time out, are re-issued elsewhere, its window shrinks to one',
    async ({ ignoreAbort }) => {
      const content = makeContent(30, PIECE)
      const t = setup({
        content,
        config: { endgame: false },
        holders: { A: { latencyMs: 10, msPerPiece: 500 }, S: { silent: () => true, ignoreAbort } },
      })
      t.transfer.start()
      await t.finish()
      expect(t.transfer.state).toBe('done')
      t.expectIntact()
      const s = t.holders.S!.requests
      expect(s.length).toBeGreaterThanOrEqual(3)
      // Every request to the silent holder was given up, and its pieces came from A.
      expect(s.every((r) => r.abortedAt !== undefined)).toBe(true)
      for (const r of s) expect(t.writes.has(r.index)).toBe(true)
      expect(t.transfer.progress.perPeer).toEqual({ A: content.size })
      // Timed out exactly at the deadline (S never measured: the configured pieceTimeoutMs).
      expect(s.some((r) => r.abortedAt! - r.at === 8_000)).toBe(true)
      expect(s.every((r) => r.abortedAt! - r.at <= 8_000)).toBe(true)
      // After its first timeout, S never has more than one request at a time.
      const firstTimeout = Math.min(
        ...s.filter((r) => r.abortedAt! - r.at === 8_000).map((r) => r.abortedAt!),
      )
      const later = s.filter((r) => r.at >= firstTimeout)
      for (const r of later) expect(later.filter((o) => o.at <= r.at && o.abortedAt! > r.at).length).toBe(1)
    },
  )

  it('abandons a measured fast peer that goes silent long before pieceTimeoutMs (adaptive deadline)', async () => {
    const content = makeContent(40, PIECE)
    const t = setup({
      content,
      config: { endgame: false },
      holders: {
        M: { latencyMs: 5, msPerPiece: 10, silent: (_i, nth) => nth >= 6 },
        A: { latencyMs: 5, msPerPiece: 100 },
      },
    })
    t.transfer.start()
    await t.finish()
    expect(t.transfer.state).toBe('done')
    t.expectIntact()
    const silent = t.holders.M!.requests.slice(6)
    expect(silent.length).toBeGreaterThan(0)
    for (const r of silent) expect(r.abortedAt! - r.at).toBeLessThan(4_000)
  })

  it('a single silent holder: fails with TIMEOUT within a bounded time', async () => {
    const t = setup({ holders: { S: { silent: () => true } } })
    t.transfer.start()
    await t.finish(120_000)
    expect(t.transfer.state).toBe('failed')
    expect(t.failure?.code).toBe('TIMEOUT')
    expect(t.failure?.message).toMatch(/stopped answering/)
    // Two deadlines to call it unresponsive, then the no-source grace period.
    expect(t.result.failedAt! - t.startedAt).toBeLessThanOrEqual(2 * 8_000 + 15_000 + 1_000)
    expect(t.writes.size).toBe(0)
  })

  it('a sole holder that goes quiet while its link repairs itself is waited for, and the download completes', async () => {
    // Silent for 40 s (longer than two deadlines plus the no-source grace), then answering again.
    let quietUntil = Infinity
    let clockNow = () => 0
    const t = setup({
      holders: {
        S: { latencyMs: 5, msPerPiece: 10, silent: (_i, nth) => nth >= 4 && clockNow() < quietUntil },
      },
    })
    quietUntil = t.startedAt + 40_000
    clockNow = () => t.clock.now()
    const source = t.holders.S!
    t.transfer.start()
    await t.runUntil(() => t.writes.size >= 4, 1_000)
    source.repairingNow = true
    await t.runUntil(() => t.clock.now() >= quietUntil, 60_000, 250)
    expect(t.transfer.state).toBe('running')
    source.repairingNow = false
    await t.finish()
    expect(t.transfer.state).toBe('done')
    t.expectIntact()
  })

  it('a repair that ends with the link closing fails the download within the no-source grace', async () => {
    const t = setup({ holders: { S: { latencyMs: 5, msPerPiece: 10, silent: (_i, nth) => nth >= 4 } } })
    const source = t.holders.S!
    t.transfer.start()
    await t.runUntil(() => t.writes.size >= 4, 1_000)
    source.repairingNow = true
    await t.runUntil(() => t.clock.now() >= t.startedAt + 30_000, 60_000, 250)
    expect(t.transfer.state).toBe('running')
    source.repairingNow = false
    source.vanish()
    const gaveUpAt = t.clock.now()
    await t.finish(120_000)
    expect(t.transfer.state).toBe('failed')
    expect(t.result.failedAt! - gaveUpAt).toBeLessThanOrEqual(15_000 + 8_000 + 1_000)
  })
})

describe('Transfer: holders that leave', () => {
  it.each([{ staysListed: false }, { staysListed: true }])(
    'a holder whose link closes mid-transfer costs only its outstanding pieces (still listed: $staysListed)',
    async ({ staysListed }) => {
      const content = makeContent(40, PIECE)
      const t = setup({
        content,
        // Windows of 8: pieces remain unrequested when B vanishes (no endgame copies on A yet).
        config: { maxInFlightPerPeer: 8 },
        holders: { A: { latencyMs: 20, msPerPiece: 50 }, B: { latencyMs: 20, msPerPiece: 50 } },
      })
      t.transfer.start()
      await t.runUntil(() => t.writes.size >= 10, 5_000)
      const b = t.holders.B!
      const lost = b.outstanding.map((r) => r.index)
      expect(lost.length).toBeGreaterThan(0)
      const vanishedAt = t.clock.now()
      const askedBefore = b.requests.length
      b.vanish()
      if (!staysListed) t.listed.splice(t.listed.indexOf(b), 1)
      await t.finish()
      expect(t.transfer.state).toBe('done')
      t.expectIntact()
      for (const i of lost) expect(t.writes.has(i)).toBe(true)
      expect(t.holders.A!.requests.filter((r) => r.at >= vanishedAt).map((r) => r.index)).toEqual(
        expect.arrayContaining(lost),
      )
      // Still listed, it is only re-tried after a back-off, never hammered.
      expect(b.requests.length - askedBefore).toBeLessThanOrEqual(staysListed ? 3 : 0)
      expect(t.transfer.progress.perPeer.B).toBeGreaterThan(0)
    },
  )

  it('a holder that silently leaves sources(): its requests are aborted and re-issued at the next pass', async () => {
    const content = makeContent(40, PIECE)
    const t = setup({
      content,
      holders: {
        A: { latencyMs: 20, msPerPiece: 50 },
        B: { latencyMs: 20, msPerPiece: 50, ignoreAbort: true },
      },
    })
    t.transfer.start()
    await t.runUntil(() => t.writes.size >= 10, 5_000)
    const b = t.holders.B!
    const stranded = b.outstanding
    expect(stranded.length).toBeGreaterThan(0)
    const leftAt = t.clock.now()
    t.listed.splice(t.listed.indexOf(b), 1)
    await t.clock.advance(1_000)
    // The periodic pass noticed (no sourcesChanged() call needed).
    for (const r of stranded) expect(r.abortedAt! - leftAt).toBeLessThanOrEqual(1_000)
    await t.finish()
    expect(t.transfer.state).toBe('done')
    t.expectIntact()
  })

  it.each([{ staysListed: false }, { staysListed: true }])(
    'every holder gone: fails with PEER_GONE after noSourceTimeoutMs (still listed: $staysListed)',
    async ({ staysListed }) => {
      const t = setup({ holders: { A: { latencyMs: 20, msPerPiece: 50 } } })
      t.transfer.start()
      await t.runUntil(() => t.writes.size >= 5, 5_000)
      const goneAt = t.clock.now()
      const askedBefore = t.holders.A!.requests.length
      t.holders.A!.vanish()
      if (!staysListed) t.listed.length = 0
      const needed = t.transfer.need(31)
      needed.catch(() => {})
      await t.finish()
      expect(t.transfer.state).toBe('failed')
      expect(t.failure).toBeInstanceOf(DcmxError)
      expect(t.failure?.code).toBe('PEER_GONE')
      expect(t.failure?.message).toMatch(/No peer that holds this track is reachable/)
      expect(t.result.failedAt! - goneAt).toBe(15_000)
      await expect(needed).rejects.toBe(t.failure)
      // A closed link still listed is re-tried with growing back-off, not hammered.
      expect(t.holders.A!.requests.length - askedBefore).toBeLessThanOrEqual(staysListed ? 5 : 0)
    },
  )

  it('no holder at all: fails with a clear message within noSourceTimeoutMs', async () => {
    const t = setup({ config: { noSourceTimeoutMs: 5_000 } })
    const needed = t.transfer.need(0)
    needed.catch(() => {})
    t.transfer.start()
    await t.finish()
    expect(t.failure?.code).toBe('PEER_GONE')
    expect(t.failure?.message).toMatch(/No peer that holds this track is reachable/)
    expect(t.result.failedAt! - t.startedAt).toBeLessThanOrEqual(5_000)
    await expect(needed).rejects.toBe(t.failure)
    expect(t.writeLog).toEqual([])
    expect(t.clock.pending).toBe(0)
  })

  it('a holder that appears before the deadline saves the transfer', async () => {
    const t = setup({ config: { noSourceTimeoutMs: 5_000 } })
    t.transfer.start()
    await t.clock.advance(4_000)
    t.listed.push(new FakeSource('late', t.content, t.clock, { latencyMs: 20, msPerPiece: 10 }))
    t.transfer.sourcesChanged()
    await t.finish()
    expect(t.transfer.state).toBe('done')
    t.expectIntact()
  })
})

describe('Transfer: lying holders', () => {
  it('a holder lying about every piece is counted, banned at the limit, and its bytes never written', async () => {
    const t = setup({
      holders: {
        L: { latencyMs: 10, msPerPiece: 10, lie: () => true },
        H: { latencyMs: 10, msPerPiece: 30 },
      },
    })
    t.transfer.start()
    await t.finish()
    expect(t.transfer.state).toBe('done')
    t.expectIntact()
    expect(t.badReports).toEqual([
      ['L', false],
      ['L', false],
      ['L', true],
    ])
    const bannedAt = t.banTimes.get('L')!
    expect(t.holders.L!.requests.filter((r) => r.at > bannedAt)).toEqual([])
    expect(t.holders.L!.outstanding).toEqual([])
    expect(t.transfer.progress.banned).toEqual(['L'])
    expect(t.transfer.progress.perPeer).toEqual({ H: t.content.size })
  })

  it('a holder lying about some pieces: each lie is reported and that piece re-fetched elsewhere', async () => {
    const t = setup({
      config: { badPieceLimit: 100 },
      holders: {
        L: { latencyMs: 10, msPerPiece: 20, lie: (i) => i % 5 === 0 },
        H: { latencyMs: 10, msPerPiece: 20 },
      },
    })
    t.transfer.start()
    await t.finish()
    expect(t.transfer.state).toBe('done')
    t.expectIntact()
    const lies = t.holders.L!.answered.filter((i) => i % 5 === 0)
    expect(lies.length).toBeGreaterThan(0)
    // A piece it lied about is asked of the other holder, never of it again.
    const asked = t.holders.L!.requests.map((r) => r.index)
    expect(new Set(asked).size).toBe(asked.length)
    expect(t.badReports).toEqual(lies.map(() => ['L', false]))
    expect(t.transfer.progress.perPeer.L).toBeGreaterThan(0)
  })

  it('pieces of the wrong length (one byte over) are bad pieces, rejected before hashing', async () => {
    const hashed: number[] = []
    const t = setup({
      config: { badPieceLimit: 100 },
      sha256: () => (data) => {
        hashed.push(data.length)
        return syncSha256(data)
      },
      holders: {
        P: { latencyMs: 10, msPerPiece: 10, pad: () => true },
        H: { latencyMs: 10, msPerPiece: 10 },
      },
    })
    t.transfer.start()
    await t.finish()
    expect(t.transfer.state).toBe('done')
    t.expectIntact()
    const padded = t.holders.P!.answered.length
    expect(padded).toBeGreaterThan(0)
    expect(t.badReports).toEqual(Array.from({ length: padded }, () => ['P', false]))
    // The short last piece is checked against its own length, not pieceSize.
    expect(t.writes.get(31)!.length).toBe(PIECE - 100)
    expect(hashed.filter((n) => n !== PIECE && n !== PIECE - 100)).toEqual([])
  })

  it('every holder lies: all are banned and the transfer fails clearly', async () => {
    const t = setup({
      config: { noSourceTimeoutMs: 5_000 },
      holders: {
        L1: { latencyMs: 10, msPerPiece: 10, lie: () => true },
        L2: { latencyMs: 10, msPerPiece: 10, lie: () => true },
      },
    })
    t.transfer.start()
    await t.finish()
    expect(t.transfer.state).toBe('failed')
    expect(
      t.badReports
        .filter(([, banned]) => banned)
        .map(([id]) => id)
        .sort(),
    ).toEqual(['L1', 'L2'])
    expect(t.badReports.length).toBe(6)
    expect(t.failure?.code).toBe('HASH_MISMATCH')
    expect(t.failure?.message).toMatch(/All 2 peers .* corrupted data .* blocked/)
    expect(t.result.failedAt! - Math.max(...t.banTimes.values())).toBeLessThanOrEqual(5_000)
    expect(t.writeLog).toEqual([])
  })
})

describe('Transfer: endgame', () => {
  it.each([{ endgame: true }, { endgame: false }])(
    "endgame $endgame: a slow holder's last pieces are duplicated on the idle one (first answer wins, loser aborted), or else waited for",
    async ({ endgame }) => {
      const content = makeContent(24, PIECE)
      // A window of 8 leaves some of the last 12 pieces unrequested when the slow holder joins.
      const t = setup({
        content,
        config: { endgame, maxInFlightPerPeer: 8 },
        holders: { A: { latencyMs: 10, msPerPiece: 10 } },
      })
      t.transfer.start()
      await t.runUntil(() => t.writes.size >= 12, 5_000)
      // A slow holder joins late and takes a couple of the remaining (non-urgent) pieces.
      const slow = new FakeSource('S', content, t.clock, { latencyMs: 10, msPerPiece: 3_000 })
      t.listed.push(slow)
      t.transfer.sourcesChanged()
      const joinedAt = t.clock.now()
      await t.finish()
      expect(t.transfer.state).toBe('done')
      t.expectIntact()
      expect(slow.requests.length).toBeGreaterThan(0)
      if (endgame) {
        expect(t.result.doneAt! - joinedAt).toBeLessThan(1_000)
        expect(slow.requests.every((r) => r.abortedAt !== undefined && r.answeredAt === undefined)).toBe(true)
        expect(t.transfer.progress.perPeer).toEqual({ A: content.size })
      } else {
        expect(t.result.doneAt! - joinedAt).toBeGreaterThanOrEqual(3_000)
      }
    },
  )

  it("copies the tail of a busy holder's queue, not the pieces holders are sending: no bytes are sent twice", async () => {
    const content = makeContent(48, PIECE)
    const t = setup({
      content,
      config: { maxInFlightPerPeer: 8 },
      holders: {
        A: { latencyMs: 5, msPerPiece: 10 },
        B: { latencyMs: 5, msPerPiece: 10 },
        C: { latencyMs: 5, msPerPiece: 30 },
      },
    })
    t.transfer.start()
    await t.finish()
    expect(t.transfer.state).toBe('done')
    t.expectIntact()
    const requests = Object.values(t.holders).flatMap((h) => h.requests)
    const began = (r: (typeof requests)[number]) =>
      r.servingFrom !== undefined && r.abortedAt! > r.servingFrom
    // Copies were made (the slow holder's queue was taken over), each cancelled before its holder began it.
    expect(requests.filter((r) => r.abortedAt !== undefined).length).toBeGreaterThan(0)
    expect(requests.filter((r) => r.abortedAt !== undefined && began(r)).map((r) => r.index)).toEqual([])
    expect(sum(Object.values(t.transfer.progress.perPeer))).toBe(content.size)
  })

  it('copies a request at the head of a queue once it is overdue: a holder that stalls mid-download', async () => {
    const content = makeContent(16, PIECE)
    const t = setup({
      content,
      config: { maxInFlightPerPeer: 4 },
      holders: {
        A: { delayMs: () => 10 },
        // S answers its first piece, then never again.
        S: { delayMs: (_index, nth) => (nth === 0 ? 10 : 60_000) },
      },
    })
    t.transfer.start()
    await t.finish()
    expect(t.transfer.state).toBe('done')
    t.expectIntact()
    // Well before S's requests time out (8 s), A has copied and delivered the pieces S sat on.
    expect(t.result.doneAt! - t.startedAt).toBeLessThan(3_000)
  })

  it('a copy that arrives while a bad one is being verified is written when the store rejects the first', async () => {
    const content = makeContent(3, PIECE, 100)
    const t = setup({
      content,
      config: { badPieceLimit: 100 },
      // The liar answers first; verifying (in the store) takes long enough for the honest copy to arrive.
      holders: { L: { delayMs: () => 10, lie: () => true }, H: { delayMs: () => 20 } },
      sha256: (clock) => (data) =>
        new Promise((resolve) => clock.setTimeout(() => resolve(syncSha256(data)), 50)),
    })
    t.transfer.start()
    await t.finish()
    expect(t.transfer.state).toBe('done')
    t.expectIntact()
    expect(t.badReports.length).toBeGreaterThan(0)
    // Every piece the liar answered was also answered by H, whose copy was kept, not asked again.
    const honest = t.holders.H!.requests.map((r) => r.index)
    expect(new Set(honest).size).toBe(honest.length)
    expect(t.transfer.progress.perPeer).toEqual({ H: content.size })
  })

  it('two answers for the same piece: written once, the later one dropped', async () => {
    const content = makeContent(3, PIECE, 100)
    const t = setup({
      content,
      holders: { A: { delayMs: () => 10 }, B: { delayMs: () => 10 } },
      // Hashing takes time, so both answers are in before the first is verified; the short last
      // piece takes longest, so the transfer is still running when the duplicates are checked.
      sha256: (clock) => (data) =>
        new Promise((resolve) =>
          clock.setTimeout(() => resolve(syncSha256(data)), data.length < PIECE ? 50 : 5),
        ),
    })
    t.transfer.start()
    await t.finish()
    expect(t.transfer.state).toBe('done')
    t.expectIntact()
    const a = new Set(t.holders.A!.answered)
    expect(t.holders.B!.answered.some((i) => a.has(i))).toBe(true)
    expect(t.writeLog.length).toBe(3)
    expect(sum(Object.values(t.transfer.progress.perPeer))).toBe(content.size)
  })
})

describe('Transfer: failures and cancel', () => {
  it.each([
    {
      name: 'a DcmxError',
      error: new DcmxError('QUOTA', 'There is not enough storage space left.'),
      code: 'QUOTA',
    },
    { name: 'a QuotaExceededError', error: new DOMException('full', 'QuotaExceededError'), code: 'QUOTA' },
    { name: 'any other error', error: new Error('disk on fire'), code: 'UNSUPPORTED' },
  ])('write() throwing $name fails the transfer with it', async ({ error, code }) => {
    let calls = 0
    const t = setup({
      holders: { A: { latencyMs: 20, msPerPiece: 10 }, B: { latencyMs: 20, msPerPiece: 10 } },
      write: async () => {
        if (++calls === 5) throw error
      },
    })
    const needs = t.content.pieces.map((_, i) => t.transfer.need(i))
    for (const n of needs) n.catch(() => {})
    t.transfer.start()
    await t.finish()
    expect(t.transfer.state).toBe('failed')
    expect(t.failure?.code).toBe(code)
    if (error instanceof DcmxError) expect(t.failure).toBe(error)
    else expect(t.failure?.cause).toBe(error)
    // The failed piece is not held; need() for it, and for every other missing piece, rejects with the error.
    const settled = await Promise.allSettled(needs)
    settled.forEach((s, i) =>
      expect(s).toEqual(
        t.writes.has(i)
          ? { status: 'fulfilled', value: undefined }
          : { status: 'rejected', reason: t.failure },
      ),
    )
    expect(t.writes.size).toBeLessThan(t.content.pieces.length)
    expect(t.writes.has(t.writeLog[4]!)).toBe(false)
    // Nothing left running: every request aborted, none made afterwards, no timers.
    for (const h of Object.values(t.holders)) {
      expect(h.outstanding).toEqual([])
      expect(h.requests.filter((r) => r.at > t.result.failedAt!)).toEqual([])
    }
    const requests = sum(Object.values(t.holders).map((h) => h.requests.length))
    await t.clock.advance(30_000)
    expect(sum(Object.values(t.holders).map((h) => h.requests.length))).toBe(requests)
    expect(t.clock.pending).toBe(0)
  })

  it('cancel() aborts every request, rejects need() with ABORTED and emits no failure', async () => {
    const t = setup({
      holders: { A: { latencyMs: 20, msPerPiece: 50 }, B: { latencyMs: 20, msPerPiece: 50 } },
    })
    t.transfer.start()
    await t.runUntil(() => t.writes.size >= 5, 5_000)
    const needed = t.transfer.need(31)
    needed.catch(() => {})
    const inFlight = Object.values(t.holders).flatMap((h) => h.outstanding)
    expect(inFlight.length).toBeGreaterThan(0)
    t.transfer.cancel()
    expect(t.transfer.state).toBe('cancelled')
    for (const r of inFlight) expect(r.signal.aborted).toBe(true)
    await expect(needed).rejects.toMatchObject({ code: 'ABORTED' })
    await expect(t.transfer.need(30)).rejects.toMatchObject({ code: 'ABORTED' })
    const written = t.writes.size
    await t.clock.advance(30_000)
    expect(t.writes.size).toBe(written)
    expect(t.failure).toBeUndefined()
    expect(t.clock.pending).toBe(0)
  })
})

/** A request for piece `index` sent to `source` now, before any transfer exists. */
function sentEarly(source: FakeSource, index: number, clock: FakeClock): EarlyRequest {
  const controller = new AbortController()
  const bytes = source.fetchPiece(index, controller.signal)
  bytes.catch(() => {})
  return { index, peerId: source.peerId, bytes, controller, startedAt: clock.now() }
}

describe('Transfer: requests sent before it was made', () => {
  it('takes over an early request: the piece is not asked for again, and its bytes are verified and written', async () => {
    const t = setup({
      holders: { A: { latencyMs: 20, msPerPiece: 10 } },
      early: (h, clock) => [sentEarly(h.A!, 0, clock)],
    })
    t.transfer.start()
    await t.finish()
    expect(t.transfer.state).toBe('done')
    t.expectIntact()
    expect(t.holders.A!.requests.filter((r) => r.index === 0)).toHaveLength(1)
    expect(t.holders.A!.requests[0]!.signal.aborted).toBe(false)
    expect(t.transfer.progress.perPeer).toEqual({ A: t.content.size })
  })

  it('an early piece that fails its hash counts against its peer, and the piece is fetched again', async () => {
    const t = setup({
      holders: {
        A: { latencyMs: 20, msPerPiece: 10, lie: (i) => i === 0 },
        B: { latencyMs: 20, msPerPiece: 10 },
      },
      early: (h, clock) => [sentEarly(h.A!, 0, clock)],
    })
    t.transfer.start()
    await t.finish()
    expect(t.transfer.state).toBe('done')
    t.expectIntact()
    expect(t.badReports).toContainEqual(['A', false])
    // The early copy was the one judged: A was not asked for the piece a second time.
    expect(t.holders.A!.requests.filter((r) => r.index === 0)).toHaveLength(1)
    expect(t.writes.get(0)).toEqual(t.content.piece(0))
  })

  it('an early request it has no use for is aborted: its peer is no source, or the piece is held', async () => {
    const content = makeContent(8, PIECE, 0)
    const clock = new FakeClock()
    const stranger = new FakeSource('X', content, clock, { latencyMs: 1_000 })
    const notListed = setup({
      content,
      holders: { A: { latencyMs: 20 } },
      early: () => [sentEarly(stranger, 0, clock)],
    })
    notListed.transfer.start()
    expect(stranger.requests[0]!.signal.aborted).toBe(true)
    await notListed.finish()
    expect(notListed.transfer.state).toBe('done')

    const held = setup({
      content,
      have: [0],
      holders: { A: { latencyMs: 1_000 } },
      early: (h, c) => [sentEarly(h.A!, 0, c)],
    })
    held.transfer.start()
    expect(held.holders.A!.requests[0]!.signal.aborted).toBe(true)
    await held.finish()
    expect(held.transfer.state).toBe('done')
    expect(held.writes.has(0)).toBe(false)
  })

  it('an early request that times out is given up like any other, and another peer serves the piece', async () => {
    const t = setup({
      holders: { A: { silent: (i, nth) => nth === 0 }, B: { latencyMs: 20, msPerPiece: 10 } },
      config: { pieceTimeoutMs: 2_000 },
      early: (h, clock) => [sentEarly(h.A!, 0, clock)],
    })
    t.transfer.start()
    await t.finish()
    expect(t.transfer.state).toBe('done')
    t.expectIntact()
    expect(t.holders.A!.requests[0]!.signal.aborted).toBe(true)
    expect(t.holders.B!.requests.some((r) => r.index === 0)).toBe(true)
  })
})
