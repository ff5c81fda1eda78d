import {
  parsePlaylistFile,
  playlistToJson,
  playlistToM3u,
  PlaylistFileError,
  MAX_PLAYLIST_TRACKS,
  type Playlist,
  type PlayerTrack,
  type PlaylistStore,
} from '../core/playlist.ts'
import { messageOf } from './library-state.svelte.ts'

/** A file to download: what "Export" produces. */
export type ExportedFile = { name: string; type: string; text: string }

export type PlaylistsDeps = {
  now?: () => number
  id?: () => string
}

/** A name for new playlists and files: trimmed, one line, not empty, not too long. */
const MAX_NAME = 200

/** The user's playlists, kept in the store (IndexedDB): create, rename, reorder, delete, export and import. */
export class PlaylistsState {
  playlists = $state.raw<Playlist[]>([])
  /** A sentence when the last change could not be saved or a file could not be read. */
  error = $state<string | undefined>()
  loaded = $state(false)

  #store: PlaylistStore
  #now: () => number
  #id: () => string

  constructor(store: PlaylistStore, deps: PlaylistsDeps = {}) {
    this.#store = store
    this.#now = deps.now ?? (() => Date.now())
    this.#id = deps.id ?? (() => crypto.randomUUID())
  }

  /** Read the stored playlists (oldest first). */
  async load(): Promise<void> {
    try {
      const all = await this.#store.list()
      this.playlists = all.sort((a, b) => a.createdAt - b.createdAt)
      this.error = undefined
    } catch (error) {
      this.error = `Could not read your playlists: ${messageOf(error)}`
    } finally {
      this.loaded = true
    }
  }

  get(id: string): Playlist | undefined {
    return this.playlists.find((p) => p.id === id)
  }

  /** A new playlist (its name made unique-ish and sane), with `tracks` in it. */
  async create(name: string, tracks: readonly PlayerTrack[] = []): Promise<Playlist | undefined> {
    const now = this.#now()
    const playlist: Playlist = {
      id: this.#id(),
      name: cleanName(name) || this.#defaultName(),
      tracks: tracks.slice(0, MAX_PLAYLIST_TRACKS),
      createdAt: now,
      updatedAt: now,
    }
    return (await this.#put(playlist)) ? playlist : undefined
  }

  async rename(id: string, name: string): Promise<void> {
    const cleaned = cleanName(name)
    if (!cleaned) {
      this.error = 'A playlist needs a name.'
      return
    }
    await this.#change(id, (p) => ({ ...p, name: cleaned }))
  }

  /** Add tracks at the end of a playlist. */
  async add(id: string, tracks: readonly PlayerTrack[]): Promise<void> {
    await this.#change(id, (p) => {
      if (p.tracks.length + tracks.length > MAX_PLAYLIST_TRACKS) {
        this.error = `A playlist holds at most ${MAX_PLAYLIST_TRACKS} tracks.`
        return undefined
      }
      return { ...p, tracks: [...p.tracks, ...tracks] }
    })
  }

  /** Move the track at `from` to `to` within a playlist. */
  async move(id: string, from: number, to: number): Promise<void> {
    await this.#change(id, (p) => {
      if (from < 0 || to < 0 || from >= p.tracks.length || to >= p.tracks.length || from === to)
        return undefined
      const tracks = [...p.tracks]
      const [moved] = tracks.splice(from, 1)
      tracks.splice(to, 0, moved!)
      return { ...p, tracks }
    })
  }

  /** Take the track at `at` out of a playlist. */
  async removeTrack(id: string, at: number): Promise<void> {
    await this.#change(id, (p) =>
      at < 0 || at >= p.tracks.length ? undefined : { ...p, tracks: p.tracks.filter((_, i) => i !== at) },
    )
  }

  async delete(id: string): Promise<void> {
    try {
      await this.#store.delete(id)
      this.playlists = this.playlists.filter((p) => p.id !== id)
      this.error = undefined
    } catch (error) {
      this.error = `Could not delete the playlist: ${messageOf(error)}`
    }
  }

  /** The playlist as a file: JSON (with every track's content hash and metadata) or M3U8. */
  exportFile(id: string, format: 'json' | 'm3u8'): ExportedFile | undefined {
    const playlist = this.get(id)
    if (!playlist) return undefined
    const base = playlist.name.replace(/[^\p{L}\p{N} ._-]+/gu, '').trim() || 'playlist'
    return format === 'json'
      ? { name: `${base}.json`, type: 'application/json', text: playlistToJson(playlist) }
      : { name: `${base}.m3u8`, type: 'audio/x-mpegurl', text: playlistToM3u(playlist) }
  }

  /** Make a playlist from an exported file (JSON or M3U8); a bad file gets a sentence and changes nothing. */
  async importFile(text: string, fileName: string): Promise<Playlist | undefined> {
    let parsed
    try {
      parsed = parsePlaylistFile(text, fileName.replace(/\.(json|m3u8?)$/i, ''))
    } catch (error) {
      this.error =
        error instanceof PlaylistFileError
          ? `Could not import “${fileName}”: ${error.message}`
          : `Could not import “${fileName}”: ${messageOf(error)}`
      return undefined
    }
    return this.create(parsed.name, parsed.tracks)
  }

  async #change(id: string, edit: (p: Playlist) => Playlist | undefined): Promise<void> {
    const playlist = this.get(id)
    if (!playlist) return
    const next = edit(playlist)
    if (!next) return
    await this.#put({ ...next, updatedAt: this.#now() })
  }

  async #put(playlist: Playlist): Promise<boolean> {
    try {
      await this.#store.put(playlist)
    } catch (error) {
      this.error = `Could not save the playlist: ${messageOf(error)}`
      return false
    }
    const others = this.playlists.filter((p) => p.id !== playlist.id)
    this.playlists = [...others, playlist].sort((a, b) => a.createdAt - b.createdAt)
    this.error = undefined
    return true
  }

  #defaultName(): string {
    const names = this.playlists.map((p) => p.name)
    for (let n = 1; ; n++) if (!names.includes(`Playlist ${n}`)) return `Playlist ${n}`
  }
}

function cleanName(name: string): string {
  return name.replace(/\s+/g, ' ').trim().slice(0, MAX_NAME)
}
