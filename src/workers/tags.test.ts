import { createHash, randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Tags } from '../core/catalog.ts'
import { DcmxError } from '../core/errors.ts'
import { SMALL_FILE_BYTES } from '../core/library.ts'
import { MAX_COVER_BYTES, readTags as readTagsWith } from './tags.ts'

/** Every case runs both ways: a small file read whole into memory (the default), and by byte ranges. */
let inMemoryBytes = SMALL_FILE_BYTES
const readTags = (source: Blob) => readTagsWith(source, inMemoryBytes)

const SAMPLES = resolve(import.meta.dirname, '../../../shared/samples')
const sample = (name: string) => new Blob([readFileSync(resolve(SAMPLES, name))])
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

/** The DcmxError code readTags rejects with, or 'accepted'. Anything else (a crash) fails the test. */
async function outcome(blob: Blob): Promise<string> {
  try {
    await readTags(blob)
    return 'accepted'
  } catch (error) {
    if (error instanceof DcmxError) return error.code
    throw error
  }
}

async function rejection(blob: Blob): Promise<DcmxError> {
  const error: unknown = await readTags(blob).then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!(error instanceof DcmxError)) throw new Error(`expected a DcmxError, got ${String(error)}`)
  return error
}

// --- Fixtures built here -------------------------------------------------------------------------

const ascii = (text: string) => new Uint8Array([...text].map((c) => c.charCodeAt(0)))
const u32le = (n: number) => new Uint8Array([n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff])
const u16le = (n: number) => new Uint8Array([n & 0xff, (n >> 8) & 0xff])
const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts))

/** A 16-bit PCM WAV of a sine tone; `claimedDataBytes` lets the header lie about its length. */
function wav(opts: { seconds: number; rate?: number; channels?: number; claimedDataBytes?: number }) {
  const rate = opts.rate ?? 8000
  const channels = opts.channels ?? 1
  const frames = Math.round(opts.seconds * rate)
  const data = new Int16Array(frames * channels)
  for (let i = 0; i < frames; i++)
    for (let c = 0; c < channels; c++) data[i * channels + c] = Math.round(8000 * Math.sin(i / 4))
  const pcm = new Uint8Array(data.buffer)
  const fmt = concat(
    ascii('fmt '),
    u32le(16),
    u16le(1),
    u16le(channels),
    u32le(rate),
    u32le(rate * channels * 2),
    u16le(channels * 2),
    u16le(16),
  )
  const dataChunk = concat(ascii('data'), u32le(opts.claimedDataBytes ?? pcm.length), pcm)
  return concat(ascii('RIFF'), u32le(4 + fmt.length + dataChunk.length), ascii('WAVE'), fmt, dataChunk)
}

/** MPEG-1 Layer III frames at 128 kbit/s, 44.1 kHz (417 bytes each, silent payload), after `lead` zero bytes. */
function mpegFrames(count: number, lead = 0) {
  const frame = new Uint8Array(417)
  frame.set([0xff, 0xfb, 0x90, 0x00])
  return concat(new Uint8Array(lead), ...Array.from({ length: count }, () => frame))
}

/** ADTS (AAC-LC, 44.1 kHz, stereo) frames of 200 bytes each, silent payload. */
function adtsFrames(count: number) {
  const length = 200
  const frame = new Uint8Array(length)
  frame.set([0xff, 0xf1, 0x50, 0x80 | (length >> 11), (length >> 3) & 0xff, ((length & 7) << 5) | 0x1f, 0xfc])
  return concat(...Array.from({ length: count }, () => frame))
}

const syncsafe = (n: number) =>
  new Uint8Array([(n >> 21) & 0x7f, (n >> 14) & 0x7f, (n >> 7) & 0x7f, n & 0x7f])
