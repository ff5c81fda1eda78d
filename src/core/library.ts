import type { Catalog, TagReader, Track, TrackPatch } from './catalog.ts'
import { trackFrom } from './catalog.ts'
import type { Clock } from './clock.ts'
import type { ContentStore, Staged } from './content.ts'
import { Emitter } from './emitter.ts'
import { DcmxError, type DcmxErrorCode } from './errors.ts'
import { Throttle } from './throttle.ts'

/** Runs `fn` while holding the named lock, across every tab of the origin (Web Locks in browsers). */
export type WithLock = <T>(name: string, fn: () => Promise<T>) => Promise<T>

export type ImportState = 'queued' | 'reading' | 'storing' | 'done' | 'duplicate' | 'failed' | 'cancelled'

/** One file in the import queue, as the view shows it. */
export type ImportJob = {
  id: number
  name: string
  size: number
  bytesDone: number
  state: ImportState
  /** A sentence for people once the job has ended (why it failed, what it duplicated). */
  message?: string
  /** The track the job produced or matched. */
  contentHash?: string
  /** Why a failed job failed, for the action it offers (QUOTA: free space). */
  code?: DcmxErrorCode
}

export type LibraryConfig = {
  /** Files larger than this are refused before any byte is copied. */
  maxFileBytes: number
}

/** 2 GiB: far beyond any album-length lossless file, and within what browsers let one origin store. */
export const DEFAULT_LIBRARY_CONFIG: LibraryConfig = { maxFileBytes: 2 * 1024 ** 3 }

/**
 * During a batch import, how often at most the track list's listeners hear of new tracks (the
 * view re-sorts, the node re-announces, other tabs re-read the catalog): each of them costs O(n),
 * so hearing once per track made a batch of n cost O(n²). Half a second is still "as they come".
 */
export const BATCH_TRACKS_EVENT_MS = 500

export type LibraryEvents = {
  /** The track list changed (this tab's change, or a refresh after another tab's). */
  tracks: []
  /** The import queue changed: `job` changed in place, or (none) jobs were added or cleared. */
  imports: [job?: ImportJob]
  /** This tab committed a change to the shared catalog; other tabs should refresh. */
  committed: []
}

/**
 * A file at most this big is read into memory once and its tags and bytes taken from that copy:
 * each read of a disk-backed File is a round trip to the disk, and a small file's import is
 * mostly round trips. Imports run one at a time, the next small file read while one is stored,
 * so at most two such copies are held.
 */
export const SMALL_FILE_BYTES = 1 << 20

/** A file to import: a Blob with a name (a File in browsers). */
export type ImportFile = Blob & { readonly name: string; readonly webkitRelativePath?: string }

const ENDED: ImportState[] = ['done', 'duplicate', 'failed', 'cancelled']
export const isEnded = (job: Pick<ImportJob, 'state'>): boolean => ENDED.includes(job.state)

/**
 * The local library: an import queue that reads tags, copies and hashes each file into the content
 * store, and commits a catalog entry last, so a crash never leaves a half-visible track; plus
 * listing, pinning and removing tracks, and freeing space by evicting the least recently played
 * ones. One file is imported at a time: hashing and storage are disk-bound,
 * and a second concurrent import only splits the same bandwidth.
 */
export class Library {
  readonly events = new Emitter<LibraryEvents>()
  /** The queue's jobs in order; each job object is updated in place as it runs. */
  imports: ImportJob[] = []
  readonly config: LibraryConfig
  #nextId = 1
  #controllers = new Map<number, AbortController>()
  #files = new Map<number, ImportFile>()
  /** The next small file's bytes, read while the running import is stored (see `#readNext`). */
  #readAhead = new Map<number, Promise<Blob>>()
  #jobs = new Map<number, ImportJob>()
  /** Jobs not yet started, in order, from `#head` on. */
  #queue: ImportJob[] = []
  #head = 0
  #running = false
  #tracks: Track[] = []
  /** Tracks imported since `tracks` was last read: appended in O(1), joined on the next read. */
  #imported: Track[] = []
  /** `track(hash)`'s index, built on first use after the list was replaced. */
  #byHash: Map<string, Track> | undefined
  #tracksChanged: Throttle

