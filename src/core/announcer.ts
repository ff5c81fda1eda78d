import type { Clock } from './clock.ts'
import type { Delta } from './directory.ts'
import {
  signRecord,
  trackSetRoot,
  type RecordSigner,
  type Sha256,
  type TrackEntries,
  type TrackEntry,
} from './records.ts'
import { MAX_ANNOUNCED, type SignedRecord } from './wire.ts'

export type Announcement = { rec: SignedRecord; tracks: TrackEntries; delta?: Delta }

/**
 * This node's own record: re-signed whenever its track set changes, periodically to stay alive
 * in other nodes' directories, and once with ttl 0 when it leaves. Versions are this node's clock
 * in ms, bumped past the last one, so they grow across reloads without being stored.
 */
export class Announcer {
  #current: Announcement | undefined
  #queue: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly deps: {
      signer: RecordSigner
      sha256: Sha256
      clock: Clock
      /** Validity other nodes give each version (s). */
      ttlS: () => number
    },
  ) {}

  get current(): Announcement | undefined {
    return this.#current
  }

  /**
   * Announce this set of tracks, each with its descriptor's digest (the newest MAX_ANNOUNCED if
   * there are more). Resolves with the new announcement, or undefined when nothing changed and no
   * refresh was asked for.
   */
  publish(entries: Iterable<TrackEntry>, refresh = false): Promise<Announcement | undefined> {
    return this.#serial(async () => {
      const next: TrackEntries = new Map([...entries].slice(-MAX_ANNOUNCED))
      const before = this.#current
      const adds = [...next].filter(([h, d]) => before?.tracks.get(h) !== d)
      const dels = before ? [...before.tracks].filter(([h, d]) => next.get(h) !== d) : []
      if (before && before.rec.ttl > 0 && adds.length === 0 && dels.length === 0 && !refresh) return undefined
      const rec = await this.#sign(next, this.deps.ttlS())
      this.#current = {
        rec,
        tracks: next,
        ...(before ? { delta: { base: before.rec.ver, adds, dels } } : {}),
      }
      return this.#current
    })
  }

  /** A final record with ttl 0: "I am leaving, forget my tracks". */
  leave(): Promise<Announcement> {
    return this.#serial(async () => {
      const rec = await this.#sign(new Map(), 0)
      this.#current = { rec, tracks: new Map() }
      return this.#current
    })
  }

  async #sign(tracks: TrackEntries, ttl: number): Promise<SignedRecord> {
    const ver = Math.max(Math.floor(this.deps.clock.now()), (this.#current?.rec.ver ?? 0) + 1)
    const root = await trackSetRoot(this.deps.sha256, tracks)
    return signRecord(this.deps.signer, { ver, ttl, root, count: tracks.size })
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn)
    this.#queue = run.catch(() => {})
    return run
  }
}
