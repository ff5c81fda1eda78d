// Storage benchmarks run inside Chromium on the real platform code (tests/bench/storage.ts drives them).
import { createSHA256 } from 'hash-wasm'
import { Library, isEnded } from '../../../src/core/library.ts'
import { CatalogDb } from '../../../src/platform/catalog-db.ts'
import { systemClock } from '../../../src/platform/clock.ts'
import { hashInWorker } from '../../../src/platform/content-worker.ts'
import { withLock } from '../../../src/platform/locks.ts'
import { OpfsStore } from '../../../src/platform/opfs-store.ts'
import { workerTagReader } from '../../../src/platform/tag-reader.ts'
import './receive-bench.ts'

const input = document.getElementById('file') as HTMLInputElement
const picked = () => {
  const file = input.files?.[0]
  if (!file) throw new Error('no bench file chosen')
  return file
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now()
  const value = await fn()
  return [performance.now() - t0, value]
}

/** Read a blob start to end through its stream, discarding the bytes. */
async function drain(blob: Blob) {
  const reader = blob.stream().getReader()
  while (!(await reader.read()).done) {
    // only the time matters
  }
}

/** A tiny valid WAV whose samples (and so hash) depend on `n`. */
function tinyWav(n: number): File {
  const samples = 400
  const bytes = new Uint8Array(44 + samples * 2)
  const view = new DataView(bytes.buffer)
  const text = (at: number, s: string) => [...s].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)))
  text(0, 'RIFF')
  view.setUint32(4, 36 + samples * 2, true)
  text(8, 'WAVEfmt ')
  view.setUint32(16, 16, true)
  view.setUint16(20, 1, true)
  view.setUint16(22, 1, true)
  view.setUint32(24, 8000, true)
  view.setUint32(28, 16000, true)
  view.setUint16(32, 2, true)
  view.setUint16(34, 16, true)
  text(36, 'data')
  view.setUint32(40, samples * 2, true)
  for (let i = 0; i < samples; i++) view.setInt16(44 + i * 2, (n * 7919 + i * 31) % 30000, true)
  return new File([bytes], `tiny-${n}.wav`)
}

const bench = {
  /** Reading the chosen file alone, in the pipeline's 4 MiB slices: the ceiling for any pass over it. */
  async readOnly() {
    const file = picked()
    const step = 4 * 1024 * 1024
    const [ms] = await timed(async () => {
      for (let at = 0; at < file.size; at += step) await file.slice(at, at + step).arrayBuffer()
    })
    return { ms }
  },
  /** Worker pipeline (File → chunks → hash-wasm whole + pieces) on the chosen file. */
  async hashPipeline() {
    const file = picked()
    const [ms, digest] = await timed(() => hashInWorker(file))
    return { ms, bytes: file.size, hash: digest.contentHash }
  },
  /** hash-wasm over the same bytes already in memory (the ceiling), and WebCrypto's one-shot digest. */
  async hashInMemory() {
    const bytes = new Uint8Array(await picked().arrayBuffer())
    const hasher = await createSHA256()
    const [wasmMs, wasmHash] = await timed(async () => hasher.init().update(bytes).digest('hex'))
    const [subtleMs] = await timed(() => crypto.subtle.digest('SHA-256', bytes))
    return { wasmMs, subtleMs, bytes: bytes.length, hash: wasmHash }
  },
  /** The content store: ingest (copy + hash) and commit, then a full read of the stored blob. */
  async store() {
    const file = picked()
    const store = new OpfsStore()
    const [writeMs, staged] = await timed(async () => {
      const s = await store.ingest(file)
      await s.commit()
      return s
    })
    const hash = staged.digest.contentHash
    const blob = (await store.get(hash))!
    const [readMs] = await timed(() => drain(blob))
    await store.delete(hash)
    return { writeMs, readMs, bytes: file.size }
  },
  /** Raw OPFS: the same bytes through a bare sync access handle in a worker (the ceiling). */
  async rawOpfs() {
    const worker = new Worker(new URL('./raw-opfs.worker.ts', import.meta.url), { type: 'module' })
    const result = await new Promise<{ writeMs: number }>((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data)
      worker.onerror = (e) => reject(new Error(e.message))
      worker.postMessage({ file: picked() })
    })
    worker.terminate()
    return result
  },
  /** Import the chosen file through the whole Library pipeline (tags, ingest, catalog). */
  async importChosen() {
    const library = new Library({
      store: new OpfsStore(),
      catalog: new CatalogDb(),
      tags: workerTagReader,
      clock: systemClock,
      withLock,
    })
    await library.load()
    const [ms] = await timed(async () => {
      library.add([picked()])
      while (!library.imports.every(isEnded)) await new Promise((r) => setTimeout(r, 50))
    })
    return { ms, state: library.imports[0]?.state, message: library.imports[0]?.message }
  },
  /** Import `n` small distinct tracks; also time catalog adds alone (unless `catalogAlone` is false). */
  async importMany(n: number, catalogAlone = true) {
    const catalog = new CatalogDb()
    const library = new Library({
      store: new OpfsStore(),
      catalog,
      tags: workerTagReader,
      clock: systemClock,
      withLock,
    })
    await library.load()
    const files = Array.from({ length: n }, (_, i) => tinyWav(i))
    const [ms] = await timed(async () => {
      library.add(files)
      while (!library.imports.every(isEnded)) await new Promise((r) => setTimeout(r, 20))
    })
    const done = library.imports.filter((j) => j.state === 'done').length
    if (!catalogAlone) return { ms, done, n }
    const template = library.tracks[0]!
    const [catalogMs] = await timed(async () => {
      for (let i = 0; i < n; i++) {
        await catalog.add({ ...template, contentHash: i.toString(16).padStart(64, 'f') })
      }
    })
    return { ms, done, catalogMs, n }
  },
}

Object.assign(window, { bench })
