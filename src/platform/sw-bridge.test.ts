import { afterEach, describe, expect, it, vi } from 'vitest'
import type { ContentReader } from '../core/content-reader.ts'
import { DcmxError } from '../core/errors.ts'
import { ask, pageSource, type PageTarget } from '../sw/page-source.ts'
import {
  CONTENT_CHANNEL,
  describeRequest,
  failureReply,
  openRequest,
  readRequest,
  type ContentReply,
} from '../sw/protocol.ts'
import {
  answerContentRequest,
  createUpdateOffer,
  type ReplyPort,
  type UpdateDeps,
  type UpdateState,
} from './sw-bridge.ts'

// The worker's side (page-source.ts) and the page's side (sw-bridge.ts) talk over real MessageChannels.

const HASH = 'cd'.repeat(32)
const FILE = Uint8Array.from({ length: 300 }, (_, i) => i)

/** A reader over FILE; `read` can be replaced per test. */
function reader(read?: ContentReader['read']): ContentReader {
  return {
    describe: async (hash) => (hash === HASH ? { size: FILE.length, mime: 'audio/wav' } : undefined),
    read: read ?? (async (_hash, start, end) => FILE.subarray(start, end)),
  }
}

/** A window client whose page answers with the bridge, as `client.postMessage(msg, [port])` would deliver it. */
function page(r: ContentReader): PageTarget {
  return {
    postMessage(message, transfer) {
      void answerContentRequest(r, structuredClone(message), transfer[0] as unknown as ReplyPort)
    },
  }
}

afterEach(() => vi.restoreAllMocks())

describe('the content channel, worker to page and back', () => {
  it('describes a known track and says NOT_FOUND for an unknown one', async () => {
    const src = pageSource(page(reader()))
    expect(await src.describe(HASH)).toEqual({ ok: true, value: { size: 300, mime: 'audio/wav' } })
    expect(await src.describe('ef'.repeat(32))).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } })
  })

  it('reads a range as a transferred ArrayBuffer, leaving the reader its own bytes', async () => {
    const result = await pageSource(page(reader())).read(HASH, 100, 200)
    expect(result.ok && new Uint8Array(result.value)).toEqual(FILE.slice(100, 200))
    // The reader returned a view of FILE; the bridge transferred a copy, so FILE is intact.
    expect(FILE.byteLength).toBe(300)
  })

  it.each(['PEER_GONE', 'TIMEOUT', 'NOT_FOUND'] as const)('passes a reader’s %s through', async (code) => {
    const r = reader(() => Promise.reject(new DcmxError(code, 'No peer that has this track is reachable.')))
    expect(await pageSource(page(r)).read(HASH, 0, 10)).toEqual({
      ok: false,
      error: { code, message: 'No peer that has this track is reachable.' },
    })
  })

  it('reports any other reader failure as FAILED', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    const r = reader(() => Promise.reject(new DcmxError('QUOTA', 'disk full')))
    expect(await pageSource(page(r)).read(HASH, 0, 10)).toMatchObject({
      ok: false,
      error: { code: 'FAILED' },
    })
  })

  it('aborts the page’s read when the worker abandons the request', async () => {
    let seen: AbortSignal | undefined
    const r = reader((_h, _s, _e, signal) => {
      seen = signal
      return new Promise((_, reject) =>
        signal?.addEventListener('abort', () => reject(new DcmxError('ABORTED', 'x'))),
      )
    })
    const abandon = new AbortController()
    const pending = pageSource(page(r)).read(HASH, 0, 10, abandon.signal)
    await vi.waitFor(() => expect(seen).toBeDefined())
    abandon.abort()
    expect(await pending).toMatchObject({ ok: false, error: { code: 'ABORTED' } })
    await vi.waitFor(() => expect(seen?.aborted).toBe(true))
  })

  it('gives up after its timeout and tells the page', async () => {
    let seen: AbortSignal | undefined
    const r = reader((_h, _s, _e, signal) => {
      seen = signal
      return new Promise(() => {})
    })
    const src = pageSource(page(r), { describeTimeoutMs: 50, readTimeoutMs: 50 })
    expect(await src.read(HASH, 0, 10)).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } })
    await vi.waitFor(() => expect(seen?.aborted).toBe(true))
  })

  it('times out against a page that never answers', async () => {
    const silent: PageTarget = { postMessage: () => {} }
    expect(await ask(silent, describeRequest(HASH), 30)).toMatchObject({
      ok: false,
      error: { code: 'TIMEOUT' },
    })
  })

  it('opens a track in one round trip: its size, type and the bytes asked for that it has', async () => {
    const src = pageSource(page(reader()))
    const opened = await src.open!(HASH, 100, 200)
    expect(opened.ok && { ...opened.value, data: new Uint8Array(opened.value.data) }).toEqual({
      size: 300,
      mime: 'audio/wav',
      data: FILE.slice(100, 200),
    })
    // Past the end: what is there, then nothing (the size says why).
    const tail = await src.open!(HASH, 250, 400)
    expect(tail.ok && new Uint8Array(tail.value.data)).toEqual(FILE.slice(250, 300))
    const beyond = await src.open!(HASH, 300, 400)
    expect(beyond.ok && [beyond.value.size, beyond.value.data.byteLength]).toEqual([300, 0])
    expect(await src.open!('ef'.repeat(32), 0, 10)).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } })
  })

  it('refuses an open whose bytes do not fit the size and range it names', async () => {
    const liar: PageTarget = {
      postMessage(_message, transfer) {
        const port = transfer[0] as MessagePort
        port.postMessage({ type: 'opened', size: 300, mime: 'audio/wav', data: new ArrayBuffer(99) })
      },
    }
    expect(await pageSource(liar).open!(HASH, 100, 200)).toMatchObject({
      ok: false,
      error: { code: 'FAILED', message: 'the page opened 99 bytes for a 100-byte range' },
    })
  })

  it('hears BAD_REQUEST from a page that does not know an open (an older version)', async () => {
    const older: PageTarget = {
      postMessage(message, transfer) {
        const port = transfer[0] as MessagePort
        const known = (message as { type?: string }).type !== 'open'
        port.postMessage(
          known
            ? { type: 'described', size: 300, mime: 'audio/wav' }
            : failureReply('BAD_REQUEST', 'type: Invalid type'),
        )
      },
    }
    expect(await pageSource(older).open!(HASH, 0, 10)).toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST' },
    })
  })

  it('rejects a malformed reply instead of trusting it', async () => {
    const liar: PageTarget = {
      postMessage(_message, transfer) {
        const port = transfer[0] as MessagePort
        port.postMessage({ type: 'described', size: -1, mime: 'audio/wav' })
      },
    }
    expect(await ask(liar, describeRequest(HASH), 1000)).toMatchObject({
      ok: false,
      error: { code: 'FAILED' },
    })
  })
})

