import { createHash, randomBytes } from 'node:crypto'
import { PIECE_SIZE } from '../content.ts'
import { describeTrack } from '../descriptors.ts'
import type { FetchPeer } from '../fetcher.ts'
import { packHashes, type Sha256 } from '../records.ts'
import { PIECES_PAGE, type TrackMeta, type Wire } from '../wire.ts'
import { referenceDigest } from './memory-store.ts'

/** SHA-256 through node:crypto, in the shape the core takes. */
export const nodeSha256: Sha256 = async (data) => new Uint8Array(createHash('sha256').update(data).digest())

/** Hex SHA-256 of some bytes. */
export const hexDigest = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

/** A track of `size` random bytes, and the metadata its holders describe it with. */
export function randomTrack(
  size: number,
  title: string,
): { bytes: Uint8Array; hash: string; meta: TrackMeta } {
  const bytes = new Uint8Array(randomBytes(size))
  const hash = hexDigest(bytes)
  const meta: TrackMeta = {
    hash,
    size,
    mime: 'audio/mpeg',
    title,
    pieceSize: PIECE_SIZE,
    piecesRoot: referenceDigest(bytes).piecesRoot,
  }
  return { bytes, hash, meta }
}

/** A linked holder for Fetcher tests, with the descriptor digest its signed record would commit to. */
export type SignedHolder = FetchPeer & { signed: string }

/**
 * A holder serving `bytes` as the pieces of the track `meta` describes (each piece after
 * `gate(index)`, so a test can hold one back or fail it), answering piece-list requests with the
 * list those bytes produce and the descriptor it signed.
 */
export async function signedHolder(
  peerId: string,
  bytes: Uint8Array,
  meta: TrackMeta,
  gate: (index: number) => Promise<void> = async () => {},
): Promise<SignedHolder> {
  const d = referenceDigest(bytes)
  const { descriptor, digest } = await describeTrack(nodeSha256, {
    ...meta,
    size: bytes.length,
    piecesRoot: d.piecesRoot,
  })
  return {
    peerId,
    signed: digest,
    fetchPiece: async (_hash: string, index: number) => {
      await gate(index)
      return bytes.slice(index * PIECE_SIZE, (index + 1) * PIECE_SIZE)
    },
    request: async (msg: { hash: string; from: number }): Promise<Wire> => ({
      type: 'pieces-res',
      id: 0,
      size: descriptor.size,
      pieceSize: descriptor.pieceSize,
      root: descriptor.piecesRoot,
      count: d.pieces.length,
      from: msg.from,
      mime: descriptor.mime,
      meta: descriptor.metaHash,
      body: packHashes(d.pieces.slice(msg.from, msg.from + PIECES_PAGE)),
    }),
  }
}
