/**
 * Evidence that bytes really are an MPEG audio (MP1/2/3) or ADTS (AAC) stream. A frame sync is just
 * eleven set bits, so arbitrary data is full of false ones; a real stream has frames that follow
 * each other exactly, each starting where the previous one's header says it ends, with the same
 * version, layer and sample rate. That chain is what decoders probe for and what we require.
 */

import type { ByteSource } from './byte-source.ts'

export type FrameStream = 'mpeg' | 'adts'

type Frame = { stream: FrameStream; length: number; key: number }

/** Frames in a row that count as a stream (a random match of even two is already rare). */
const MIN_CHAIN = 3
/** How far past the tags a stream may start (encoders pad with zeros; a few KiB is typical). */
export const SCAN_BYTES = 1024 * 1024
/** Several ID3v2 tags may be stacked at the start; more than this is not a real file. */
const MAX_ID3_TAGS = 8

// Bit rates in kbit/s by [version group][layer] and index 1..14 (index 0 "free" and 15 are not usable).
const BITRATES: Record<'v1' | 'v2', [number[], number[], number[]]> = {
  v1: [
    [32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
    [32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
    [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  ],
  v2: [
    [32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
    [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
    [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  ],
}
// Sample rates by version bits (0 = MPEG 2.5, 2 = MPEG 2, 3 = MPEG 1) and rate index 0..2.
const SAMPLE_RATES: Record<number, number[]> = {
  0: [11025, 12000, 8000],
  2: [22050, 24000, 16000],
  3: [44100, 48000, 32000],
}

/** The frame whose header starts at `at`, or undefined if these four bytes are not a valid header. */
export function frameAt(b: Uint8Array, at: number): Frame | undefined {
  if (at + 4 > b.length) return undefined
  const b0 = b[at]!
  const b1 = b[at + 1]!
  const b2 = b[at + 2]!
  const b3 = b[at + 3]!
  if (b0 !== 0xff || (b1 & 0xe0) !== 0xe0) return undefined
  // ADTS: 12-bit sync and the layer bits 00 that MPEG audio reserves.
  if ((b1 & 0xf6) === 0xf0) {
    if (at + 7 > b.length) return undefined
    const rateIndex = (b2 >> 2) & 0x0f
    if (rateIndex > 12) return undefined
    const length = ((b3 & 0x03) << 11) | (b[at + 4]! << 3) | (b[at + 5]! >> 5)
    const headerLength = b1 & 0x01 ? 7 : 9
    if (length < headerLength) return undefined
    return { stream: 'adts', length, key: (b1 & 0x08) | ((b2 >> 6) << 4) | (rateIndex << 8) }
  }
  const version = (b1 >> 3) & 0x03
  const layerBits = (b1 >> 1) & 0x03
  const bitrateIndex = b2 >> 4
  const rateIndex = (b2 >> 2) & 0x03
  if (version === 1 || layerBits === 0 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3)
    return undefined
  if ((b3 & 0x03) === 2) return undefined // reserved emphasis
  const layer = 4 - layerBits // 1, 2 or 3
  const sampleRate = SAMPLE_RATES[version]![rateIndex]!
  const bitrate = BITRATES[version === 3 ? 'v1' : 'v2'][layer - 1]![bitrateIndex - 1]! * 1000
  const padding = (b2 >> 1) & 0x01
  const length =
    layer === 1
      ? (Math.floor((12 * bitrate) / sampleRate) + padding) * 4
      : Math.floor(((layer === 3 && version !== 3 ? 72 : 144) * bitrate) / sampleRate) + padding
  return { stream: 'mpeg', length, key: (version << 4) | (layer << 2) | rateIndex }
}

/**
 * The offset of the first run of chained frames in `b`, or undefined. `atEnd` says `b` reaches the
 * end of the file, so a short stream whose chain lands exactly on the end still counts.
 */
export function findFrameChain(
  b: Uint8Array,
  atEnd: boolean,
): { offset: number; stream: FrameStream } | undefined {
  for (let start = b.indexOf(0xff); start !== -1; start = b.indexOf(0xff, start + 1)) {
    const first = frameAt(b, start)
    if (!first) continue
    let frames = 1
    let at = start + first.length
    while (frames < MIN_CHAIN) {
      const next = frameAt(b, at)
      if (!next || next.stream !== first.stream || next.key !== first.key) break
      frames++
      at += next.length
    }
    const endsTheFile = atEnd && frames >= 2 && (at === b.length || at === b.length - 128)
    if (frames >= MIN_CHAIN || endsTheFile) return { offset: start, stream: first.stream }
  }
  return undefined
}

/** Where the bytes after any ID3v2 tags at the start of `blob` begin. */
export async function afterId3v2(blob: ByteSource): Promise<number> {
  let at = 0
  for (let tags = 0; tags < MAX_ID3_TAGS; tags++) {
    const h = new Uint8Array(await blob.slice(at, at + 10).arrayBuffer())
    const isTag =
      h.length === 10 &&
      h[0] === 0x49 && // I
      h[1] === 0x44 && // D
      h[2] === 0x33 && // 3
      h[3]! >= 2 &&
      h[3]! <= 4 &&
      h[4] !== 0xff &&
      h.subarray(6, 10).every((x) => x < 0x80)
    if (!isTag) break
    const size = (h[6]! << 21) | (h[7]! << 14) | (h[8]! << 7) | h[9]!
    at += 10 + size + (h[5]! & 0x10 ? 10 : 0)
  }
  return at
}

/** True when `blob` starts with an ID3v2 tag: the signature of an MP3 file. */
export async function startsWithId3(blob: ByteSource): Promise<boolean> {
  return (await afterId3v2(blob)) > 0
}

/** Look for a real MPEG/ADTS frame stream after the tags at the start of `blob`. */
export async function scanForFrames(blob: ByteSource): Promise<FrameStream | undefined> {
  const start = await afterId3v2(blob)
  if (start >= blob.size) return undefined
  const end = Math.min(blob.size, start + SCAN_BYTES)
  const window = new Uint8Array(await blob.slice(start, end).arrayBuffer())
  return findFrameChain(window, end === blob.size)?.stream
}
