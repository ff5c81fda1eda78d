import { sha256 } from 'hash-wasm'
import {
  CouldNotDetermineFileTypeError,
  parseBlob,
  parseBuffer,
  UnsupportedFileTypeError,
  type IAudioMetadata,
  type IOptions,
  type IPicture,
} from 'music-metadata'
import type { Cover, Tags } from '../core/catalog.ts'
import { DcmxError } from '../core/errors.ts'
import { SMALL_FILE_BYTES } from '../core/library.ts'
import { InMemory, type ByteSource } from './byte-source.ts'
import { afterId3v2, scanForFrames } from './mpeg-frames.ts'
import { oggDuration } from './ogg-duration.ts'

/** Cover images larger than this are skipped: album art is rarely past 1 MiB, and it is kept per cover. */
export const MAX_COVER_BYTES = 5 * 1024 * 1024
/** Tag text is untrusted and travels to peers; longer values are cut. */
const MAX_TEXT = 500
/** A week: a duration past this comes from a lying header, not from a track. */
const MAX_DURATION_S = 7 * 24 * 3600

const TAGS_ONLY = 'it has MP3 tags but no audio'

// Covers are wanted; the duration scan is not (it would read every MPEG frame of the file).
const OPTIONS: IOptions = { duration: false, skipCovers: false }

/** What the first bytes after any ID3v2 tag say the file is. */
type Sniffed =
  | { kind: 'container'; name: Container }
  | { kind: 'unplayable'; name: string }
  /** No container signature: MPEG or ADTS frames, or not audio at all. */
  | { kind: 'frames'; id3: boolean }

type Container = 'MPEG-4' | 'FLAC' | 'Ogg' | 'WAVE' | 'AIFF' | 'EBML'

/** The media type a player needs, by container; never from the file's name or its declared type. */
const MIME: Record<string, string> = {
  MPEG: 'audio/mpeg',
  ADTS: 'audio/aac',
  'MPEG-4': 'audio/mp4',
  FLAC: 'audio/flac',
  Ogg: 'audio/ogg',
  WAVE: 'audio/wav',
  AIFF: 'audio/aiff',
  WebM: 'audio/webm',
  Matroska: 'audio/x-matroska',
}

/** The file as the parser sees it: a typeless Blob read by ranges, or its bytes in memory. */
type Source = Blob | InMemory

/**
 * Read the tags of an audio file and check, by its content, that it is audio a browser can play.
 * A file of at most `inMemoryBytes` is read in one read and parsed in memory: each read of a Blob
 * is a round trip (a browser keeps a Blob’s bytes in another process), and a 160 KB MP3 took 23 of
 * them. A bigger one is read by byte ranges on demand, never whole. Throws DcmxError NOT_AUDIO or
 * UNREADABLE.
 */
export async function readTags(source: Blob, inMemoryBytes = SMALL_FILE_BYTES): Promise<Tags> {
  // A slice has no type and no name, so the parser cannot pick a format from either.
  const bytes: Source =
    source.size <= inMemoryBytes
      ? new InMemory(new Uint8Array(await source.arrayBuffer()))
      : source.slice(0, source.size)
  const sniffed = await sniff(bytes)
  if (sniffed.kind === 'unplayable') {
    throw new DcmxError(
      'NOT_AUDIO',
      `This audio format (${sniffed.name}) cannot be played in a browser; convert it to MP3, AAC, FLAC, Ogg or WAV.`,
    )
  }
  let metadata: IAudioMetadata
  try {
    metadata = await parse(bytes)
  } catch (error) {
    metadata = await recover(bytes, sniffed, error)
  }
  return toTags(bytes, sniffed, metadata)
}

/** music-metadata over the source; `mimeType` names the format instead of its content telling it. */
function parse(bytes: Source, mimeType?: string): Promise<IAudioMetadata> {
  if (bytes instanceof InMemory)
    return parseBuffer(bytes.bytes, { size: bytes.size, ...(mimeType ? { mimeType } : {}) }, OPTIONS)
  return parseBlob(mimeType ? new Blob([bytes], { type: mimeType }) : bytes, OPTIONS)
}

