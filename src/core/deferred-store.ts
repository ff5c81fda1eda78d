import type { ContentStore, IngestOptions, Staged, StoreUsage } from './content.ts'
import { DcmxError } from './errors.ts'
import type { PartialContent, PartialStore } from './partial.ts'

/** Where the choice of a content store stands: being made, made, or failed (with a sentence why). */
export type StoreChoiceState =
  | { state: 'choosing' }
  | { state: 'ready'; kind: ContentStore['kind'] }
  | { state: 'failed'; message: string }

/**
 * A content store that is chosen after the app has rendered (the OPFS probe runs in a worker
 * whose script is not on the first render's path). Every call waits until the choice is made and
 * then goes to the chosen store, so nothing is stored or read anywhere else; if the choice fails,
 * every call fails with that sentence (code UNSUPPORTED) and nothing is written.
 */
export class DeferredStore implements ContentStore {
  readonly #chosen: Promise<ContentStore>
  #current: StoreChoiceState = { state: 'choosing' }
  #store: ContentStore | undefined

  constructor(chosen: Promise<ContentStore>) {
    this.#chosen = chosen.then(
      (store) => {
        this.#current = { state: 'ready', kind: store.kind }
        this.#store = store
        return store
      },
      (error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error)
        const message = `This browser did not let DCMX open its storage (${reason}). Reload the page to try again.`
        this.#current = { state: 'failed', message }
        throw new DcmxError('UNSUPPORTED', message)
      },
    )
    // Callers see the failure on their own calls; this copy only keeps it from going unhandled.
    this.#chosen.catch(() => {})
  }

  /** The chosen store, once chosen (rejects with the sentence if the choice failed). */
  get ready(): Promise<ContentStore> {
    return this.#chosen
  }

  get choice(): StoreChoiceState {
    return this.#current
  }

  /** The chosen store's kind; until then, the store every browser has (IndexedDB). */
  get kind(): ContentStore['kind'] {
    return this.#current.state === 'ready' ? this.#current.kind : 'indexeddb'
  }

  async ingest(source: Blob, options?: IngestOptions): Promise<Staged> {
    options?.signal?.throwIfAborted()
    return (await this.#chosen).ingest(source, options)
  }
  async has(hash: string): Promise<boolean> {
    return (await this.#chosen).has(hash)
  }
  async get(hash: string): Promise<Blob | undefined> {
    return (await this.#chosen).get(hash)
  }
  async read(hash: string, start: number, end: number): Promise<Uint8Array> {
    return (await this.#chosen).read(hash, start, end)
  }
  recycle(bytes: Uint8Array): void {
    this.#store?.recycle?.(bytes)
  }
  async delete(hash: string): Promise<void> {
    return (await this.#chosen).delete(hash)
  }
  async usage(): Promise<StoreUsage> {
    return (await this.#chosen).usage()
  }
  async verify(hash: string, options?: IngestOptions): Promise<boolean> {
    return (await this.#chosen).verify(hash, options)
  }
  async list(): Promise<string[]> {
    return (await this.#chosen).list()
  }
  async sweep(): Promise<number> {
    return (await this.#chosen).sweep()
  }
}

/** A partial store made once the content store is chosen (it depends on which one it is). */
export function deferredPartials(made: Promise<PartialStore>): PartialStore {
  return {
    async open(hash: string, size: number, pieceSize: number): Promise<PartialContent> {
      return (await made).open(hash, size, pieceSize)
    },
    async list(): Promise<string[]> {
      return (await made).list()
    },
  }
}
