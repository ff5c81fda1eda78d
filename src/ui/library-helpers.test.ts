import { describe, expect, it } from 'vitest'
import type { Track } from '../core/catalog.ts'
import type { ImportJob } from '../core/library.ts'
import { filesFromEntries } from './dropped-files.ts'
import {
  compareTracks,
  formatDuration,
  importSummary,
  matches,
  overallProgress,
  progressLine,
  type SortDir,
  type SortKey,
} from './library-helpers.ts'

function track(title: string, extra: Partial<Track> = {}): Track {
  return {
    contentHash: title.padEnd(64, '0').slice(0, 64),
    size: 1000,
    mime: 'audio/mpeg',
    container: 'MPEG',
    title,
    pieceSize: 262144,
    pieces: [],
    piecesRoot: '',
    fileName: `${title}.mp3`,
    addedAt: 0,
    source: 'local',
    ...extra,
  }
}

function job(name: string, size: number, state: ImportJob['state'], bytesDone = 0): ImportJob {
  return { id: name.length, name, size, bytesDone, state }
}

describe('formatDuration', () => {
  it.each([
    [undefined, '—'],
    [Number.NaN, '—'],
    [Number.POSITIVE_INFINITY, '—'],
    [-1, '—'],
    [0, '0:00'],
    [2.088, '0:02'],
    [12, '0:12'],
    [59.6, '0:59'],
    [187, '3:07'],
    [271.77, '4:31'],
    [3599.4, '59:59'],
    [3600, '1:00:00'],
    [3723, '1:02:03'],
    [36000, '10:00:00'],
  ])('%s s is shown as %s', (seconds, shown) => {
    expect(formatDuration(seconds)).toBe(shown)
  })
})

describe('compareTracks', () => {
  const a = track('Alpha', { artist: 'Zed', album: 'B', durationS: 300, size: 5, addedAt: 3 })
  const b = track('beta', { artist: 'Ann', album: 'A', durationS: 100, size: 50, addedAt: 1 })
  const c = track('Track 10', { durationS: 200, size: 500, addedAt: 2 })
  const d = track('Track 2', { artist: 'ann', album: 'A', trackNo: 1, size: 5000, addedAt: 4 })
  const all = [a, b, c, d]
  const order = (key: SortKey, dir: SortDir) => [...all].sort(compareTracks(key, dir)).map((t) => t.title)

  it.each<[SortKey, SortDir, string[]]>([
    ['title', 'asc', ['Alpha', 'beta', 'Track 2', 'Track 10']],
    ['title', 'desc', ['Track 10', 'Track 2', 'beta', 'Alpha']],
    ['size', 'asc', ['Alpha', 'beta', 'Track 10', 'Track 2']],
    ['size', 'desc', ['Track 2', 'Track 10', 'beta', 'Alpha']],
    ['added', 'asc', ['beta', 'Track 10', 'Alpha', 'Track 2']],
    ['added', 'desc', ['Track 2', 'Alpha', 'Track 10', 'beta']],
  ])('by %s %s', (key, dir, expected) => {
    expect(order(key, dir)).toEqual(expected)
  })

  it('ignores case and compares numbers inside titles numerically', () => {
    expect(order('title', 'asc').indexOf('Track 2')).toBeLessThan(order('title', 'asc').indexOf('Track 10'))
  })

  it('puts tracks without the value last in both directions', () => {
    expect(order('artist', 'asc').at(-1)).toBe('Track 10')
    expect(order('artist', 'desc').at(-1)).toBe('Track 10')
    expect(order('duration', 'asc').at(-1)).toBe('Track 2')
    expect(order('duration', 'desc').at(-1)).toBe('Track 2')
  })

  it('breaks ties in album order: album, then track number, then title', () => {
    // "Ann" and "ann" are the same artist; both on album A, Track 2 is track 1.
    expect(order('artist', 'asc').slice(0, 2)).toEqual(['Track 2', 'beta'])
    expect(order('artist', 'desc').slice(0, 1)).toEqual(['Alpha'])
  })
})

