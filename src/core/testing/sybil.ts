import { randomBytes } from 'node:crypto'
import { packHashes, signRecord, trackSetRoot, unpackHashes, type RecordSigner } from '../records.ts'
import { PAGE_HASHES, type SignedRecord, type WireOf } from '../wire.ts'
import { simSha256, simSigner } from './mesh-sim.ts'

/**
 * What a Sybil attacker sends: fresh identities with valid (cheap, simulated) signatures, each
 * announcing as many never-seen track hashes as a record may carry. Every frame passes the codec
 * and every record its signature check; only the node's bounds can stop them.
 */

/** `n` random track hashes nobody holds. */
export function freshHashes(n: number): string[] {
  return unpackHashes(new Uint8Array(randomBytes(n * 32)))!
}

/** A signed record for `hashes` and the full discover frames (pages) that carry it. */
export async function announcement(
  hashes: readonly string[],
  fields: { ver: number; ttl: number },
  signer: RecordSigner = simSigner(),
): Promise<{ rec: SignedRecord; frames: WireOf<'discover'>[] }> {
  const root = await trackSetRoot(simSha256, hashes)
  const rec = await signRecord(signer, { ...fields, root, count: hashes.length })
  const pages = Math.max(1, Math.ceil(hashes.length / PAGE_HASHES))
  const frames = Array.from({ length: pages }, (_, page): WireOf<'discover'> => ({
    type: 'discover',
    rec,
    mode: 'full',
    adds: 0,
    page,
    pages,
    body: packHashes(hashes.slice(page * PAGE_HASHES, (page + 1) * PAGE_HASHES)),
  }))
  return { rec, frames }
}
