import type { TagReader } from '../core/catalog.ts'
import { readTagsInWorker } from './content-worker.ts'

/** Reads tags in the content worker (music-metadata stays off the main thread and out of its bundle). */
export const workerTagReader: TagReader = { read: (source) => readTagsInWorker(source) }
