import { proxy, transfer, wrap, type Remote } from 'comlink'
import type { Tags } from '../core/catalog.ts'
import type { Digest, IngestOptions } from '../core/content.ts'
import { DcmxError } from '../core/errors.ts'
import type { ContentWorkerApi } from '../workers/content.worker.ts'
import type { PartialFilesApi } from '../workers/partial-files.ts'
import type { HandleReads } from '../workers/read-handles.ts'
import { decodeWorkerError } from '../workers/worker-errors.ts'

/**
 * The main thread's side of the content worker: one worker, started on first use, shared by the
 * stores and the tag reader. Calls take an AbortSignal (abort → the worker stops at its next
 * chunk) and a progress callback, and fail with DcmxError (QUOTA, NOT_AUDIO, UNREADABLE,
 * UNSUPPORTED when the worker itself dies) or a DOMException named AbortError.
 */
type Connection = { worker: Worker; api: Remote<ContentWorkerApi>; died: Promise<never> }

let connection: Connection | undefined
let nextJobId = 1

function connect(): Connection {
  if (connection) return connection
  const worker = new Worker(new URL('../workers/content.worker.ts', import.meta.url), {
    type: 'module',
    name: 'dcmx-content',
  })
  let die!: (error: Error) => void
  const died = new Promise<never>((_, reject) => (die = reject))
  died.catch(() => {})
  // Comlink never settles calls to a dead worker; a worker that fails to load or throws at top
  // level fails every pending call instead, and the next call starts a fresh worker.
  const fail = (event: Event) => {
    const detail = event instanceof ErrorEvent && event.message ? event.message : 'it could not run'
    die(new DcmxError('UNSUPPORTED', `The storage worker stopped (${detail}). Reload the page to try again.`))
    worker.terminate()
    if (connection?.worker === worker) connection = undefined
  }
  worker.addEventListener('error', fail)
  worker.addEventListener('messageerror', fail)
  connection = { worker, api: wrap<ContentWorkerApi>(worker), died }
  return connection
}

async function call<T>(
  run: (api: Remote<ContentWorkerApi>, jobId: number) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  signal?.throwIfAborted()
  const { api, died } = connect()
  const jobId = nextJobId++
  const onAbort = () => void api.cancel(jobId).catch(() => {})
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    return await Promise.race([run(api, jobId), died])
  } catch (error) {
    throw error instanceof DcmxError ? error : decodeWorkerError(error)
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
}

const progress = (options: IngestOptions) => (options.onProgress ? proxy(options.onProgress) : undefined)

/** Copy `file` to OPFS `tmp/<tmpName>` and hash it in one pass; the temporary is gone if this fails. */
export function ingestInWorker(file: Blob, tmpName: string, options: IngestOptions = {}): Promise<Digest> {
  return call((api, jobId) => api.ingest(jobId, file, tmpName, progress(options)), options.signal)
}

/** Hash `file` (whole and per piece) without storing it. */
export function hashInWorker(file: Blob, options: IngestOptions = {}): Promise<Digest> {
  return call((api, jobId) => api.hash(jobId, file, progress(options)), options.signal)
}

/** Read tags and check the file is audio, by content. */
export function readTagsInWorker(file: Blob): Promise<Tags> {
  return call((api) => api.readTags(file))
}

/** Whether OPFS sync access handles work in a worker here (creates and deletes `tmp/<tmpName>`). */
export function probeSyncAccessInWorker(tmpName: string): Promise<boolean> {
  return call((api) => api.probe(tmpName))
}

/**
 * The worker's partial downloads (OPFS files written through sync handles it keeps open). A piece
 * written is handed over, not copied: its buffer is transferred to the worker when the view spans
 * all of it, and the caller must not use the bytes again.
 */
export const partialFilesInWorker: PartialFilesApi = {
  open: (hash, size, pieceSize) => call((api) => api.partialOpen(hash, size, pieceSize)),
  have: (hash) => call((api) => api.partialHave(hash)),
  write: (hash, index, bytes, expected) =>
    call((api) => api.partialWrite(hash, index, owned(bytes), expected)),
  read: (hash, start, end) => call((api) => api.partialRead(hash, start, end)),
  complete: (hash) => call((api) => api.partialComplete(hash)),
  discard: (hash) => call((api) => api.partialDiscard(hash)),
  close: (hash) => call((api) => api.partialClose(hash)),
  list: () => call((api) => api.partialList()),
}

/** The worker's serving reads of stored blobs (read-only sync handles; the bytes come transferred). */
export const readHandlesInWorker: HandleReads = {
  supported: (probeName) => call((api) => api.readSupported(probeName)),
  // A buffer to read into is the worker's from here on (transferred, not copied).
  read: (hash, start, end, into) =>
    call((api) => api.readBytes(hash, start, end, into && transfer(into, [into.buffer as ArrayBuffer]))),
  release: (hash) => call((api) => api.readRelease(hash)),
}

/** `bytes` marked for transfer; a view of part of a larger buffer is copied first (the rest is not ours). */
export function owned(bytes: Uint8Array): Uint8Array {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
  const mine = whole && bytes.buffer instanceof ArrayBuffer ? bytes : bytes.slice()
  return transfer(mine, [mine.buffer as ArrayBuffer])
}