describe('matches', () => {
  const t = track('Café del Mar', {
    artist: 'Energy 52',
    album: 'Trance Classics',
    fileName: 'cdm-1993.flac',
  })

  it.each([
    ['', true],
    ['   ', true],
    ['cafe', true],
    ['CAFÉ', true],
    ['energy', true],
    ['classics', true],
    ['1993', true],
    ['mar energy', true],
    ['mar techno', false],
    ['<b>', false],
  ])('%j → %s', (query, expected) => {
    expect(matches(t, query)).toBe(expected)
  })

  it('treats markup in tags as plain text', () => {
    expect(matches(track('<b>bold</b>'), '<b>')).toBe(true)
  })
})

describe('overallProgress', () => {
  it('is complete and silent for an empty queue', () => {
    const p = overallProgress([])
    expect(p).toMatchObject({ files: 0, ended: 0, active: 0, bytesTotal: 0, fraction: 1 })
    expect(importSummary(p)).toBe('')
  })

  it('counts ended jobs as fully processed and running ones by their bytes', () => {
    const p = overallProgress([
      job('a.mp3', 10_000_000, 'done', 10_000_000),
      job('bb.mp3', 20_000_000, 'failed', 3_000_000),
      job('ccc.mp3', 40_000_000, 'storing', 15_000_000),
      job('dddd.mp3', 50_000_000, 'queued'),
    ])
    expect(p).toMatchObject({
      files: 4,
      ended: 2,
      active: 2,
      added: 1,
      failed: 1,
      bytesTotal: 120_000_000,
      bytesDone: 45_000_000,
    })
    expect(p.fraction).toBeCloseTo(0.375)
    expect(progressLine(p)).toBe('2 of 4 files, 45 MB of 120 MB')
    expect(importSummary(p)).toBe('Importing: 2 files to go; 1 added, 1 failed.')
  })

  it('never reports more bytes than a job has', () => {
    expect(overallProgress([job('a', 10, 'storing', 99)]).bytesDone).toBe(10)
  })

  it('uses the file count when every file is empty', () => {
    expect(overallProgress([job('a', 0, 'failed'), job('bb', 0, 'queued')]).fraction).toBe(0.5)
  })

  it('sums up the outcome once everything has ended', () => {
    const p = overallProgress([
      job('a', 1, 'done', 1),
      job('bb', 1, 'duplicate', 1),
      job('ccc', 1, 'cancelled'),
    ])
    expect(importSummary(p)).toBe('Import finished: 1 added, 1 already in your library, 1 cancelled.')
    expect(progressLine(overallProgress([job('a', 1500, 'queued')]))).toBe('0 of 1 file, 0 B of 1.5 KB')
  })
})

describe('filesFromEntries', () => {
  type Fake = FileSystemEntry
  const file = (name: string, fail = false): Fake =>
    ({
      name,
      isFile: true,
      isDirectory: false,
      file: (ok: (f: File) => void, err: (e: Error) => void) =>
        fail ? err(new Error('unreadable')) : ok(new File(['x'], name)),
    }) as unknown as Fake
  /** A folder whose reader hands out children two at a time, as Chromium does (in batches). */
  const dir = (name: string, children: Fake[]): Fake =>
    ({
      name,
      isFile: false,
      isDirectory: true,
      createReader: () => {
        let at = 0
        return {
          readEntries: (ok: (batch: Fake[]) => void) => {
            const batch = children.slice(at, at + 2)
            at += batch.length
            queueMicrotask(() => ok(batch))
          },
        }
      },
    }) as unknown as Fake

  it('walks folders depth first, in natural name order, reading every batch, skipping unreadable files', async () => {
    const files = await filesFromEntries([
      dir('Album', [
        file('10 - Ten.flac'),
        file('2 - Two.flac'),
        file('cover.jpg'),
        file('broken.mp3', true),
        dir('Disc 2', [file('1 - One.flac')]),
      ]),
      file('single.mp3'),
    ])
    expect(files.map((f) => f.name)).toEqual([
      '2 - Two.flac',
      '10 - Ten.flac',
      'cover.jpg',
      '1 - One.flac',
      'single.mp3',
    ])
  })
})
