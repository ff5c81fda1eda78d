import { toHex } from './bytes.ts'
import type { Sha256 } from './records.ts'
import type { TrackMeta } from './wire.ts'

/**
 * Signed track descriptors. Each track a node announces is described by what its bytes are
 * (size, MIME, piece size, the root of its piece list) and by the hash of its descriptive
 * metadata (title, artist…); the digest of that descriptor sits beside the content hash in the
 * node's signed track set. So a piece list or metadata from anyone — the holder, a relay, a liar
 * — is checked against what that holder signed, and a holder is only ever judged by its own word.
 */

export type TrackDescriptor = {
  hash: string
  size: number
  mime: string
  pieceSize: number
  piecesRoot: string
  /** SHA-256 of the descriptive metadata (see `metaHash`). */
  metaHash: string
}

const DESCRIPTOR_CONTEXT = 'dcmx descriptor v1\0'

/** The fields of metadata that are description, not bytes, in a fixed order (absent ones null). */
function descriptive(meta: TrackMeta): unknown[] {
  return [meta.container, meta.codec, meta.title, meta.artist, meta.album, meta.trackNo, meta.durationS].map(
    (x) => x ?? null,
  )
}

const encoder = new TextEncoder()

/** SHA-256 of a track's descriptive metadata, as the descriptor commits to it. */
export async function metaHash(sha256: Sha256, meta: TrackMeta): Promise<string> {
  return toHex(await sha256(encoder.encode(JSON.stringify(descriptive(meta)))))
}

/** The digest a track set commits to for this descriptor. */
export async function descriptorDigest(sha256: Sha256, d: TrackDescriptor): Promise<string> {
  const fields = [d.hash, d.size, d.mime, d.pieceSize, d.piecesRoot, d.metaHash]
  return toHex(await sha256(encoder.encode(DESCRIPTOR_CONTEXT + fields.join('\0'))))
}

/** A track's descriptor and its digest, from the metadata that describes it. */
export async function describeTrack(
  sha256: Sha256,
  meta: TrackMeta,
): Promise<{ descriptor: TrackDescriptor; digest: string }> {
  const descriptor: TrackDescriptor = {
    hash: meta.hash,
    size: meta.size,
    mime: meta.mime,
    pieceSize: meta.pieceSize,
    piecesRoot: meta.piecesRoot,
    metaHash: await metaHash(sha256, meta),
  }
  return { descriptor, digest: await descriptorDigest(sha256, descriptor) }
}