  constructor(
    private readonly deps: {
      store: ContentStore
      catalog: Catalog
      tags: TagReader
      clock: Clock
      withLock: WithLock
      config?: Partial<LibraryConfig>
    },
  ) {
    this.config = { ...DEFAULT_LIBRARY_CONFIG, ...deps.config }
    this.#tracksChanged = new Throttle(deps.clock, BATCH_TRACKS_EVENT_MS, () => {
      this.events.emit('tracks')
      this.events.emit('committed')
    })
  }

  /** Every track in the library, oldest first. */
  get tracks(): Track[] {
    if (this.#imported.length > 0) {
      this.#tracks = [...this.#tracks, ...this.#imported]
      this.#imported = []
    }
    return this.#tracks
  }

  set tracks(tracks: Track[]) {
    this.#tracks = tracks
    this.#imported = []
    this.#byHash = undefined
  }

  /** The library's track with this content hash, in O(1) (no catalog read). */
  track(hash: string): Track | undefined {
    this.#byHash ??= new Map(this.tracks.map((t) => [t.contentHash, t]))
    return this.#byHash.get(hash)
  }

  /** A track joins the list: appended in O(1) (see `#imported`). */
  #append(track: Track): void {
    this.#imported.push(track)
    this.#byHash?.set(track.contentHash, track)
  }

  /** Load the catalog, and sweep temporaries that crashed imports left behind. */
  async load(): Promise<void> {
    await this.deps.store.sweep().catch(() => 0)
    await this.refresh()
  }

  /** Re-read the catalog (another tab may have changed it). */
  async refresh(): Promise<void> {
    this.tracks = (await this.deps.catalog.list()).sort((a, b) => a.addedAt - b.addedAt)
    this.events.emit('tracks')
  }

  /** Queue files for import; returns their jobs. */
  add(files: Iterable<ImportFile>): ImportJob[] {
    const jobs: ImportJob[] = []
    if (this.#head === this.#queue.length) {
      this.#queue = []
      this.#head = 0
    }
    for (const file of files) {
      const job: ImportJob = {
        id: this.#nextId++,
        // A file from a folder shows its path there, so two "01.flac" can be told apart.
        name: file.webkitRelativePath || file.name,
        size: file.size,
        bytesDone: 0,
        state: 'queued',
      }
      this.#files.set(job.id, file)
      this.#jobs.set(job.id, job)
      this.#queue.push(job)
      jobs.push(job)
    }
    this.imports = [...this.imports, ...jobs]
    this.events.emit('imports')
    void this.#drain()
    return jobs
  }

  /** Cancel a queued or running import; nothing of it stays in the store. */
  cancel(id: number): void {
    const job = this.#jobs.get(id)
    if (!job || isEnded(job)) return
    this.#controllers.get(id)?.abort()
    this.#readAhead.delete(id)
    if (job.state === 'queued') this.#end(job, 'cancelled', 'Cancelled.')
  }

  cancelAll(): void {
    for (const job of this.imports) this.cancel(job.id)
  }

  /** Forget ended jobs (the view's "clear" action). */
  clearEnded(): void {
    this.imports = this.imports.filter((j) => !isEnded(j))
    this.#jobs = new Map(this.imports.map((j) => [j.id, j]))
    this.events.emit('imports')
  }

  /** Remove a track: its catalog entry first (it stops being visible), then its bytes. */
  async remove(hash: string): Promise<void> {
    await this.#delete(hash, false)
    this.#forget(new Set([hash]))
  }

  /** Pin a track (kept on this device: never evicted to free space) or unpin it. */
  async setPinned(hash: string, pinned: boolean): Promise<void> {
    await this.#patch(hash, { pinned })
  }

  /** Note that playback of a track starts now: "free space" removes the least recently played first. */
  async played(hash: string): Promise<void> {
    await this.#patch(hash, { lastPlayedAt: this.deps.clock.now() })
  }

  /** The tracks `evict` should remove to free `bytesToFree`: see planEviction; `keep` (the playing track) stays. */
  planEviction(bytesToFree: number, keep: Iterable<string> = []): Track[] {
    return planEviction(this.tracks, bytesToFree, keep)
  }

  /**
   * Remove planned tracks, each checked again under its lock: one pinned since (here or in another
   * tab) stays. Resolves with the tracks removed; if one fails, those removed before it stay removed.
   */
  async evict(tracks: readonly Track[]): Promise<Track[]> {
    const removed: Track[] = []
    try {
      for (const { contentHash } of tracks) {
        const track = await this.#delete(contentHash, true)
        if (track) removed.push(track)
      }
    } finally {
      if (removed.length > 0) this.#forget(new Set(removed.map((t) => t.contentHash)))
    }
    return removed
  }

  /**
   * A track whose verified bytes are already in the store (a finished download) joins the
   * library: it is listed, played offline, and announced like an import.
   */
  async adopt(track: Track): Promise<void> {
    const added = await this.deps.catalog.add(track)
    if (!added) return
    this.#append(track)
    this.#tracksChanged.change(false)
  }

  /** The stored bytes of a track, for playback. */
  async blob(hash: string): Promise<Blob> {
    const blob = await this.deps.store.get(hash)
    if (!blob)
      throw new DcmxError(
        'NOT_FOUND',
        'This track’s audio is missing from storage; remove it and import it again.',
      )
    return blob
  }

  /** Delete a track's entry then its bytes, under its lock; with `unlessPinned`, a pinned one stays. */
  #delete(hash: string, unlessPinned: boolean): Promise<Track | undefined> {
    return this.deps.withLock(`dcmx-content-${hash}`, async () => {
      if (unlessPinned && (await this.deps.catalog.get(hash))?.pinned) return undefined
      const track = await this.deps.catalog.remove(hash)
      await this.deps.store.delete(hash)
      return track
    })
  }

  #forget(hashes: ReadonlySet<string>) {
    this.tracks = this.tracks.filter((t) => !hashes.has(t.contentHash))
    this.#tracksChanged.change(false)
  }

  async #patch(hash: string, patch: TrackPatch) {
    const updated = await this.deps.catalog.update(hash, patch)
    // Removed meanwhile (perhaps in another tab): nothing to show.
    if (!updated) return
    this.tracks = this.tracks.map((t) => (t.contentHash === hash ? updated : t))
    this.#tracksChanged.change(false)
  }

  async #drain() {
    if (this.#running) return
    this.#running = true
    try {
      for (let job = this.#nextQueued(); job; job = this.#nextQueued()) await this.#run(job)
    } finally {
      this.#running = false
      // The batch's last files failed or were cancelled: its last tracks are told now.
      this.#tracksChanged.flush()
    }
  }

  /** The next job still queued (cancelled ones are skipped), taken off the queue. */
  #nextQueued() {
    while (this.#head < this.#queue.length) {
      const job = this.#queue[this.#head++]!
      if (job.state === 'queued') return job
    }
    return undefined
  }

  /** A small file's bytes in memory: read ahead of its turn (see `#readNext`), or now. */
  #bytes(id: number, file: ImportFile): Promise<Blob> {
    const read = this.#readAhead.get(id) ?? inMemory(file)
    this.#readAhead.delete(id)
    return read
  }

  /**
   * Start reading the next queued file if it is small, while the running one is stored: a read of
   * a file on disk is a round trip the import would otherwise wait for. One file ahead at most.
   */
  #readNext() {
    const next = this.#peekQueued()
    const file = next && this.#files.get(next.id)
    if (!next || !file || this.#readAhead.has(next.id) || file.size === 0 || file.size > SMALL_FILE_BYTES)
      return
    const read = inMemory(file)
    // A failed read is told when the file's turn comes; until then it must not surface unhandled.
    read.catch(() => {})
    this.#readAhead.set(next.id, read)
  }

  /** The next job still queued, left on the queue. */
  #peekQueued(): ImportJob | undefined {
    for (let i = this.#head; i < this.#queue.length; i++)
      if (this.#queue[i]!.state === 'queued') return this.#queue[i]
    return undefined
  }

  /** Whether files wait behind the running one: the batch goes on. */
  #moreQueued() {
    return this.#peekQueued() !== undefined
  }

  async #run(job: ImportJob) {
    const file = this.#files.get(job.id)!
    const controller = new AbortController()
    this.#controllers.set(job.id, controller)
    let staged: Staged | undefined
    try {
      if (file.size === 0) throw new DcmxError('NOT_AUDIO', 'The file is empty.')
      if (file.size > this.config.maxFileBytes) {
        throw new DcmxError(
          'TOO_BIG',
          `The file is ${formatBytes(file.size)}; the limit is ${formatBytes(this.config.maxFileBytes)}.`,
        )
      }
      this.#update(job, { state: 'reading' })
      const source = file.size <= SMALL_FILE_BYTES ? await this.#bytes(job.id, file) : file
      this.#readNext()
      const tags = await this.deps.tags.read(source)
      controller.signal.throwIfAborted()
      this.#update(job, { state: 'storing' })
      staged = await this.deps.store.ingest(source, {
        signal: controller.signal,
        onProgress: (bytesDone) => this.#update(job, { bytesDone }),
      })
      const hash = staged.digest.contentHash
      const known = await this.deps.catalog.get(hash)
      if (known) {
        await staged.discard()
        staged = undefined
        return this.#end(job, 'duplicate', `Already in your library as “${known.title}”.`, {
          contentHash: hash,
        })
      }
      const track = trackFrom(staged.digest, tags, file.name, this.deps.clock.now())
      const toCommit = staged
      const added = await this.deps.withLock(`dcmx-content-${hash}`, async () => {
        await toCommit.commit()
        return this.deps.catalog.add(track, tags.cover)
      })
      staged = undefined
      if (!added) {
        await this.refresh()
        return this.#end(job, 'duplicate', 'Already in your library (added from another tab).', {
          contentHash: hash,
        })
      }
      // Append rather than re-read the catalog, and tell listeners once per BATCH_TRACKS_EVENT_MS
      // while the batch goes on (at once for its last file): a batch of n stays O(n), not O(n²).
      this.#append(track)
      this.#tracksChanged.change(this.#moreQueued())
      this.#end(job, 'done', `Added “${track.title}”.`, { contentHash: hash })
    } catch (error) {
      await staged?.discard().catch(() => {})
      if (controller.signal.aborted || isAbort(error)) return this.#end(job, 'cancelled', 'Cancelled.')
      const code = codeOf(error)
      this.#end(job, 'failed', explain(error, file), code ? { code } : {})
    } finally {
      this.#controllers.delete(job.id)
      this.#files.delete(job.id)
    }
  }

  /** Change one job in place and say which: O(1) however long the queue is. */
  #update(job: ImportJob, patch: Partial<ImportJob>) {
    Object.assign(job, patch)
    this.events.emit('imports', job)
  }

  #end(
    job: ImportJob,
    state: ImportState,
    message: string,
    extra: Pick<ImportJob, 'contentHash' | 'code'> = {},
  ) {
    this.#files.delete(job.id)
    this.#readAhead.delete(job.id)
    this.#update(job, {
      state,
      message,
      ...(state === 'done' || state === 'duplicate' ? { bytesDone: job.size } : {}),
      ...extra,
    })
  }
}

