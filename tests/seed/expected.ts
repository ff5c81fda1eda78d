import { createHash } from 'node:crypto'
import type { Track } from '../../src/core/catalog.ts'
import type { NetworkTrack } from '../../src/core/mesh-types.ts'
import { libraryTags, libraryWav, networkHash, networkSize, networkTags } from './seed-data.ts'

/** The seeded library as the catalog holds it (what `page-seed.ts` writes), for computing expected rows. */
export function expectedLibrary(count: number): Track[] {
  return Array.from({ length: count }, (_, n) => {
    const bytes = libraryWav(n)
    const contentHash = createHash('sha256').update(bytes).digest('hex')
    return {
      contentHash,
      size: bytes.length,
      mime: 'audio/wav',
      container: 'WAVE',
      codec: 'PCM',
      ...libraryTags(n),
      pieceSize: 262_144,
      pieces: [contentHash],
      piecesRoot: '',
      fileName: `song-${n}.wav`,
      // Seeded in order: the library's own order is the track number's.
      addedAt: n,
      source: 'local',
    }
  })
}

/** The seeded network: the library's tracks (here, one holder) and `remote` announced ones. */
export function expectedNetwork(library: readonly Track[], remote: number): NetworkTrack[] {
  const local = library.map((t): NetworkTrack => ({
    contentHash: t.contentHash,
    title: t.title,
    ...(t.artist ? { artist: t.artist } : {}),
    ...(t.album ? { album: t.album } : {}),
    holders: 1,
    local: true,
    described: true,
  }))
  const others = Array.from({ length: remote }, (_, n): NetworkTrack => ({
    contentHash: networkHash(n),
    ...networkTags(n),
    size: networkSize(n),
    holders: 1,
    local: false,
    described: true,
  }))
  return [...local, ...others]
}
