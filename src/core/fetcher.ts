import { concatBytes, toHex } from './bytes.ts'
import type { Track } from './catalog.ts'
import type { Clock, Random } from './clock.ts'
import type { ContentReader } from './content-reader.ts'
import { Emitter } from './emitter.ts'
import { descriptorDigest } from './descriptors.ts'
import { DcmxError } from './errors.ts'
import type { PartialContent, PartialStore } from './partial.ts'
import type { Sha256 } from './records.ts'
import { unpackHashes } from './records.ts'
import type { Unnumbered } from './request-table.ts'
import { Throttle } from './throttle.ts'
import { Transfer, type EarlyRequest, type PieceSource, type TransferConfig } from './transfer.ts'
import { PIECES_PAGE, type TrackMeta, type Wire, type WireOf } from './wire.ts'

/** A linked holder, as the fetcher uses it. */
export interface FetchPeer {
  readonly peerId: string
  /** Piece `index`, `length` bytes long (from the verified list: a sender's header is held to it). */
  fetchPiece(hash: string, index: number, length: number, signal: AbortSignal): Promise<Uint8Array>
  request(msg: Unnumbered<WireOf<'pieces-req'>>): Promise<Wire>
  /** The link's smoothed round trip, once measured. */
  rttMs?(): number | undefined
  /** Its link is restoring a broken path by itself (see Link.repairing). */
  repairing?(): boolean
}

export type FetcherConfig = {
  /** How long to wait for any holder to be linked before telling the user none is reachable. */
  locateTimeoutMs: number
  transfer: Partial<TransferConfig>
}

export const DEFAULT_FETCHER_CONFIG: FetcherConfig = { locateTimeoutMs: 10_000, transfer: {} }

export type DownloadState = 'locating' | 'fetching' | 'verifying' | 'done' | 'failed'

/** A download as the UI shows it. */
export type DownloadView = {
  hash: string
  state: DownloadState
  have: number
  total: number
  bytes: number
  size: number
  /** Peers that served pieces. */
  sources: number
  error?: string
}

export type FetcherDeps = {
  clock: Clock
  random: Random
  sha256: Sha256
  partials: PartialStore
  meta(hash: string): TrackMeta | undefined
  /** Peers announcing the track (self excluded). */
  holders(hash: string): string[]
  /** The descriptor digest a holder's signed record commits to for the track. */
  descriptor(peerId: string, hash: string): string | undefined
  /** The verified link to a peer, if any. */
  linked(peerId: string): FetchPeer | undefined
  /** Ask for links to these peers (through the signaling server). */
  connect(peerIds: string[]): void
  /** Bytes of a blob in the content store (a finished download). */
  readStored(hash: string, start: number, end: number): Promise<Uint8Array>
  /** The bytes are stored and verified: add the track to the library (it is then announced). */
  adopt(track: Track): Promise<void>
  /** A peer served bad data (pieces, or a piece list that produced a bad file). */
  penalise(peerId: string, reason: string, ban: boolean): void
  config?: Partial<FetcherConfig>
}

type PieceList = {
  root: string
  size: number
  pieceSize: number
  pieces: string[]
  mime: string
  metaHash: string
}

/**
 * Fetches tracks from the peers that hold them: finds linked holders (asking for links when none
 * is), takes from each a piece list that must match the descriptor its signed record committed to
 * (anything else is a provable lie), groups holders by that list's root, then runs a Transfer into
 * a partial download that survives reloads, and adopts the verified file into the library. When
 * all holders' lists agree, bytes stream to the player as pieces verify. When signed lists
 * disagree, someone signed a lie that only the whole-file hash can expose: no byte reaches the
 * player until a list has produced a verified file, and the holders whose list failed are banned.
 */
export class Fetcher implements ContentReader {
  readonly events = new Emitter<{ change: [] }>()
  readonly config: FetcherConfig
  #downloads = new Map<string, Download>()
  #interrupted: Promise<Set<string>> | undefined

  constructor(private readonly deps: FetcherDeps) {
    this.config = { ...DEFAULT_FETCHER_CONFIG, ...deps.config }
  }

