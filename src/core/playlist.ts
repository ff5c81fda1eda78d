import * as v from 'valibot'
import type { Track } from './catalog.ts'
import type { NetworkTrack } from './mesh-types.ts'

/**
 * A track as the player, the queue and playlists keep it: its content hash and enough metadata to
 * show it and choose how to play it, whether it is in the library or only on other peers.
 */
export type PlayerTrack = Pick<Track, 'contentHash' | 'title' | 'mime'> &
  Partial<Pick<Track, 'artist' | 'album' | 'durationS' | 'container' | 'codec' | 'coverHash'>>

/** A named, ordered list of tracks by content hash (the same track may appear more than once). */
export type Playlist = {
  id: string
  name: string
  tracks: PlayerTrack[]
  createdAt: number
  updatedAt: number
}

/** Where playlists are kept (IndexedDB in the browser; a map in tests). */
export interface PlaylistStore {
  list(): Promise<Playlist[]>
  put(playlist: Playlist): Promise<void>
  delete(id: string): Promise<void>
}

/** The queue and where playback was, as saved across reloads. */
export type QueueSnapshot = {
  tracks: PlayerTrack[]
  /** Index of the current track in `tracks`, or -1. */
  index: number
  /** The queue's order before shuffling, as indexes into `tracks`; absent when not shuffled. */
  unshuffled?: number[]
  repeat: RepeatMode
  /** Seconds into the current track. */
  positionS: number
  volume: number
}

export type RepeatMode = 'off' | 'all' | 'one'

/** Where the queue snapshot is kept. */
export interface QueueStore {
  load(): Promise<unknown>
  save(snapshot: QueueSnapshot): Promise<void>
}

/** Caps on what a stored or imported file may hold: a hostile file cannot make the page hold unbounded lists. */
export const MAX_PLAYLIST_TRACKS = 10_000
export const MAX_QUEUE_TRACKS = 10_000
const MAX_TEXT = 500