/** A parse failed: decide between "not audio" and "damaged audio", or retry as bare MPEG frames. */
async function recover(bytes: Source, sniffed: Sniffed, error: unknown): Promise<IAudioMetadata> {
  if (error instanceof UnsupportedFileTypeError) {
    const guessed = /\b([a-z]+\/[\w.+-]+)/i.exec(error.message)?.[1] ?? 'unknown type'
    throw guessed.startsWith('audio/')
      ? new DcmxError(
          'NOT_AUDIO',
          `This audio format (${guessed}) is not supported; convert it to MP3, AAC, FLAC, Ogg or WAV.`,
        )
      : notAudio(guessed)
  }
  if (sniffed.kind === 'container') throw damaged(sniffed.name === 'EBML' ? 'WebM' : sniffed.name, error)
  const frames = await scanForFrames(bytes)
  if (!frames && sniffed.kind === 'frames' && sniffed.id3) {
    // A tag that runs past the end of the file was cut; a whole tag with nothing after it is no audio.
    throw (await afterId3v2(bytes)) > bytes.size ? damaged('MP3', error) : notAudio(TAGS_ONLY)
  }
  if (!frames) throw notAudio()
  if (!(error instanceof CouldNotDetermineFileTypeError)) throw damaged('MP3', error)
  // Real frames the type guesser missed (it only looks a few bytes in): parse them as what they are.
  try {
    return await parse(bytes, frames === 'adts' ? 'audio/aac' : 'audio/mpeg')
  } catch (retryError) {
    throw damaged('MP3', retryError)
  }
}

async function toTags(bytes: ByteSource, sniffed: Sniffed, metadata: IAudioMetadata): Promise<Tags> {
  const { format, common } = metadata
  if (format.hasVideo) throw notAudio('it is a video')
  const container = await containerOf(bytes, sniffed, metadata)
  const sampleRate = format.sampleRate ?? 0
  // Past its 13th page music-metadata stops reading Ogg, so a long Opus or Vorbis file has no
  // duration from it: the last page's granule position gives it (one small read at the end).
  const duration =
    format.duration ??
    (container === 'Ogg' ? await oggDuration(bytes, format.codec, format.sampleRate) : undefined)
  const saneDuration =
    duration !== undefined && Number.isFinite(duration) && duration > 0 && duration <= MAX_DURATION_S
      ? duration
      : undefined
  if (format.hasAudio === false) throw notAudio('it has no audio stream')
  const hasStream =
    saneDuration !== undefined || (sampleRate >= 1000 && sampleRate <= 1_000_000 && !!format.codec)
  // The container is real (its signature and headers parsed) but says nothing usable about a stream.
  if (!hasStream) throw damaged(container, new Error('it has no readable audio stream header'))

  const title = clean(common.title)
  const artist = clean(common.artist ?? common.artists?.[0])
  const album = clean(common.album)
  const trackNo = common.track.no
  const codec = clean(format.codec)
  const cover = await coverFrom(common.picture)
  return {
    mime: MIME[container] ?? 'application/octet-stream',
    container,
    ...(codec ? { codec } : {}),
    ...(title ? { title } : {}),
    ...(artist ? { artist } : {}),
    ...(album ? { album } : {}),
    ...(trackNo !== null && Number.isInteger(trackNo) && trackNo > 0 && trackNo < 100_000 ? { trackNo } : {}),
    ...(saneDuration !== undefined ? { durationS: saneDuration } : {}),
    ...(cover ? { cover } : {}),
  }
}

/** The container's name; for files without a signature, only a real frame stream makes it MPEG. */
async function containerOf(bytes: ByteSource, sniffed: Sniffed, metadata: IAudioMetadata): Promise<string> {
  const parsed = metadata.format.container ?? ''
  switch (sniffed.kind) {
    case 'container':
      if (sniffed.name !== 'EBML') return sniffed.name
      return /webm/i.test(parsed) ? 'WebM' : 'Matroska'
    case 'frames': {
      // music-metadata names ADTS streams "ADTS/MPEG-4" or "ADTS/MPEG-2".
      const named = parsed === 'MPEG' ? 'mpeg' : parsed.startsWith('ADTS') ? 'adts' : undefined
      if (named && (await scanForFrames(bytes)) === named) return named === 'mpeg' ? 'MPEG' : 'ADTS'
      throw notAudio(sniffed.id3 ? TAGS_ONLY : 'unrecognised content')
    }
    case 'unplayable':
      throw notAudio(sniffed.name)
  }
}