  get downloads(): DownloadView[] {
    return [...this.#downloads.values()].map((d) => d.view)
  }

  /** Start (or join) the download of a track. */
  fetch(hash: string): Download {
    let download = this.#downloads.get(hash)
    if (!download || download.view.state === 'failed') {
      download = new Download(hash, this.deps, this.config, () => this.events.emit('change'))
      this.#downloads.set(hash, download)
      void download.run()
      this.events.emit('change')
    }
    return download
  }

  /**
   * Resume downloads a reload interrupted, each once its metadata is known again (call again as
   * the network view fills in; the store is listed only the first time).
   */
  async resume(): Promise<void> {
    this.#interrupted ??= this.deps.partials.list().then((hashes) => new Set(hashes))
    const waiting = await this.#interrupted
    for (const hash of waiting) {
      if (!this.deps.meta(hash)) continue
      waiting.delete(hash)
      this.fetch(hash)
    }
  }

  /** A link came or went: downloads re-read their sources. */
  sourcesChanged(): void {
    for (const download of this.#downloads.values()) download.sourcesChanged()
  }

  async describe(hash: string): Promise<{ size: number; mime: string } | undefined> {
    // A list taken from a holder is what that holder signed; metadata is only what someone did.
    const list = this.#downloads.get(hash)?.list
    if (list) return { size: list.size, mime: list.mime }
    const meta = this.deps.meta(hash)
    return meta ? { size: meta.size, mime: meta.mime } : undefined
  }

  async read(hash: string, start: number, end: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (!this.deps.meta(hash)) throw new DcmxError('NOT_FOUND', 'No peer has announced this track.')
    return this.fetch(hash).read(start, end, signal)
  }
}

/**
 * A download's progress is told at most this often (the first piece at once): a view re-reading
 * every download per piece cost the receiver's main thread more than the piece itself.
 */
const PROGRESS_EVENT_MS = 100

/** A partial download opened before the piece list was in, and the sizes it was opened with. */
type EarlyPartial = { size: number; pieceSize: number; opening: Promise<PartialContent> }

/** The first piece asked for before the piece list was in, and the sizes it was asked with. */
type EarlyFirst = { size: number; pieceSize: number; request: EarlyRequest }

/** Whether the early first-piece request fits `list` (same sizes) and went to a holder in its group. */
const fitsList = (first: EarlyFirst, list: PieceList, holders: readonly string[]): boolean =>
  first.size === list.size && first.pieceSize === list.pieceSize && holders.includes(first.request.peerId)

const abortEarly = (request: EarlyRequest): void =>
  request.controller.abort(new DcmxError('ABORTED', 'The early piece request was not needed.'))

/** Close an early partial that will not be used (one that failed to open has nothing to close). */
const closeEarly = (early: EarlyPartial): Promise<void> =>
  early.opening.then((partial) => partial.close()).catch(() => {})

export class Download {
  view: DownloadView
  /** The piece list being fetched (checked against its holders' signed descriptors). */
  list: PieceList | undefined
  #transfer: Transfer | undefined
  #partial: PartialContent | undefined
  #ready: Promise<void>
  #settle!: { resolve: () => void; reject: (e: Error) => void }
  #finished: Promise<void>
  #finish!: { resolve: () => void; reject: (e: Error) => void }
  #progress: Throttle

  constructor(
    readonly hash: string,
    private readonly deps: FetcherDeps,
    private readonly config: FetcherConfig,
    private readonly told: () => void,
  ) {
    this.#progress = new Throttle(deps.clock, PROGRESS_EVENT_MS, told)
    const size = deps.meta(hash)?.size ?? 0
    this.view = { hash, state: 'locating', have: 0, total: 0, bytes: 0, size, sources: 0 }
    this.#ready = new Promise((resolve, reject) => (this.#settle = { resolve, reject }))
    this.#ready.catch(() => {})
    this.#finished = new Promise((resolve, reject) => (this.#finish = { resolve, reject }))
    this.#finished.catch(() => {})
  }

  sourcesChanged(): void {
    this.#transfer?.sourcesChanged()
  }

  /** The state changed: told at once (with the progress a waiting event would have told). */
  #changed(): void {
    this.#progress.stop()
    this.told()
  }

  /** Resolves when the track is stored, verified and in the library. */
  get finished(): Promise<void> {
    return this.#finished
  }

  async run(): Promise<void> {
    const tried = new Set<string>()
    let early = this.#openEarly()
    let first = this.#requestFirstEarly()
    try {
      for (;;) {
        const { list, holders, disputed } = await this.#agree(tried)
        tried.add(list.root)
        // Told to the player (its size and type) only once nobody disputes it.
        if (!disputed) this.list = list
        if (!this.#partial) {
          const opening = early
          early = undefined
          this.#partial = await this.#partialFor(list, opening)
        }
        // Only the first list's transfer may take the early request, if it asked the same holder.
        const taken = first && fitsList(first, list, holders) ? [first.request] : []
        if (first && taken.length === 0) abortEarly(first.request)
        first = undefined
        let verified: boolean
        try {
          verified = await this.#fetch(list, holders, disputed, taken)
        } catch (error) {
          // A disputed group that stalls is left for the next one (nobody is judged for it).
          if (!disputed) throw error
          verified = false
        }
        if (verified) return await this.#adopt(list, holders)
        // The whole file failed its hash: that group's list (or its pieces) lied.
        if (this.#transfer?.state === 'done') {
          for (const peerId of holders) this.deps.penalise(peerId, 'served a file that failed its hash', true)
        }
        await this.#partial.discard()
        this.#partial = undefined
      }
    } catch (error) {
      // Opened early for a list that never came: let go of it (what it holds stays).
      if (early) void closeEarly(early)
      if (first) abortEarly(first.request)
      this.#fail(error instanceof Error ? error : new Error(String(error)))
    }
  }

  /**
   * Start opening the partial download while the holders are asked for their piece lists, with
   * the sizes the track's metadata gives (checked on arrival against a descriptor a holder
   * signed): the store's set-up (a Web Lock, a file sized up front, in the content worker) then
   * overlaps the lists' round trip instead of following it. The verified list still decides.
   */
  #openEarly(): EarlyPartial | undefined {
    const meta = this.deps.meta(this.hash)
    if (!meta) return undefined
    const opening = this.deps.partials.open(this.hash, meta.size, meta.pieceSize)
    // A failure (a full disk, say) is met when the list is in, if the list wants these sizes.
    opening.catch(() => {})
    return { size: meta.size, pieceSize: meta.pieceSize, opening }
  }

