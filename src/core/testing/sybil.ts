import { randomBytes } from 'node:crypto'
import {
  packEntries,
  signRecord,
  trackSetRoot,
  unpackEntries,
  type RecordSigner,
  type TrackEntry,
} from '../records.ts'
import { ENTRY_BYTES, PAGE_ENTRIES, type SignedRecord, type WireOf } from '../wire.ts'
import { simSha256, simSigner } from './mesh-sim.ts'

/**
 * What a Sybil attacker sends: fresh identities with valid (cheap, simulated) signatures, each
 * announcing as many never-seen track hashes as a record may carry. Every frame passes the codec
 * and every record its signature check; only the node's bounds can stop them.
 */

/** `n` random track entries (hash and descriptor digest) nobody holds. */
export function freshEntries(n: number): TrackEntry[] {
  return unpackEntries(new Uint8Array(randomBytes(n * ENTRY_BYTES)))!
}

/** A signed record for `entries` and the full discover frames (pages) that carry it. */
export async function announcement(
  hashes: readonly TrackEntry[],
  fields: { ver: number; ttl: number },
  signer: RecordSigner = simSigner(),
): Promise<{ rec: SignedRecord; frames: WireOf<'discover'>[] }> {
  const root = await trackSetRoot(simSha256, hashes)
  const rec = await signRecord(signer, { ...fields, root, count: hashes.length })
  const pages = Math.max(1, Math.ceil(hashes.length / PAGE_ENTRIES))
  const frames = Array.from({ length: pages }, (_, page): WireOf<'discover'> => ({
    type: 'discover',
    rec,
    mode: 'full',
    adds: 0,
    page,
    pages,
    body: packEntries(hashes.slice(page * PAGE_ENTRIES, (page + 1) * PAGE_ENTRIES)),
  }))
  return { rec, frames }
}
