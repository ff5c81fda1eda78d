import { describe, expect, it } from 'vitest'
import type { Track } from '../core/catalog.ts'
import {
  fromMegabytes,
  planSentence,
  suggestedTarget,
  toMegabytes,
  USAGE_CEILING,
} from './storage-helpers.ts'

function track(n: number, size: number, extra: Partial<Track> = {}): Track {
  return {
    contentHash: n.toString(16).padStart(64, '0'),
    size,
    mime: 'audio/mpeg',
    container: 'MPEG',
    title: `T${n}`,
    pieceSize: 262144,
    pieces: [],
    piecesRoot: '',
    fileName: `t${n}.mp3`,
    addedAt: n,
    source: 'local',
    ...extra,
  }
}

describe('suggestedTarget', () => {
  const tracks = [track(1, 4_000_000, { lastPlayedAt: 9 }), track(2, 3_000_000), track(3, 5_000_000)]

  it('brings usage back under the ceiling when it is above', () => {
    const estimate = { usage: 900, quota: 1000, persisted: false }
    expect(suggestedTarget(estimate, tracks)).toBe(900 - USAGE_CEILING * 1000)
  })

  it('otherwise suggests the least recently played track alone', () => {
    expect(suggestedTarget({ usage: 10, quota: 1000, persisted: true }, tracks)).toBe(3_000_000)
    expect(suggestedTarget(undefined, tracks)).toBe(3_000_000)
    expect(suggestedTarget(undefined, tracks, [tracks[1]!.contentHash])).toBe(5_000_000)
  })

  it('suggests nothing when nothing may go', () => {
    expect(suggestedTarget(undefined, [])).toBe(0)
    expect(suggestedTarget(undefined, [track(1, 10, { pinned: true })])).toBe(0)
  })
})

describe('planSentence', () => {
  const a = track(1, 30_000_000)
  const b = track(2, 12_000_000)

  it.each<[string, Track[], number, number, string]>([
    ['asks how many tracks and bytes go', [a, b], 40_000_000, 2, 'Remove 2 tracks (42 MB)?'],
    ['speaks of one track in the singular', [a], 1, 2, 'Remove 1 track (30 MB)?'],
    [
      'says when all that may go is less than asked',
      [b],
      20_000_000,
      1,
      'Remove 1 track (12 MB)? That is every track not pinned or playing, and less than the 20 MB asked.',
    ],
    [
      'says when nothing may go, whatever the amount',
      [],
      0,
      0,
      'Nothing can be removed: every track is pinned or playing.',
    ],
    ['asks for an amount when none is given', [], 0, 2, 'Enter how much space to free.'],
  ])('%s', (_, plan, target, mayGo, sentence) => {
    expect(planSentence(plan, target, { total: 2, mayGo })).toBe(sentence)
  })

  it('says when the library is empty', () => {
    expect(planSentence([], 5, { total: 0, mayGo: 0 })).toBe('There are no tracks to remove.')
  })
})

describe('megabytes in the amount field', () => {
  it.each<[string, number]>([
    ['1', 1_000_000],
    ['0.096', 96_000],
    ['2.5', 2_500_000],
    ['', 0],
    ['-3', 0],
    ['lots', 0],
  ])('%j MB is %d bytes', (text, bytes) => {
    expect(fromMegabytes(text)).toBe(bytes)
  })

  it('shows bytes to the kilobyte', () => {
    expect(toMegabytes(64_044)).toBe('0.064')
    expect(toMegabytes(1_500_000)).toBe('1.5')
    expect(toMegabytes(0)).toBe('0')
  })
})