const u32be = (n: number) => new Uint8Array([(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff])

/** An ID3v2.3 tag holding the given frames. */
function id3v23(frames: Uint8Array[]) {
  const body = concat(...frames)
  return concat(ascii('ID3'), new Uint8Array([3, 0, 0]), syncsafe(body.length), body)
}
const id3Frame = (id: string, content: Uint8Array) =>
  concat(ascii(id), u32be(content.length), new Uint8Array(2), content)
const textFrame = (id: string, text: string) => id3Frame(id, concat(new Uint8Array([0]), ascii(text)))
const apic = (mime: string, data: Uint8Array) =>
  id3Frame('APIC', concat(new Uint8Array([0]), ascii(`${mime}\0`), new Uint8Array([3, 0]), data))

const PNG = concat(
  new Uint8Array([0x89]),
  ascii('PNG\r\n\x1a\n'),
  u32be(13),
  ascii('IHDR'),
  u32be(1),
  u32be(1),
  new Uint8Array([8, 6, 0, 0, 0]),
  u32be(0x1f15c489),
  u32be(0),
  ascii('IEND'),
  u32be(0xae426082),
)

/** A Blob that counts the bytes read through it and through every slice of it. */
class CountingBlob extends Blob {
  constructor(
    parts: BlobPart[],
    readonly counter: { bytes: number; reads?: number },
  ) {
    super(parts)
  }
  override slice(start?: number, end?: number, type?: string): Blob {
    return new CountingBlob([super.slice(start, end, type)], this.counter)
  }
  override async arrayBuffer(): Promise<ArrayBuffer> {
    this.counter.bytes += this.size
    this.counter.reads = (this.counter.reads ?? 0) + 1
    return super.arrayBuffer()
  }
  override stream(): ReturnType<Blob['stream']> {
    throw new Error('the whole blob must not be streamed')
  }
}

// --- Tests ---------------------------------------------------------------------------------------

function builtByTest() {
  describe('readTags on files built by the test', () => {
    it('accepts a PCM WAV with its real duration, container and codec', async () => {
      const tags = await readTags(new Blob([wav({ seconds: 3, rate: 8000, channels: 2 })]))
      expect(tags).toMatchObject({ mime: 'audio/wav', container: 'WAVE', codec: 'PCM' })
      expect(tags.durationS).toBeCloseTo(3, 5)
      expect(tags.title).toBeUndefined()
      expect(tags.cover).toBeUndefined()
    })

    it('decides by content: a WAV declared text/plain is audio, text declared audio/mpeg is not', async () => {
      expect((await readTags(new Blob([wav({ seconds: 1 })], { type: 'text/plain' }))).mime).toBe('audio/wav')
      const named = new File(['Shopping list:\n- milk\n'.repeat(100)], 'song.mp3', { type: 'audio/mpeg' })
      expect(await outcome(named)).toBe('NOT_AUDIO')
    })

    it('refuses UTF-8 text as NOT_AUDIO with a sentence saying so', async () => {
      const error = await rejection(new Blob(['Ünïcödé lyrics ♪ — not a song\n'.repeat(500)]))
      expect(error.code).toBe('NOT_AUDIO')
      expect(error.message).toMatch(/^This is not an audio file \(.+\)\.$/)
    })

    it.each([1, 2, 3, 4, 5, 6])('refuses random bytes as NOT_AUDIO (seed %i)', async (seed) => {
      const bytes = randomBytes(64 * 1024 * seed)
      expect(await outcome(new Blob([bytes]))).toBe('NOT_AUDIO')
    })

    it.each([
      ['MPEG-1 Layer III', [0xff, 0xfb, 0x90, 0x00]],
      ['MPEG-2 Layer III', [0xff, 0xf3, 0x40, 0xc0]],
      ['ADTS', [0xff, 0xf1, 0x50, 0x80, 0x19, 0x1f, 0xfc]],
    ])('refuses random bytes that open with a %s frame header', async (_name, header) => {
      // The type guesser calls these MP3 or AAC; the frame scan finds no chain of frames and refuses them.
      for (let i = 0; i < 4; i++) {
        const bytes = randomBytes(256 * 1024)
        bytes.set(header)
        expect(await outcome(new Blob([bytes]))).toBe('NOT_AUDIO')
      }
    })

    it('refuses an image as NOT_AUDIO and names its type', async () => {
      const error = await rejection(new Blob([PNG]))
      expect(error.code).toBe('NOT_AUDIO')
      expect(error.message).toContain('image/png')
    })

    it('accepts bare MPEG frames after zero padding, with the CBR duration', async () => {
      // Like sine-1k.mp3: the type guesser only looks a few bytes in, so the frame scan finds them.
      const tags = await readTags(new Blob([mpegFrames(100, 2000)]))
      expect(tags).toMatchObject({ mime: 'audio/mpeg', container: 'MPEG', codec: 'MPEG 1 Layer 3' })
      expect(tags.durationS).toBeCloseTo((100 * 1152) / 44100, 1)
    })

    it('accepts an ADTS (raw AAC) stream as audio/aac', async () => {
      const tags = await readTags(new Blob([adtsFrames(50)]))
      expect(tags).toMatchObject({ mime: 'audio/aac', container: 'ADTS' })
      expect(tags.codec).toMatch(/AAC/)
    })

    it('reads ID3v2 text, the track number and the first usable cover; skips oversized and fake images', async () => {
      const huge = new Uint8Array(MAX_COVER_BYTES + 1)
      huge.set([0xff, 0xd8, 0xff])
      const tag = id3v23([
        textFrame('TIT2', '  Generated\u0000 Song  '),
        textFrame('TPE1', '   '),
        textFrame('TALB', 'Fixtures'),
        textFrame('TRCK', '3/12'),
        apic('image/jpeg', huge),
        apic('image/jpeg', ascii('not an image at all')),
        apic('image/jpeg', PNG),
      ])
      const tags = await readTags(new Blob([tag, mpegFrames(20)]))
      expect(tags.title).toBe('Generated Song')
      expect(tags.artist).toBeUndefined()
      expect(tags.album).toBe('Fixtures')
      expect(tags.trackNo).toBe(3)
      expect(tags.cover).toMatchObject({ hash: sha256(PNG), mime: 'image/png' })
      expect(tags.cover?.data.type).toBe('image/png')
      expect(new Uint8Array(await tags.cover!.data.arrayBuffer())).toEqual(PNG)
    })

    it('refuses MP3 tags with no audio frames after them', async () => {
      const tag = id3v23([textFrame('TIT2', 'Only a tag')])
      const error = await rejection(new Blob([tag, new Uint8Array(5000)]))
      expect(error.code).toBe('NOT_AUDIO')
      expect(error.message).toContain('no audio')
    })

    it('refuses an MP3 cut in the middle of its tag header, without crashing', async () => {
      const full = concat(id3v23([textFrame('TIT2', 'Cut short'), apic('image/png', PNG)]), mpegFrames(10))
      for (const cut of [3, 7, 12, 24, 60]) {
        expect(['UNREADABLE', 'NOT_AUDIO']).toContain(await outcome(new Blob([full.subarray(0, cut)])))
      }
    })

    it('refuses a WAV cut inside its header as damaged', async () => {
      const error = await rejection(new Blob([wav({ seconds: 1 }).subarray(0, 30)]))
      expect(error.code).toBe('UNREADABLE')
      expect(error.message).toMatch(/WAVE file looks damaged/)
    })

    it('gives a WAV whose header claims more data than exists a duration no longer than its bytes', async () => {
      const bytes = wav({ seconds: 2, rate: 8000, claimedDataBytes: 50_000_000 })
      const tags = await readTags(new Blob([bytes]))
      expect(tags.durationS).toBeGreaterThan(0)
      expect(tags.durationS!).toBeLessThanOrEqual(2.001)
    })

    it('survives MPEG streams cut anywhere, accepting only sane values', async () => {
      const full = concat(id3v23([textFrame('TIT2', 'Cut')]), mpegFrames(12))
      for (let cut = 1; cut < full.length; cut += 97) {
        const result = await readTags(new Blob([full.subarray(0, cut)])).then(
          (tags: Tags) => tags,
          (error: unknown) => {
            if (error instanceof DcmxError && ['NOT_AUDIO', 'UNREADABLE'].includes(error.code))
              return error.code
            throw error
          },
        )
        if (typeof result !== 'string' && result.durationS !== undefined) {
          expect(result.durationS).toBeGreaterThan(0)
          expect(result.durationS).toBeLessThan(1)
        }
      }
    })

    it('reads only byte ranges of a large file, never the whole of it', async () => {
      const counter = { bytes: 0 }
      const big = wav({ seconds: 1800, rate: 8000, channels: 2 }) // ~58 MB
      const tags = await readTags(new CountingBlob([big], counter))
      expect(tags.durationS).toBeCloseTo(1800, 3)
      expect(counter.bytes).toBeLessThan(1024 * 1024)

      const mp3Counter = { bytes: 0 }
      const mp3 = mpegFrames(40_000) // ~16 MB
      await readTags(new CountingBlob([mp3], mp3Counter))
      expect(mp3Counter.bytes).toBeLessThan(4 * 1024 * 1024)
    })

    it('reads a small file in one read (each read of a Blob is a round trip in a browser); by ranges when told to', async () => {
      const bytes = mpegFrames(400) // ~160 KB
      const counter = { bytes: 0, reads: 0 }
      const tags = await readTags(new CountingBlob([bytes], counter))
      expect(tags).toMatchObject({ mime: 'audio/mpeg', container: 'MPEG' })
      if (inMemoryBytes >= bytes.length) expect(counter).toEqual({ bytes: bytes.length, reads: 1 })
      else expect(counter.reads).toBeGreaterThan(1)
    })
  })
}

function onSamples() {
  describe.runIf(existsSync(SAMPLES))('readTags on the shared samples', () => {
    const cases: [string, Partial<Tags>, number | undefined][] = [
      [
        'id3v24.mp3',
        { mime: 'audio/mpeg', container: 'MPEG', title: 'Home', artist: 'Explo', trackNo: 5 },
        0.78,
      ],
      [
        'id3v23.mp3',
        {
          mime: 'audio/mpeg',
          container: 'MPEG',
          codec: 'MPEG 1 Layer 3',
          title: 'Home',
          artist: 'Explosions In The Sky',
          album: 'Friday Night Lights [Original Movie Soundtrack]',
          trackNo: 5,
        },
        0.78,
      ],
      [
        'tagged.flac',
        {
          mime: 'audio/flac',
          container: 'FLAC',
          codec: 'FLAC',
          title: 'Brian Eno',
          artist: 'MGMT',
          album: 'Congratulations',
          trackNo: 7,
        },
        271.77,
      ],
      ['vorbis.ogg', { mime: 'audio/ogg', container: 'Ogg', codec: 'Vorbis I' }, 2.91],
      ['opus.ogg', { mime: 'audio/ogg', container: 'Ogg', codec: 'Opus' }, 2.91],
      [
        'aac.m4a',
        {
          mime: 'audio/mp4',
          container: 'MPEG-4',
          codec: 'MPEG-4/AAC',
          title: 'New Track #2 (Live)',
          artist: 'They Say We\u2019re Sinking'.replace('\u2019', "'"),
          trackNo: 4,
        },
        486.11,
      ],
      ['pcm.wav', { mime: 'audio/wav', container: 'WAVE', codec: 'PCM' }, 0.5],
      ['notags-silence-2s.mp3', { mime: 'audio/mpeg', container: 'MPEG', codec: 'MPEG 2 Layer 3' }, 2.09],
      ['sine-1k.mp3', { mime: 'audio/mpeg', container: 'MPEG', codec: 'MPEG 1 Layer 3' }, 8.31],
      ['truncated.mp3', { mime: 'audio/mpeg', container: 'MPEG', title: "Al-An'am" }, 61.73],
      [
        'outofbounds.mp3',
        { mime: 'audio/mpeg', container: 'MPEG', title: '너의 생일엔', artist: '클론(Clone)' },
        undefined,
      ],
    ]

    it.each(cases)('reads %s', async (name, expected, seconds) => {
      const tags = await readTags(sample(name))
      expect(tags).toMatchObject(expected)
      if (seconds === undefined) expect(tags.durationS).toBeUndefined()
      else expect(tags.durationS).toBeCloseTo(seconds, 1)
      if (!('title' in expected)) expect(tags.title).toBeUndefined()
    })

    it('hashes the embedded cover by its bytes', async () => {
      const tags = await readTags(sample('id3v23.mp3'))
      expect(tags.cover?.mime).toBe('image/jpeg')
      const bytes = new Uint8Array(await tags.cover!.data.arrayBuffer())
      expect(bytes.length).toBe(80938)
      expect(tags.cover?.hash).toBe(sha256(bytes))
      // The same picture in another file is the same cover.
      expect((await readTags(sample('id3v24.mp3'))).cover?.hash).toBe(tags.cover?.hash)
    })

    it('refuses a file that is only an ID3 tag with no audio in it (id3v2-utf16.mp3)', async () => {
      const error = await rejection(sample('id3v2-utf16.mp3'))
      expect(error.code).toBe('NOT_AUDIO')
    })

    it('refuses id3v23.mp3 cut to its first 24 bytes', async () => {
      const head = new Uint8Array(readFileSync(resolve(SAMPLES, 'id3v23.mp3')).subarray(0, 24))
      expect(['UNREADABLE', 'NOT_AUDIO']).toContain(await outcome(new Blob([head])))
    })
  })
}

for (const [mode, bytes] of [
  ['small files read whole into memory', SMALL_FILE_BYTES],
  ['every file read by byte ranges', 0],
] as const) {
  describe(`readTags, ${mode}`, () => {
    beforeAll(() => {
      inMemoryBytes = bytes
    })
    builtByTest()
    onSamples()
  })
}