  /**
   * Ask the nearest linked holder for the first piece while the piece lists are fetched and the
   * partial download opens, with the length the track's metadata gives: the first bytes a player
   * waits for then arrive a list round trip sooner. The transfer takes the request over only if
   * the verified list has the same sizes and that holder is in its group; the bytes are verified
   * against that list like any piece, and a request nobody takes is aborted (the holder stops).
   */
  #requestFirstEarly(): EarlyFirst | undefined {
    const meta = this.deps.meta(this.hash)
    if (!meta || meta.size === 0) return undefined
    const rtt = (p: FetchPeer) => p.rttMs?.() ?? Infinity
    const peer = this.deps
      .holders(this.hash)
      .map((id) => this.deps.linked(id))
      .filter((p): p is FetchPeer => !!p)
      .sort((a, b) => rtt(a) - rtt(b))[0]
    if (!peer) return undefined
    const controller = new AbortController()
    const length = Math.min(meta.pieceSize, meta.size)
    const startedAt = this.deps.clock.now()
    let bytes: Promise<Uint8Array>
    try {
      bytes = peer.fetchPiece(this.hash, 0, length, controller.signal)
    } catch (error) {
      bytes = Promise.reject(error)
    }
    // Its failure is the transfer's to handle, if it takes the request; otherwise nobody's.
    bytes.catch(() => {})
    return {
      size: meta.size,
      pieceSize: meta.pieceSize,
      request: { index: 0, peerId: peer.peerId, bytes, controller, startedAt },
    }
  }

  /** The partial download for `list`: the early one if its sizes are the list's, else a new one. */
  async #partialFor(list: PieceList, early: EarlyPartial | undefined): Promise<PartialContent> {
    if (early) {
      if (early.size === list.size && early.pieceSize === list.pieceSize) return early.opening
      // The holders' list says otherwise (no holder lists what the metadata said): it decides.
      await closeEarly(early)
    }
    return this.deps.partials.open(this.hash, list.size, list.pieceSize)
  }

  /** Bytes [start, end), fetching the pieces that cover them first. */
  async read(start: number, end: number, signal?: AbortSignal): Promise<Uint8Array> {
    await abortable(this.#ready, signal)
    // Disputed lists: ready only once the file verified, and then it is in the store.
    if (this.view.state === 'done')
      return this.deps.readStored(this.hash, start, Math.min(end, this.view.size))
    const transfer = this.#transfer!
    const partial = this.#partial!
    const { pieceSize, size } = partial
    end = Math.min(end, size)
    if (start >= end) return new Uint8Array(0)
    transfer.setPlayhead(start)
    const first = Math.floor(start / pieceSize)
    const last = Math.floor((end - 1) / pieceSize)
    for (let i = first; i <= last; i++) await abortable(transfer.need(i), signal)
    if (this.view.state === 'fetching') {
      try {
        return await partial.read(start, end)
      } catch (error) {
        // The last piece landed meanwhile and the pieces are being moved into the store.
        if (this.view.state === 'fetching') throw error
      }
    }
    // Verifying or done: the bytes are (about to be) in the content store.
    await abortable(this.#finished, signal)
    return this.deps.readStored(this.hash, start, end)
  }

  /**
   * Find linked holders and the piece list most of them agree on (excluding roots already tried);
   * `disputed` when holders signed different lists (or one already failed).
   */
  async #agree(tried: Set<string>): Promise<{ list: PieceList; holders: string[]; disputed: boolean }> {
    const { clock } = this.deps
    const deadline = clock.now() + this.config.locateTimeoutMs
    for (;;) {
      const holders = this.deps.holders(this.hash)
      const linked = holders.map((id) => this.deps.linked(id)).filter((p): p is FetchPeer => !!p)
      if (linked.length > 0) {
        const lists = await Promise.all(linked.map((peer) => this.#pieceList(peer)))
        const groups = new Map<string, { list: PieceList; holders: string[] }>()
        lists.forEach((list, i) => {
          if (!list || tried.has(list.root)) return
          const group = groups.get(list.root) ?? { list, holders: [] }
          group.holders.push(linked[i]!.peerId)
          groups.set(list.root, group)
        })
        const best = [...groups.values()].sort((a, b) => b.holders.length - a.holders.length)[0]
        if (best) return { ...best, disputed: groups.size > 1 || tried.size > 0 }
      } else {
        this.deps.connect(holders)
      }
      if (clock.now() >= deadline) {
        throw new DcmxError(
          'PEER_GONE',
          holders.length === 0
            ? 'No peer holds this track any more.'
            : 'No peer holding this track is reachable right now. Try again later.',
        )
      }
      await new Promise((resolve) => clock.setTimeout(() => resolve(undefined), 500))
    }
  }

  /**
   * A holder's piece list, all pages, checked against the root it claims and the descriptor its
   * signed record commits to; undefined if it lied (or did not answer). Only the holder's own
   * signature judges it: metadata from elsewhere (a size, say) never does.
   */
  async #pieceList(peer: FetchPeer): Promise<PieceList | undefined> {
    const pieces: string[] = []
    let head: WireOf<'pieces-res'> | undefined
    try {
      do {
        const res = await peer.request({ type: 'pieces-req', hash: this.hash, from: pieces.length })
        if (res.type !== 'pieces-res' || res.from !== pieces.length) return undefined
        if (head && (res.root !== head.root || res.count !== head.count)) return undefined
        head = res
        const page = unpackHashes(res.body)
        if (!page || page.length === 0 || page.length > PIECES_PAGE) break
        pieces.push(...page)
      } while (pieces.length < head.count)
    } catch {
      return undefined
    }
    if (!head || pieces.length !== head.count) return undefined
    const expected = Math.max(1, Math.ceil(head.size / head.pieceSize))
    const joined = concatBytes(...pieces.map((p) => hexBytes(p)))
    const root = toHex(await this.deps.sha256(joined))
    const signed = this.deps.descriptor(peer.peerId, this.hash)
    const served = await descriptorDigest(this.deps.sha256, {
      hash: this.hash,
      size: head.size,
      mime: head.mime,
      pieceSize: head.pieceSize,
      piecesRoot: head.root,
      metaHash: head.meta,
    })
    if (root !== head.root || pieces.length !== expected || served !== signed) {
      this.deps.penalise(
        peer.peerId,
        'sent a piece list that contradicts its root or signed descriptor',
        false,
      )
      return undefined
    }
    const { size, pieceSize, mime, meta: metaHash } = head
    return { root, size, pieceSize, pieces, mime, metaHash }
  }

  /**
   * Run the transfer; true if every piece arrived and the whole file verified. Reads are let
   * through as pieces arrive, unless the list is `disputed`.
   */
  async #fetch(
    list: PieceList,
    group: string[],
    disputed: boolean,
    early: readonly EarlyRequest[],
  ): Promise<boolean> {
    const partial = this.#partial!
    const transfer = new Transfer({
      size: list.size,
      pieceSize: list.pieceSize,
      pieces: list.pieces,
      have: await partial.have(),
      early,
      sources: () =>
        group
          .map((id) => this.deps.linked(id))
          .filter((p): p is FetchPeer => !!p)
          .map((p): PieceSource => ({
            peerId: p.peerId,
            rttMs: () => p.rttMs?.(),
            repairing: () => p.repairing?.() === true,
            fetchPiece: (index, signal) =>
              p.fetchPiece(
                this.hash,
                index,
                Math.min(list.pieceSize, list.size - index * list.pieceSize),
                signal,
              ),
          })),
      write: (index, bytes, expected) => partial.write(index, bytes, expected),
      onBadPiece: (peerId, banned) => this.deps.penalise(peerId, 'sent a piece that failed its hash', banned),
      clock: this.deps.clock,
      random: this.deps.random,
      config: { noSourceTimeoutMs: this.config.locateTimeoutMs, ...this.config.transfer },
    })
    this.#transfer = transfer
    this.view = { ...this.view, state: 'fetching', size: list.size }
    transfer.events.on('progress', (p) => {
      this.view = { ...this.view, have: p.have, total: p.total, bytes: p.bytes, sources: p.sources }
      this.#progress.change(true)
    })
    const outcome = new Promise<void>((resolve, reject) => {
      transfer.events.on('done', resolve)
      transfer.events.on('failed', reject)
    })
    if (!disputed) this.#settle.resolve()
    transfer.start()
    this.#changed()
    await outcome
    this.view = { ...this.view, state: 'verifying' }
    this.#changed()
    return partial.complete()
  }

  async #adopt(list: PieceList, holders: string[]) {
    this.list = list
    const meta = this.deps.meta(this.hash)!
    // The piece list is the one the verified file produced, whatever the metadata said.
    const track = {
      ...trackFromMeta(meta, this.deps.clock.now(), holders[0] ?? 'network'),
      mime: list.mime,
      size: list.size,
      pieceSize: list.pieceSize,
      pieces: list.pieces,
      piecesRoot: list.root,
    }
    await this.deps.adopt(track)
    this.view = { ...this.view, state: 'done' }
    this.#changed()
    this.#settle.resolve()
    this.#finish.resolve()
  }

  #fail(error: Error) {
    const message =
      error instanceof DcmxError ? error.message : `The download failed: ${error.message || String(error)}`
    this.view = { ...this.view, state: 'failed', error: message }
    this.#settle.reject(error)
    this.#finish.reject(error)
    this.#transfer?.cancel()
    // What is held stays for a retry or a reload; a close that fails leaves it to the next open.
    void this.#partial?.close().catch(() => {})
    this.#partial = undefined
    this.#changed()
  }
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return out
}

function abortable<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise
  if (signal.aborted) return Promise.reject(new DcmxError('ABORTED', 'aborted'))
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new DcmxError('ABORTED', 'aborted'))
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

/** The catalog entry for a downloaded track, from the metadata its holders described it with. */
function trackFromMeta(meta: TrackMeta, addedAt: number, source: string): Track {
  return {
    contentHash: meta.hash,
    size: meta.size,
    mime: meta.mime,
    container: meta.container ?? '',
    ...(meta.codec ? { codec: meta.codec } : {}),
    title: meta.title,
    ...(meta.artist ? { artist: meta.artist } : {}),
    ...(meta.album ? { album: meta.album } : {}),
    ...(meta.trackNo !== undefined ? { trackNo: meta.trackNo } : {}),
    ...(meta.durationS !== undefined ? { durationS: meta.durationS } : {}),
    pieceSize: meta.pieceSize,
    pieces: [],
    piecesRoot: meta.piecesRoot,
    fileName: meta.title,
    addedAt,
    source,
  }
}
