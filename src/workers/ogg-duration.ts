/**
 * The length of an Ogg stream from its last page: music-metadata reads Ogg only up to its 13th
 * page when not asked for the duration (asking makes it read the whole file), so a longer Opus or
 * Vorbis file has none. The last page's granule position is the stream's sample count (for Opus,
 * at 48 kHz and after the encoder's pre-skip), so one small read at the end gives it.
 */

import type { ByteSource } from './byte-source.ts'

/** How much of the end is read: a page is at most 65,307 bytes, so the last one starts within this. */
const TAIL_BYTES = 65_307 + 27
const OPUS_RATE = 48_000

/** Seconds of audio in an Ogg file, or undefined when its pages do not say. */
export async function oggDuration(
  file: ByteSource,
  codec: string | undefined,
  sampleRate: number | undefined,
): Promise<number | undefined> {
  const head = new Uint8Array(await file.slice(0, 27 + 255 + 19).arrayBuffer())
  if (!isPage(head, 0)) return undefined
  const opus = /opus/i.test(codec ?? '') || startsWith(head, 27 + head[26]!, 'OpusHead')
  const preSkip = opus ? readPreSkip(head) : 0
  if (preSkip === undefined) return undefined
  const rate = opus ? OPUS_RATE : sampleRate
  if (!rate || rate <= 0) return undefined
  const serial = u32(head, 14)
  const start = Math.max(0, file.size - TAIL_BYTES)
  const tail = new Uint8Array(await file.slice(start).arrayBuffer())
  // The last page of the first stream whose granule position is set (-1 means "no packet ends here").
  for (let i = tail.length - 27; i >= 0; i--) {
    if (!isPage(tail, i) || u32(tail, i + 14) !== serial || !complete(tail, i)) continue
    const granule = i64(tail, i + 6)
    if (granule === undefined || granule < 0) continue
    const samples = granule - preSkip
    return samples > 0 ? samples / rate : undefined
  }
  return undefined
}

function isPage(bytes: Uint8Array, at: number): boolean {
  return at + 27 <= bytes.length && startsWith(bytes, at, 'OggS') && bytes[at + 4] === 0
}

/** The page's segment table and body are all there (a cut-off last page says nothing reliable). */
function complete(bytes: Uint8Array, at: number): boolean {
  const n = bytes[at + 26]!
  if (at + 27 + n > bytes.length) return false
  let size = 0
  for (let k = 0; k < n; k++) size += bytes[at + 27 + k]!
  return at + 27 + n + size <= bytes.length
}

function startsWith(bytes: Uint8Array, at: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) if (bytes[at + i] !== text.charCodeAt(i)) return false
  return true
}

/** The OpusHead's pre-skip (samples the decoder drops at the start). */
function readPreSkip(head: Uint8Array): number | undefined {
  const payload = 27 + head[26]!
  if (!startsWith(head, payload, 'OpusHead') || payload + 12 > head.length) return undefined
  return head[payload + 10]! | (head[payload + 11]! << 8)
}

const u32 = (b: Uint8Array, at: number) =>
  (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0

/** A little-endian int64 as a number; undefined past 2^53 (no real stream is that long). */
function i64(b: Uint8Array, at: number): number | undefined {
  const low = u32(b, at)
  const high = u32(b, at + 4)
  if (high === 0xffffffff && low === 0xffffffff) return -1
  if (high >= 0x200000) return undefined
  return high * 2 ** 32 + low
}