/** A copy of the file's bytes in memory, in one read. */
const inMemory = async (file: ImportFile): Promise<Blob> =>
  new Blob([await file.arrayBuffer()], { type: file.type })

/** When a track was last wanted: its last play, or its import (or download) if it was never played. */
export const lastUsedAt = (track: Track): number => track.lastPlayedAt ?? track.addedAt

/**
 * The tracks to remove to free at least `bytesToFree`, least recently played first (a track never
 * played counts as played when it was added); never a pinned track nor one in `keep`. It stops
 * as soon as the plan frees enough; when everything that may go is not enough, that is the plan.
 */
export function planEviction(
  tracks: readonly Track[],
  bytesToFree: number,
  keep: Iterable<string> = [],
): Track[] {
  // Also refuses NaN: a plan must never be "everything" by accident.
  if (!(bytesToFree > 0)) return []
  const kept = new Set(keep)
  const candidates = tracks
    .filter((t) => !t.pinned && !kept.has(t.contentHash))
    .sort(
      (a, b) =>
        lastUsedAt(a) - lastUsedAt(b) ||
        a.addedAt - b.addedAt ||
        (a.contentHash < b.contentHash ? -1 : a.contentHash > b.contentHash ? 1 : 0),
    )
  const plan: Track[] = []
  let planned = 0
  for (const track of candidates) {
    if (planned >= bytesToFree) break
    plan.push(track)
    planned += track.size
  }
  return plan
}

/** The code a failed import is filed under: a full disk is QUOTA however the browser said it. */
function codeOf(error: unknown): DcmxErrorCode | undefined {
  if (error instanceof DcmxError) return error.code
  if ((error as { name?: string })?.name === 'QuotaExceededError') return 'QUOTA'
  return undefined
}

function isAbort(error: unknown): boolean {
  return (
    (error instanceof DcmxError && error.code === 'ABORTED') ||
    (error as { name?: string })?.name === 'AbortError'
  )
}

/** The sentence a user sees for a failed import. */
function explain(error: unknown, file: ImportFile): string {
  if (codeOf(error) === 'QUOTA')
    return `Not enough storage space for this file (${formatBytes(file.size)}). Free space by removing tracks you have not played lately, or allow this site more storage, and try again.`
  if (error instanceof DcmxError) return error.message
  return `Could not import this file: ${error instanceof Error ? error.message : String(error)}`
}

/** 1536 → "1.5 KB"; decimal units, as operating systems show file sizes. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`
  const units = ['KB', 'MB', 'GB', 'TB']
  let value = n
  let unit = -1
  do {
    value /= 1000
    unit++
  } while (value >= 1000 && unit < units.length - 1)
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`
}