const HASH = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/))
const TEXT = v.pipe(v.string(), v.maxLength(MAX_TEXT))
const trackSchema = v.object({
  contentHash: HASH,
  title: TEXT,
  mime: v.optional(v.pipe(v.string(), v.maxLength(100), v.regex(/^audio\//)), 'audio/mpeg'),
  artist: v.optional(TEXT),
  album: v.optional(TEXT),
  durationS: v.optional(v.pipe(v.number(), v.finite(), v.minValue(0))),
  container: v.optional(TEXT),
  codec: v.optional(TEXT),
  coverHash: v.optional(HASH),
})
const snapshotSchema = v.object({
  tracks: v.pipe(v.array(trackSchema), v.maxLength(MAX_QUEUE_TRACKS)),
  index: v.pipe(v.number(), v.integer(), v.minValue(-1)),
  unshuffled: v.optional(v.array(v.pipe(v.number(), v.integer(), v.minValue(0)))),
  repeat: v.picklist(['off', 'all', 'one']),
  positionS: v.pipe(v.number(), v.finite(), v.minValue(0)),
  volume: v.pipe(v.number(), v.minValue(0), v.maxValue(1)),
})
const fileSchema = v.object({
  format: v.literal('dcmx-playlist'),
  version: v.literal(1),
  name: v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(MAX_TEXT)),
  tracks: v.pipe(v.array(trackSchema), v.maxLength(MAX_PLAYLIST_TRACKS)),
})

/** Only the fields a PlayerTrack has, none undefined (exactOptionalPropertyTypes). */
function clean(track: v.InferOutput<typeof trackSchema>): PlayerTrack {
  const out: PlayerTrack = { contentHash: track.contentHash, title: track.title, mime: track.mime }
  if (track.artist !== undefined) out.artist = track.artist
  if (track.album !== undefined) out.album = track.album
  if (track.durationS !== undefined) out.durationS = track.durationS
  if (track.container !== undefined) out.container = track.container
  if (track.codec !== undefined) out.codec = track.codec
  if (track.coverHash !== undefined) out.coverHash = track.coverHash
  return out
}

/** A saved queue, checked: undefined when absent or not of the saved shape (a queue is never worth a crash). */
export function parseQueueSnapshot(value: unknown): QueueSnapshot | undefined {
  const parsed = v.safeParse(snapshotSchema, value)
  if (!parsed.success) return undefined
  const { tracks, index, unshuffled, repeat, positionS, volume } = parsed.output
  const order =
    unshuffled && unshuffled.length === tracks.length && unshuffled.every((i) => i < tracks.length)
      ? { unshuffled }
      : {}
  return {
    tracks: tracks.map(clean),
    index: index < tracks.length ? index : -1,
    ...order,
    repeat,
    positionS,
    volume,
  }
}

/** A library track as the player keeps it. */
export function fromTrack(track: Track): PlayerTrack {
  return clean({ ...track, mime: track.mime })
}

/** A network track as the player keeps it (its type is unknown until described: MP3 is the guess the player tries). */
export function fromNetworkTrack(track: NetworkTrack): PlayerTrack {
  const { contentHash, title, artist, album, durationS, mime } = track
  return clean({
    contentHash,
    title,
    mime: mime ?? 'audio/mpeg',
    ...(artist !== undefined ? { artist } : {}),
    ...(album !== undefined ? { album } : {}),
    ...(durationS !== undefined ? { durationS } : {}),
  })
}

/** A playlist as a JSON file: its name and its tracks by content hash, with the metadata to show them. */
export function playlistToJson(playlist: Pick<Playlist, 'name' | 'tracks'>): string {
  return JSON.stringify(
    { format: 'dcmx-playlist', version: 1, name: playlist.name, tracks: playlist.tracks },
    null,
    2,
  )
}

/**
 * A playlist as an extended M3U (UTF-8) file: each entry's URL is the track's `/content/<hash>`
 * path, so the hash travels with it and other players can stream it from a DCMX origin.
 */
export function playlistToM3u(playlist: Pick<Playlist, 'name' | 'tracks'>): string {
  const lines = ['#EXTM3U', `#PLAYLIST:${oneLine(playlist.name)}`]
  for (const t of playlist.tracks) {
    const seconds = t.durationS === undefined ? -1 : Math.round(t.durationS)
    const label = t.artist ? `${oneLine(t.artist)} - ${oneLine(t.title)}` : oneLine(t.title)
    lines.push(`#EXTINF:${seconds},${label}`, `/content/${t.contentHash}`)
  }
  return `${lines.join('\n')}\n`
}

const oneLine = (text: string) => text.replace(/[\r\n]+/g, ' ')

export type ParsedPlaylist = { name: string; tracks: PlayerTrack[] }

/** Why an imported playlist file was refused, as a sentence. */
export class PlaylistFileError extends Error {}

/** Read a playlist file (the JSON export, or M3U/M3U8 whose entries name `/content/<hash>`); throws PlaylistFileError. */
export function parsePlaylistFile(text: string, fallbackName: string): ParsedPlaylist {
  const trimmed = text.replace(/^\uFEFF/, '').trim()
  if (trimmed.startsWith('{')) {
    let json: unknown
    try {
      json = JSON.parse(trimmed)
    } catch {
      throw new PlaylistFileError('This playlist file is not valid JSON.')
    }
    const parsed = v.safeParse(fileSchema, json)
    if (!parsed.success)
      throw new PlaylistFileError(
        `This is not a DCMX playlist file (${parsed.issues[0]?.message ?? 'unexpected contents'}).`,
      )
    return { name: parsed.output.name, tracks: parsed.output.tracks.map(clean) }
  }
  if (trimmed.startsWith('#EXTM3U') || /\/content\/[0-9a-f]{64}/.test(trimmed))
    return parseM3u(trimmed, fallbackName)
  throw new PlaylistFileError('This file is neither a DCMX playlist (JSON) nor an M3U8 playlist.')
}

function parseM3u(text: string, fallbackName: string): ParsedPlaylist {
  let name = fallbackName
  let pending: { title?: string; artist?: string; durationS?: number } = {}
  const tracks: PlayerTrack[] = []
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (line.startsWith('#PLAYLIST:')) name = line.slice(10).trim().slice(0, MAX_TEXT) || name
    else if (line.startsWith('#EXTINF:')) {
      const match = /^#EXTINF:(-?\d+(?:\.\d+)?)[^,]*,(.*)$/.exec(line)
      const label = (match?.[2] ?? '').trim()
      const dash = label.indexOf(' - ')
      const seconds = Number(match?.[1])
      pending = {
        ...(dash > 0
          ? { artist: label.slice(0, dash).slice(0, MAX_TEXT), title: label.slice(dash + 3) }
          : { title: label }),
        ...(seconds >= 0 ? { durationS: seconds } : {}),
      }
    } else if (line && !line.startsWith('#')) {
      const hash =
        /(?:^|\/)content\/([0-9a-f]{64})(?:[?#].*)?$/.exec(line)?.[1] ?? /^([0-9a-f]{64})$/.exec(line)?.[1]
      if (hash) {
        if (tracks.length >= MAX_PLAYLIST_TRACKS)
          throw new PlaylistFileError(`This playlist has more than ${MAX_PLAYLIST_TRACKS} tracks.`)
        tracks.push({
          contentHash: hash,
          title: (pending.title || `${hash.slice(0, 12)}…`).slice(0, MAX_TEXT),
          mime: 'audio/mpeg',
          ...(pending.artist ? { artist: pending.artist } : {}),
          ...(pending.durationS !== undefined ? { durationS: pending.durationS } : {}),
        })
      }
      pending = {}
    }
  }
  if (tracks.length === 0)
    throw new PlaylistFileError('This playlist names no DCMX tracks (entries must be /content/<hash> links).')
  return { name, tracks }
}