const ascii = (b: Uint8Array, at: number, text: string) =>
  [...text].every((c, i) => b[at + i] === c.charCodeAt(0))

/** Identify the container by its signature, after any ID3v2 tags (some FLAC files carry one). */
async function sniff(bytes: ByteSource): Promise<Sniffed> {
  const start = await afterId3v2(bytes)
  const h = new Uint8Array(await bytes.slice(start, start + 16).arrayBuffer())
  const container = (name: Container): Sniffed => ({ kind: 'container', name })
  const unplayable = (name: string): Sniffed => ({ kind: 'unplayable', name })
  if (ascii(h, 0, 'fLaC')) return container('FLAC')
  if (ascii(h, 0, 'OggS')) return container('Ogg')
  if (ascii(h, 0, 'RIFF') && ascii(h, 8, 'WAVE')) return container('WAVE')
  if (ascii(h, 0, 'FORM') && (ascii(h, 8, 'AIFF') || ascii(h, 8, 'AIFC'))) return container('AIFF')
  if (ascii(h, 4, 'ftyp')) return container('MPEG-4')
  if (h[0] === 0x1a && h[1] === 0x45 && h[2] === 0xdf && h[3] === 0xa3) return container('EBML')
  if (h[0] === 0x30 && h[1] === 0x26 && h[2] === 0xb2 && h[3] === 0x75) return unplayable('ASF/WMA')
  if (ascii(h, 0, 'wvpk')) return unplayable('WavPack')
  if (ascii(h, 0, 'MPCK') || ascii(h, 0, 'MP+')) return unplayable('Musepack')
  if (ascii(h, 0, 'DSD ') || ascii(h, 0, 'FRM8')) return unplayable('DSD')
  if (ascii(h, 0, 'MAC ')) return unplayable('Monkey’s Audio')
  return { kind: 'frames', id3: start > 0 }
}

/** The first usable picture: an image by its own bytes (JPEG, PNG, GIF, WebP), within the size cap. */
async function coverFrom(pictures: IPicture[] | undefined): Promise<Cover | undefined> {
  for (const picture of pictures ?? []) {
    if (picture.data.length === 0 || picture.data.length > MAX_COVER_BYTES) continue
    const mime = imageType(picture.data)
    if (!mime) continue
    const data = picture.data.slice()
    return { hash: await sha256(data), mime, data: new Blob([data], { type: mime }) }
  }
  return undefined
}

function imageType(b: Uint8Array): string | undefined {
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg'
  if (b[0] === 0x89 && ascii(b, 1, 'PNG\r\n\x1a\n')) return 'image/png'
  if (ascii(b, 0, 'GIF87a') || ascii(b, 0, 'GIF89a')) return 'image/gif'
  if (ascii(b, 0, 'RIFF') && ascii(b, 8, 'WEBP')) return 'image/webp'
  return undefined
}

// eslint-disable-next-line no-control-regex -- removing control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/g

/** Tag text without control characters, trimmed and bounded; empty is undefined. */
function clean(text: string | undefined): string | undefined {
  const cleaned = text
    ?.replace(CONTROL_CHARS, ' ')
    .replace(/\s{2,}/g, ' ')
    .trim()
  return cleaned ? cleaned.slice(0, MAX_TEXT) : undefined
}

function notAudio(why = 'unrecognised content'): DcmxError {
  return new DcmxError('NOT_AUDIO', `This is not an audio file (${why}).`)
}

function damaged(format: string, error: unknown): DcmxError {
  return new DcmxError('UNREADABLE', `This ${format} file looks damaged: ${describe(error)}.`)
}

function describe(error: unknown): string {
  const name = (error as { name?: string })?.name
  if (name === 'EndOfStreamError') return 'it ends in the middle of a header'
  if (error instanceof RangeError) return 'a header points outside the file'
  const message = error instanceof Error ? error.message : String(error)
  return message.replace(/\.$/, '').slice(0, 200) || 'unknown error'
}
