import type { TagReader } from '../core/catalog.ts'
import { readTags } from '../workers/tags.ts'

/**
 * Tags with music-metadata, by the very code the tab's worker runs (src/workers/tags.ts): the same
 * sniffing, the same refusals and the same sentences. In Node it reads the disk-backed Blob directly.
 */
export const nodeTagReader: TagReader = { read: (source) => readTags(source) }
