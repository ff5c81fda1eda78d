import { describe, expect, it } from 'vitest'
import { contentRange, parseRange, rangeFrom, type RangeSpec } from './range.ts'

describe('parseRange against a 1000-byte file', () => {
  const range = (start: number, end: number, open = false): RangeSpec => ({ kind: 'range', start, end, open })
  const none: RangeSpec = { kind: 'none' }
  const unsatisfiable: RangeSpec = { kind: 'unsatisfiable' }

  it.each<[string | null, RangeSpec]>([
    [null, none],
    ['', none],
    ['bytes=0-99', range(0, 100)],
    ['bytes=100-199', range(100, 200)],
    ['bytes=999-999', range(999, 1000)],
    ['bytes=500-', range(500, 1000, true)],
    ['bytes=0-', range(0, 1000, true)],
    ['bytes=900-5000', range(900, 1000)],
    ['bytes=0-99999999999999999999', range(0, 1000)],
    ['bytes=-100', range(900, 1000)],
    ['bytes=-5000', range(0, 1000)],
    ['Bytes = 10 - 19', range(10, 20)],
    ['bytes=1000-', unsatisfiable],
    ['bytes=1000-1100', unsatisfiable],
    ['bytes=99999999999999999999-', unsatisfiable],
    ['bytes=200-100', unsatisfiable],
    ['bytes=-0', unsatisfiable],
    // Not a byte range we answer: ignored, as RFC 9110 allows.
    ['items=0-10', none],
    ['bytes=abc', none],
    ['bytes=-', none],
    ['bytes=1-2-3', none],
    ['bytes=0-1,5-9', none],
    ['bytes=-1.5', none],
  ])('%j', (header, expected) => {
    expect(parseRange(header, 1000)).toEqual(expected)
  })

  it('finds nothing to satisfy in an empty file', () => {
    expect(parseRange('bytes=0-', 0)).toEqual(unsatisfiable)
    expect(parseRange('bytes=-10', 0)).toEqual(unsatisfiable)
    expect(parseRange(null, 0)).toEqual(none)
  })

  it('writes Content-Range with an inclusive last byte', () => {
    expect(contentRange(100, 200, 1000)).toBe('bytes 100-199/1000')
  })
})

describe('rangeFrom', () => {
  it.each([
    ['bytes=0-', { start: 0 }],
    ['bytes=100-199', { start: 100, end: 200 }],
    [' Bytes = 5 - 5 ', { start: 5, end: 6 }],
    ['bytes=-100', undefined],
    ['bytes=0-10,20-30', undefined],
    ['bytes=10-5', undefined],
    ['items=0-', undefined],
    ['bytes=abc', undefined],
    [`bytes=${'9'.repeat(30)}-`, undefined],
    [null, undefined],
  ])('%s → %j', (header, expected) => {
    expect(rangeFrom(header)).toEqual(expected)
  })
})
