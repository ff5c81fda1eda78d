import { copyFile, rename, unlink } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import type { Track } from '../core/catalog.ts'
import { DcmxError } from '../core/errors.ts'
import { isEnded, type ImportJob } from '../core/library.ts'
import type { KnownPeer } from '../core/mesh-types.ts'
import { diskFile } from '../node/fs-store.ts'
import type { OpenHome } from '../node/open-home.ts'
import type { MeshNode } from '../node/start-node.ts'
import { tempBeside } from '../node/atomic.ts'
import { findFiles } from './files.ts'

/** One file's outcome in `dcmx add`: the library's job, or a path that could not be read at all. */
export type AddEvent = Pick<
  ImportJob,
  'name' | 'size' | 'bytesDone' | 'state' | 'message' | 'contentHash' | 'code'
>
export type VerifyResult = {
  hash: string
  title: string
  ok: boolean
  problem?: string
  /** Stored bytes no track lists: an import killed between its rename and its catalog entry. */
  unlisted?: boolean
}
export type Stats = {
  peerId?: string
  running: boolean
  uptimeS?: number
  tracks: number
  storedBytes: number
  peers?: { linked: number; known: number }
  bytesIn?: number
  bytesOut?: number
  /** content-piece frames sent to peers (≤ 60 KiB each). */
  piecesSent?: number
  signaling?: string
}
export type GetProgress = {
  have: number
  total: number
  bytes: number
  size: number
  sources: number
  state: string
}

/** What every command does, whether this process holds the home or hands it to the running node. */
export interface Ops {
  add(paths: string[], onEvent: (e: AddEvent) => void, signal?: AbortSignal): Promise<AddEvent[]>
  list(): Promise<Track[]>
  stats(): Promise<Stats>
  peers(): Promise<KnownPeer[]>
  rm(hash: string): Promise<Track>
  verify(onResult: (r: VerifyResult) => void): Promise<VerifyResult[]>
  get(hash: string, onProgress: (p: GetProgress) => void): Promise<Track>
}

const view = (job: ImportJob): AddEvent => ({
  name: job.name,
  size: job.size,
  bytesDone: job.bytesDone,
  state: job.state,
  ...(job.message !== undefined ? { message: job.message } : {}),
  ...(job.contentHash !== undefined ? { contentHash: job.contentHash } : {}),
  ...(job.code !== undefined ? { code: job.code } : {}),
})

/** Import files through the core Library (tags, hash, store, catalog last), reporting each job as it moves. */
export async function addFiles(
  home: OpenHome,
  paths: string[],
  onEvent: (e: AddEvent) => void,
  signal?: AbortSignal,
) {
  const found = await findFiles(paths)
  const results: AddEvent[] = []
  const files = []
  for (const f of found) {
    if ('error' in f) {
      const event: AddEvent = {
        name: f.path,
        size: 0,
        bytesDone: 0,
        state: 'failed',
        message: f.error,
        code: 'NOT_FOUND',
      }
      results.push(event)
      onEvent(event)
    } else files.push(await diskFile(f.path, f.name))
  }
  if (files.length === 0) return results
  const { library } = home
  const jobs = library.add(files)
  const ids = new Set(jobs.map((j) => j.id))
  const onAbort = () => jobs.forEach((j) => library.cancel(j.id))
  signal?.addEventListener('abort', onAbort)
  await new Promise<void>((resolve) => {
    const seen = new Map<number, string>()
    const ended = new Set<number>()
    const report = (job: ImportJob) => {
      const key = `${job.state}:${job.bytesDone}`
      if (seen.get(job.id) === key) return
      seen.set(job.id, key)
      if (isEnded(job)) ended.add(job.id)
      onEvent(view(job))
    }
    // Each change names its job (O(1) per change), updated in place; none: look at them all.
    const check = (job?: ImportJob) => {
      if (!job) jobs.forEach(report)
      else if (ids.has(job.id)) report(job)
      if (ended.size === jobs.length) {
        off()
        resolve()
      }
    }
    const off = library.events.on('imports', check)
    check()
  })
  signal?.removeEventListener('abort', onAbort)
  const ended = library.imports.filter((j) => ids.has(j.id))
  library.clearEnded()
  return [...results, ...ended.map(view)]
}