describe('answerContentRequest', () => {
  /** Send `data` to the bridge and collect what comes back on the port (undefined if nothing within 100 ms). */
  async function reply(data: unknown, r = reader()): Promise<ContentReply | undefined> {
    const { port1, port2 } = new MessageChannel()
    const got = new Promise<ContentReply | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), 100)
      port1.onmessage = (event) => {
        clearTimeout(timer)
        resolve(event.data as ContentReply)
      }
    })
    await answerContentRequest(r, data, port2 as unknown as ReplyPort)
    const result = await got
    port1.close()
    return result
  }

  it('ignores messages that are not content requests', async () => {
    expect(await reply({ type: 'SKIP_WAITING' })).toBeUndefined()
    expect(await reply('hello')).toBeUndefined()
    expect(await reply(null)).toBeUndefined()
  })

  it.each([
    ['an unknown type', { channel: CONTENT_CHANNEL, v: 1, type: 'write', hash: HASH }],
    ['another version', { ...describeRequest(HASH), v: 2 }],
    ['a bad hash', describeRequest('not-a-hash')],
    ['an empty range', readRequest(HASH, 10, 10)],
    ['a negative start', readRequest(HASH, -1, 10)],
    ['an oversized range', readRequest(HASH, 0, 64 * 1024 * 1024)],
    ['an empty open', openRequest(HASH, 10, 10)],
    ['an oversized open', openRequest(HASH, 0, 64 * 1024 * 1024)],
    ['an open with a fractional start', openRequest(HASH, 0.5, 10)],
    ['extra fields', { ...describeRequest(HASH), path: '/etc/passwd' }],
  ])('answers %s with BAD_REQUEST', async (_name, data) => {
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    expect(await reply(data)).toMatchObject({ type: 'error', code: 'BAD_REQUEST' })
  })
})

/** A page with a service-worker container and workbox-window, as the update offer sees them. */
function updatePage(opts: { controlled: boolean }) {
  const on: { waiting?: () => void; controllerchange?: () => void } = {}
  const page = {
    controlled: opts.controlled,
    waiting: false,
    skipped: 0,
    reloads: 0,
    /** A new version finished installing and waits. */
    install() {
      page.waiting = true
      on.waiting?.()
    },
    /** The waiting version activated (after skipWaiting here or in another tab) and took this page. */
    activate() {
      page.waiting = false
      page.controlled = true
      on.controllerchange?.()
    },
  }
  const deps: UpdateDeps = {
    onWaiting: (listener) => (on.waiting = listener),
    onControllerChange: (listener) => (on.controllerchange = listener),
    hasController: () => page.controlled,
    hasWaiting: () => page.waiting,
    skipWaiting: () => page.skipped++,
    reload: () => page.reloads++,
  }
  return { page, offer: createUpdateOffer(deps) }
}

describe('the update offer', () => {
  it('offers a waiting version and activates it only when the user applies it, then reloads', () => {
    const { page, offer } = updatePage({ controlled: true })
    const seen: UpdateState[] = []
    offer.subscribe((state) => seen.push(state))
    expect(offer.state).toBe('none')

    page.install()
    expect(offer.state).toBe('waiting')
    expect(seen).toEqual(['waiting'])
    // Nothing happens behind the user's back: no skipWaiting, no reload.
    expect(page).toMatchObject({ skipped: 0, reloads: 0 })

    offer.apply()
    offer.apply()
    expect(page).toMatchObject({ skipped: 1, reloads: 0 })
    // The reload waits for the new worker to control the page, so it loads the new version.
    page.activate()
    expect(page.reloads).toBe(1)
  })

  it('does not call the first install taking control of the page an update', () => {
    const { page, offer } = updatePage({ controlled: false })
    page.activate()
    expect(offer.state).toBe('none')
    expect(page.reloads).toBe(0)
  })

  it('says when another tab switched to the new version, and then only reloads', () => {
    const { page, offer } = updatePage({ controlled: true })
    page.install()
    page.activate()
    expect(offer.state).toBe('active')
    expect(page.reloads).toBe(0)
    offer.apply()
    expect(page).toMatchObject({ skipped: 0, reloads: 1 })
  })

  it('stops telling a listener that unsubscribed', () => {
    const { page, offer } = updatePage({ controlled: true })
    const seen: UpdateState[] = []
    const off = offer.subscribe((state) => seen.push(state))
    off()
    page.install()
    expect(seen).toEqual([])
  })
})
