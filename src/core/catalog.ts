import { PIECE_SIZE, type Digest } from './content.ts'

/** One track: metadata keyed by the content hash of its bytes (the same bytes are one track). */
export type Track = {
  contentHash: string
  size: number
  /** Media type sniffed from the bytes, e.g. audio/mpeg. */
  mime: string
  /** Container as the tag parser names it, e.g. MPEG, FLAC, Ogg, MPEG-4, WAVE. */
  container: string
  codec?: string
  title: string
  artist?: string
  album?: string
  trackNo?: number
  durationS?: number
  /** Content hash of the cover image, stored once however many tracks share it. */
  coverHash?: string
  pieceSize: number
  pieces: string[]
  piecesRoot: string
  /** The name of the file it was imported from. */
  fileName: string
  addedAt: number
  /** 'local' for an import; the peer id it came from for a download. */
  source: string
  /** Kept on this device: "Free space" never removes a pinned track. */
  pinned?: boolean
  /** When playback of it last started (clock ms); unset until it is first played. */
  lastPlayedAt?: number
}

/** The fields of a track that change after it is added (its bytes and tags never do). */
export type TrackPatch = Partial<Pick<Track, 'pinned' | 'lastPlayedAt'>>

/** A cover image, stored once by the hash of its bytes. */
export type Cover = { hash: string; mime: string; data: Blob }

/** Track metadata, cover art, small settings and the node's logs (IndexedDB in the browser). */
export interface Catalog {
  list(): Promise<Track[]>
  get(hash: string): Promise<Track | undefined>
  /**
   * Insert a track, and its cover unless that is already stored, in one atomic step; false (and
   * nothing written) if a track with this hash exists, so two tabs cannot both add it.
   */
  add(track: Track, cover?: Cover): Promise<boolean>
  /** Remove a track and return it; its cover goes too once no other track uses it (same step). */
  remove(hash: string): Promise<Track | undefined>
  /** Change a track's mutable fields in one step; the updated track, or undefined if it is not listed. */
  update(hash: string, patch: TrackPatch): Promise<Track | undefined>
  getCover(hash: string): Promise<Cover | undefined>
}

/** What tag reading found in an audio file. */
export type Tags = {
  mime: string
  container: string
  codec?: string
  title?: string
  artist?: string
  album?: string
  trackNo?: number
  durationS?: number
  cover?: Cover
}

/** Reads tags and checks that a file is audio, by content. Throws DcmxError NOT_AUDIO or UNREADABLE. */
export interface TagReader {
  read(source: Blob): Promise<Tags>
}

/** Build the catalog entry for imported bytes. */
export function trackFrom(
  digest: Digest,
  tags: Tags,
  fileName: string,
  addedAt: number,
  source = 'local',
): Track {
  const optional = {
    ...(tags.codec ? { codec: tags.codec } : {}),
    ...(tags.artist ? { artist: tags.artist } : {}),
    ...(tags.album ? { album: tags.album } : {}),
    ...(tags.trackNo !== undefined ? { trackNo: tags.trackNo } : {}),
    ...(tags.durationS !== undefined ? { durationS: tags.durationS } : {}),
    ...(tags.cover ? { coverHash: tags.cover.hash } : {}),
  }
  return {
    contentHash: digest.contentHash,
    size: digest.size,
    mime: tags.mime,
    container: tags.container,
    title: tags.title?.trim() || titleFromFileName(fileName),
    ...optional,
    pieceSize: PIECE_SIZE,
    pieces: digest.pieces,
    piecesRoot: digest.piecesRoot,
    fileName,
    addedAt,
    source,
  }
}

/** "01 - Some Song.mp3" → "01 - Some Song": the name a track without tags is shown under. */
export function titleFromFileName(fileName: string): string {
  const base = fileName.split(/[\\/]/).pop() ?? fileName
  const dot = base.lastIndexOf('.')
  return (dot > 0 ? base.slice(0, dot) : base).trim() || 'Untitled'
}