/** Remove a track (catalog entry first, then bytes). */
export async function removeTrack(home: OpenHome, hash: string): Promise<Track> {
  const track = home.library.tracks.find((t) => t.contentHash === hash)
  if (!track) throw new DcmxError('NOT_FOUND', `No track ${hash.slice(0, 12)}… in this library.`)
  await home.library.remove(hash)
  return track
}

/** Re-hash every listed track's bytes; also report stored blobs no track lists (left by a crash). */
export async function verifyHome(
  home: OpenHome,
  onResult: (r: VerifyResult) => void,
): Promise<VerifyResult[]> {
  const results: VerifyResult[] = []
  const push = (r: VerifyResult) => (results.push(r), onResult(r))
  for (const track of home.library.tracks) {
    const digest = await home.store.digestOf(track.contentHash)
    if (!digest)
      push({ hash: track.contentHash, title: track.title, ok: false, problem: 'its bytes are missing' })
    else if (digest.contentHash !== track.contentHash)
      push({
        hash: track.contentHash,
        title: track.title,
        ok: false,
        problem: 'its bytes do not match their hash',
      })
    else if (digest.piecesRoot !== track.piecesRoot)
      push({
        hash: track.contentHash,
        title: track.title,
        ok: false,
        problem: 'its piece list does not match its bytes',
      })
    else push({ hash: track.contentHash, title: track.title, ok: true })
  }
  const listed = new Set(home.library.tracks.map((t) => t.contentHash))
  for (const hash of await home.store.list()) {
    if (listed.has(hash)) continue
    // Crash-safe imports commit the bytes before the catalog: a kill in between leaves bytes that
    // are whole but unlisted. Those are reported apart from damage; adding the file again lists them.
    const whole = (await home.store.digestOf(hash))?.contentHash === hash
    push(
      whole
        ? {
            hash,
            title: '(not in the catalog)',
            ok: true,
            unlisted: true,
            problem:
              'whole stored bytes no track lists (an interrupted import: add the file again to list it)',
          }
        : {
            hash,
            title: '(not in the catalog)',
            ok: false,
            problem: 'stored bytes no track lists, and they fail their hash',
          },
    )
  }
  return results
}

/** Fetch a track from the mesh through the node's fetcher (verified piece by piece, then whole). */
export async function fetchTrack(
  home: OpenHome,
  mesh: MeshNode,
  hash: string,
  onProgress: (p: GetProgress) => void,
) {
  const have = home.library.tracks.find((t) => t.contentHash === hash)
  if (have) return have
  const fetcher = mesh.node.fetcher
  if (!fetcher) throw new DcmxError('UNSUPPORTED', 'This node has no storage to fetch into.')
  const download = fetcher.fetch(hash)
  const report = () => {
    const v = fetcher.downloads.find((d) => d.hash === hash)
    if (v)
      onProgress({
        have: v.have,
        total: v.total,
        bytes: v.bytes,
        size: v.size,
        sources: v.sources,
        state: v.state,
      })
  }
  const off = fetcher.events.on('change', report)
  try {
    await download.finished
  } finally {
    off()
  }
  const view = fetcher.downloads.find((d) => d.hash === hash)
  if (view?.state === 'failed') throw new DcmxError('PEER_GONE', view.error ?? 'The download failed.')
  const track = home.library.tracks.find((t) => t.contentHash === hash)
  if (!track) throw new DcmxError('PEER_GONE', view?.error ?? 'The download did not complete.')
  return track
}

/**
 * Write a stored blob out to `path`, hashing the copy as it is read back: the file is renamed into
 * place only if its bytes are the content hash (verification on retrieval).
 */
export async function exportTrack(home: OpenHome | { store: OpenHome['store'] }, hash: string, path: string) {
  const tmp = tempBeside(path)
  await copyFile(home.store.pathOf(hash), tmp)
  const digest = createHash('sha256')
  for await (const chunk of createReadStream(tmp, { highWaterMark: 1 << 20 })) digest.update(chunk as Buffer)
  if (digest.digest('hex') !== hash) {
    await unlink(tmp).catch(() => {})
    throw new DcmxError(
      'HASH_MISMATCH',
      `The stored copy of ${hash.slice(0, 12)}… is damaged; run "dcmx verify".`,
    )
  }
  await rename(tmp, path)
}
