import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseBlob } from 'music-metadata'
import { describe, expect, it } from 'vitest'
import { oggDuration } from './ogg-duration.ts'
import { readTags } from './tags.ts'

const SAMPLES = resolve(import.meta.dirname, '../../../shared/samples')

/** Ogg's CRC-32 (polynomial 0x04c11db7, no reflection, no final xor) over a page with its CRC field zeroed. */
function oggCrc(page: Uint8Array): number {
  let crc = 0
  for (const byte of page) {
    crc ^= byte << 24
    for (let k = 0; k < 8; k++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1
  }
  return crc >>> 0
}

type Page = { type: number; granule: bigint; segments: Uint8Array; body: Uint8Array }

function readPages(bytes: Uint8Array): Page[] {
  const pages: Page[] = []
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  for (let at = 0; at < bytes.length;) {
    const n = bytes[at + 26]!
    const segments = bytes.subarray(at + 27, at + 27 + n)
    const size = segments.reduce((s, x) => s + x, 0)
    pages.push({
      type: bytes[at + 5]!,
      granule: view.getBigInt64(at + 6, true),
      segments,
      body: bytes.subarray(at + 27 + n, at + 27 + n + size),
    })
    at += 27 + n + size
  }
  return pages
}

function writePage(page: Page, serial: number, seq: number): Uint8Array {
  const out = new Uint8Array(27 + page.segments.length + page.body.length)
  const view = new DataView(out.buffer)
  out.set([0x4f, 0x67, 0x67, 0x53, 0, page.type])
  view.setBigInt64(6, page.granule, true)
  view.setUint32(14, serial, true)
  view.setUint32(18, seq, true)
  out[26] = page.segments.length
  out.set(page.segments, 27)
  out.set(page.body, 27 + page.segments.length)
  view.setUint32(22, oggCrc(out), true)
  return out
}

/** The Opus sample stretched to `audioPages` pages of one second each (the same audio page repeated). */
function longOpus(audioPages: number): Blob {
  const bytes = new Uint8Array(readFileSync(resolve(SAMPLES, 'opus.ogg')))
  const serial = new DataView(bytes.buffer).getUint32(14, true)
  const [head, tags, audio] = readPages(bytes) as [Page, Page, Page]
  const pages = [head, tags]
  for (let k = 1; k <= audioPages; k++)
    pages.push({ ...audio, type: k === audioPages ? 4 : 0, granule: BigInt(48_000 * k) })
  return new Blob(pages.map((p, i) => writePage(p, serial, i)) as BlobPart[])
}

describe.runIf(existsSync(SAMPLES))('the duration of a long Ogg Opus file', () => {
  it('music-metadata alone gives none past 13 pages (the cause), the last page gives it', async () => {
    const file = longOpus(40)
    expect((await parseBlob(file, { duration: false })).format.duration).toBeUndefined()
    const preSkip = 312 / 48_000
    expect(await oggDuration(file, 'Opus', 48_000)).toBeCloseTo(40 - preSkip, 3)
    const tags = await readTags(file)
    expect(tags.codec).toBe('Opus')
    expect(tags.durationS).toBeCloseTo(40 - preSkip, 3)
  })

  it('a short file keeps music-metadata’s own figure, and a cut-off tail gives no figure rather than a wrong one', async () => {
    expect((await readTags(new Blob([readFileSync(resolve(SAMPLES, 'opus.ogg'))]))).durationS).toBeCloseTo(
      2.91,
      2,
    )
    expect(await oggDuration(new Blob([new Uint8Array(100)]), 'Opus', 48_000)).toBeUndefined()
    const file = longOpus(20)
    expect(await oggDuration(file.slice(0, 400), 'Opus', 48_000)).toBeUndefined()
  })
})
