import { isEnded, type ImportFile, type ImportJob, type Library } from '../core/library.ts'
import { overallProgress } from './library-helpers.ts'

/** The parts of the Library the import queue uses. */
export type ImportSource = Pick<Library, 'imports' | 'events' | 'add' | 'cancel' | 'cancelAll' | 'clearEnded'>

/** What happens around imports: storage is re-read when one ends, and persistence asked for once one is done. */
export type ImportsStateDeps = { ended(): void; done(): void }

/** The import queue as the view shows it, kept current from the library's events. */
export class ImportsState {
  jobs = $state.raw<ImportJob[]>([])
  progress = $derived(overallProgress(this.jobs))

  #library: ImportSource
  #deps: ImportsStateDeps
  /** How many listed imports had ended at the last event. */
  #endedCount = 0
  #off: () => void

  constructor(library: ImportSource, deps: ImportsStateDeps) {
    this.#library = library
    this.#deps = deps
    this.#read()
    this.#off = library.events.on('imports', () => this.#read())
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
  }

  #read() {
    const jobs = this.#library.imports
    this.jobs = [...jobs]
    // Each event changes one job (or clears the ended ones), so a rise in the count is a job ending.
    const ended = jobs.filter(isEnded).length
    if (ended > this.#endedCount) this.#deps.ended()
    this.#endedCount = ended
    if (jobs.some((j) => j.state === 'done')) this.#deps.done()
  }
}
