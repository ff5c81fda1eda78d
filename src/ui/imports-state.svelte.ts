import type { Clock } from '../core/clock.ts'
import type { DcmxErrorCode } from '../core/errors.ts'
import { isEnded, type ImportFile, type ImportJob, type ImportState, type Library } from '../core/library.ts'
import { Throttle } from '../core/throttle.ts'
import { countJob, noProgress, withFraction, type ImportProgress } from './library-helpers.ts'

/** The parts of the Library the import queue uses. */
export type ImportSource = Pick<Library, 'imports' | 'events' | 'add' | 'cancel' | 'cancelAll' | 'clearEnded'>

/**
 * What happens around imports: storage is re-read when one ends (at most once every
 * ENDED_EVERY_MS while more run, and always when the last one ends), and persistence asked for
 * once one is done.
 */
export type ImportsStateDeps = {
  ended(): void
  done(): void
  /** Timers for coalescing (the system's by default). */
  clock?: Pick<Clock, 'now' | 'setTimeout' | 'clearTimeout'>
}

/** Storage usage is re-read at most this often during a batch: one estimate per file of a thousand is waste. */
export const ENDED_EVERY_MS = 1000
/**
 * The queue's rows and totals change on screen at most this often while jobs change: each frame
 * that changes something costs a layout and paint of the page, and small files change several
 * times a frame's worth apart.
 */
export const VIEW_EVERY_MS = 150

const timers: Pick<Clock, 'now' | 'setTimeout' | 'clearTimeout'> = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as number),
}

/** One job as the queue shows it: its changing fields are reactive, so a change re-renders its row alone. */
export class ImportRow {
  readonly id: number
  readonly name: string
  readonly size: number
  state = $state<ImportState>('queued')
  bytesDone = $state(0)
  message = $state<string | undefined>()
  code = $state<DcmxErrorCode | undefined>()

  constructor(job: ImportJob) {
    this.id = job.id
    this.name = job.name
    this.size = job.size
    this.sync(job)
  }

  sync(job: ImportJob): void {
    this.state = job.state
    this.bytesDone = job.bytesDone
    this.message = job.message
    this.code = job.code
  }
}

/**
 * The import queue as the view shows it, kept current from the library's events. A change to one
 * job costs O(1) (its row, and the totals by difference), so a batch of n files costs O(n).
 */
export class ImportsState {
  jobs = $state.raw<ImportRow[]>([])
  /**
   * The rows that failed, in queue order: the queue shows only the rows scrolled into view, and a
   * failure must stay in reach (and be told) with its own error however far down it sits.
   */
  failures = $state.raw<ImportRow[]>([])
  progress = $state.raw<ImportProgress>(noProgress())

  #library: ImportSource
  #deps: ImportsStateDeps
  // An index to find a job's row, never read by a template: no reactive map needed.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #rows = new Map<number, ImportRow>()
  /** The totals over `#rows`, changed in place; `progress` is a copy of them. */
  #totals = noProgress()
  #endedToldAt = -Infinity
  #clock: Pick<Clock, 'now' | 'setTimeout' | 'clearTimeout'>
  /** Jobs changed in place since the rows were last synced (a work list, not shown). */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #dirty = new Set<ImportJob>()
  #render: Throttle
  #off: () => void

  constructor(library: ImportSource, deps: ImportsStateDeps) {
    this.#library = library
    this.#deps = deps
    this.#clock = deps.clock ?? timers
    this.#render = new Throttle(this.#clock, VIEW_EVERY_MS, () => this.#sync())
    this.#read()
    this.#off = library.events.on('imports', (job) => {
      if (!job) return this.#read()
      this.#dirty.add(job)
      this.#render.change(true)
    })
  }

  /** Queue files for import. */
  add(files: Iterable<ImportFile>): ImportJob[] {
    return this.#library.add(files)
  }

  cancel(id: number): void {
    this.#library.cancel(id)
  }

  cancelAll(): void {
    this.#library.cancelAll()
  }

  clearEnded(): void {
    this.#library.clearEnded()
  }

  dispose(): void {
    this.#off()
    this.#render.stop()
  }

  /** Jobs were added or cleared: rows for the whole list (kept ones reused), totals summed again. */
  #read() {
    this.#dirty.clear()
    const before = this.#totals.ended
    // eslint-disable-next-line svelte/prefer-svelte-reactivity
    const rows = new Map<number, ImportRow>()
    const totals = noProgress()
    for (const job of this.#library.imports) {
      const row = this.#rows.get(job.id)
      if (row) row.sync(job)
      const kept = row ?? new ImportRow(job)
      rows.set(job.id, kept)
      countJob(totals, kept, 1)
    }
    this.#rows = rows
    this.#totals = totals
    this.jobs = [...rows.values()]
    this.failures = this.jobs.filter((row) => row.state === 'failed')
    this.progress = withFraction(totals)
    if (totals.ended > before) this.#ended()
    if (totals.added > 0) this.#deps.done()
  }

  /** Sync the rows of the jobs that changed, each in O(1), and the totals by difference. */
  #sync() {
    const jobs = [...this.#dirty]
    this.#dirty.clear()
    let ended = false
    let done = false
    const failed: ImportRow[] = []
    for (const job of jobs) {
      const row = this.#rows.get(job.id)
      if (!row) return this.#read()
      const wasEnded = isEnded(row)
      countJob(this.#totals, row, -1)
      row.sync(job)
      countJob(this.#totals, row, 1)
      ended ||= !wasEnded && isEnded(row)
      done ||= row.state === 'done'
      // A job ends once: it joins the failures then, never twice.
      if (!wasEnded && row.state === 'failed') failed.push(row)
    }
    if (failed.length > 0) this.failures = [...this.failures, ...failed].sort((a, b) => a.id - b.id)
    this.progress = withFraction(this.#totals)
    if (ended) this.#ended()
    if (done) this.#deps.done()
  }

  #ended() {
    const now = this.#clock.now()
    if (this.#totals.active > 0 && now - this.#endedToldAt < ENDED_EVERY_MS) return
    this.#endedToldAt = now
    this.#deps.ended()
  }
}
