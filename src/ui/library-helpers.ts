import type { Track } from '../core/catalog.ts'
import { formatBytes, isEnded, type ImportJob } from '../core/library.ts'

/** What the track list can be ordered by; 'added' is the library's own order (oldest first). */
export type SortKey = 'title' | 'artist' | 'album' | 'duration' | 'size' | 'added'
export type SortDir = 'asc' | 'desc'

/** 187 → "3:07", 3723 → "1:02:03"; "—" when the length is unknown. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—'
  // Whole seconds, truncated as the browser's own audio controls show them, so the two agree.
  const total = Math.floor(seconds)
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = String(total % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`
}

// Numeric so "Track 2" sorts before "Track 10"; base sensitivity so case and accents do not split.
const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' })

/** Natural order for names: "Track 2" before "Track 10", case and accents ignored; missing counts as "". */
export const compareText = (a: string | undefined, b: string | undefined): number =>
  collator.compare(a ?? '', b ?? '')
const text = compareText
/** Missing numbers (a track without a track number) go after present ones. */
const number = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? Number(a === undefined) - Number(b === undefined) : a - b

function keyOf(track: Track, key: SortKey): string | number | undefined {
  switch (key) {
    case 'title':
      return track.title
    case 'artist':
      return track.artist
    case 'album':
      return track.album
    case 'duration':
      return track.durationS
    case 'size':
      return track.size
    case 'added':
      return track.addedAt
  }
}

/** Ties fall back to album order: album, track number, title, then when it was added. */
function tieBreak(a: Track, b: Track): number {
  return (
    text(a.album, b.album) ||
    number(a.trackNo, b.trackNo) ||
    text(a.title, b.title) ||
    a.addedAt - b.addedAt ||
    text(a.contentHash, b.contentHash)
  )
}

/** A comparator for `key` in direction `dir`; tracks missing the value (no artist…) always go last. */
export function compareTracks(key: SortKey, dir: SortDir): (a: Track, b: Track) => number {
  const sign = dir === 'asc' ? 1 : -1
  return (a, b) => {
    const x = keyOf(a, key)
    const y = keyOf(b, key)
    if (x === undefined || y === undefined || x === '' || y === '') {
      const missing = Number(x === undefined || x === '') - Number(y === undefined || y === '')
      if (missing !== 0) return missing
      return tieBreak(a, b)
    }
    const primary =
      typeof x === 'number' && typeof y === 'number' ? x - y : collator.compare(String(x), String(y))
    return sign * primary || tieBreak(a, b)
  }
}

/** Lower-case without accents, so "beyonce" finds "Beyoncé". */
function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLocaleLowerCase()
}

/** What a search looks through: a library track, or a network track (which has no file name). */
export type Searchable = {
  title: string
  artist?: string | undefined
  album?: string | undefined
  fileName?: string | undefined
}

/** The words of a search, folded as `searchText` is: a track matches when its text has each one. */
export const searchWords = (query: string): string[] => fold(query).split(/\s+/).filter(Boolean)

/** What a search looks through, folded: title, artist, album and file name (computed once per track). */
export const searchText = (track: Searchable): string =>
  fold([track.title, track.artist, track.album, track.fileName].filter(Boolean).join('\n'))

/** Whether every word of `query` appears in the track's title, artist, album or file name. */
export function matches(track: Searchable, query: string): boolean {
  const words = searchWords(query)
  if (words.length === 0) return true
  const haystack = searchText(track)
  return words.every((word) => haystack.includes(word))
}

/** The import queue summed up, for the overall progress line and the polite announcement. */
export type ImportProgress = {
  files: number
  /** Jobs that have ended, whatever their outcome. */
  ended: number
  /** Jobs still queued or running. */
  active: number
  added: number
  duplicates: number
  failed: number
  cancelled: number
  bytesTotal: number
  /** Ended jobs count as wholly done: their bytes will not be processed any further. */
  bytesDone: number
  /** 0…1; 1 for an empty queue. */
  fraction: number
}

/** What of a job the progress counts. */
export type CountedJob = Pick<ImportJob, 'size' | 'bytesDone' | 'state'>

/** An empty queue's progress. */
export function noProgress(): ImportProgress {
  return {
    files: 0,
    ended: 0,
    active: 0,
    added: 0,
    duplicates: 0,
    failed: 0,
    cancelled: 0,
    bytesTotal: 0,
    bytesDone: 0,
    fraction: 1,
  }
}

/**
 * Add a job's share to the counters of `p` (`sign` 1), or take it back out (-1): a job that
 * changes is taken out as it was and added as it is, so one change costs O(1). `fraction` is left
 * for `withFraction`.
 */
export function countJob(p: ImportProgress, job: CountedJob, sign: 1 | -1): void {
  p.files += sign
  p.bytesTotal += sign * job.size
  if (isEnded(job)) {
    p.ended += sign
    p.bytesDone += sign * job.size
  } else {
    p.active += sign
    p.bytesDone += sign * Math.min(job.bytesDone, job.size)
  }
  if (job.state === 'done') p.added += sign
  else if (job.state === 'duplicate') p.duplicates += sign
  else if (job.state === 'failed') p.failed += sign
  else if (job.state === 'cancelled') p.cancelled += sign
}

/** A copy of `p` with its fraction worked out. */
export function withFraction(p: ImportProgress): ImportProgress {
  const fraction = p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : p.files > 0 ? p.ended / p.files : 1
  return { ...p, fraction }
}

/** Sum up the import queue. */
export function overallProgress(jobs: readonly CountedJob[]): ImportProgress {
  const p = noProgress()
  for (const job of jobs) countJob(p, job, 1)
  return withFraction(p)
}

/** "3 of 10 files, 45 MB of 120 MB". */
export function progressLine(p: ImportProgress): string {
  const files = `${p.ended} of ${p.files} ${p.files === 1 ? 'file' : 'files'}`
  return `${files}, ${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)}`
}

const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

/** The sentence announced politely as imports progress: it changes once per file, not per byte. */
export function importSummary(p: ImportProgress): string {
  if (p.files === 0) return ''
  const outcomes = [
    p.added > 0 ? `${p.added} added` : '',
    p.duplicates > 0 ? `${p.duplicates} already in your library` : '',
    p.failed > 0 ? `${p.failed} failed` : '',
    p.cancelled > 0 ? `${p.cancelled} cancelled` : '',
  ].filter(Boolean)
  if (p.active > 0) {
    const head = `Importing: ${count(p.active, 'file')} to go`
    return outcomes.length > 0 ? `${head}; ${outcomes.join(', ')}.` : `${head}.`
  }
  return `Import finished: ${outcomes.join(', ')}.`
}

/** What each import state is called on screen. */
export const STATE_LABEL: Record<ImportJob['state'], string> = {
  queued: 'Waiting',
  reading: 'Reading tags',
  storing: 'Storing',
  done: 'Added',
  duplicate: 'Already in library',
  failed: 'Failed',
  cancelled: 'Cancelled',
}
