import { randomBytes } from 'node:crypto'
import { toHex } from '../bytes.ts'
import {
  packEntries,
  signRecord,
  trackSetRoot,
  unpackEntries,
  type RecordSigner,
  type TrackEntry,
} from '../records.ts'
import { fullPages, Gossip, type GossipPeer } from '../gossip.ts'
import type { Directory } from '../directory.ts'
import type { Clock } from '../clock.ts'
import { ENTRY_BYTES, type SignedRecord, type WireOf } from '../wire.ts'
import { mulberry32 } from './random.ts'
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
  return { rec, frames: fullPages(rec, packEntries(hashes)) }
}

let counter = 0

/**
 * The same as `announcement(freshEntries(n), …)` at a fraction of the cost, for floods of
 * millions of entries: each hash starts with a counter that only grows, so the entries come out
 * sorted and fresh (never repeated in this process) and the root is one hash over the raw body,
 * with no hex strings made on the sending side.
 */
export async function rawAnnouncement(
  n: number,
  fields: { ver: number; ttl: number },
  signer: RecordSigner = simSigner(),
): Promise<{ rec: SignedRecord; frames: WireOf<'discover'>[] }> {
  const body = new Uint8Array(randomBytes(n * ENTRY_BYTES))
  const view = new DataView(body.buffer)
  for (let i = 0; i < n; i++) view.setUint32(i * ENTRY_BYTES, counter++)
  const root = toHex(await simSha256(body))
  const rec = await signRecord(signer, { ...fields, root, count: n })
  return { rec, frames: fullPages(rec, body) }
}

/**
 * Gossip for one node that has no links of its own, fed by hand: what a flood through `receive`
 * does to `directory`. Metadata requests it makes are refused (nobody answers).
 */
export function floodedGossip(
  directory: Directory,
  clock: Clock,
  onRecords?: (records: { rec: SignedRecord; seenMs: number }[], source: string) => void,
): Gossip {
  return new Gossip({
    directory,
    clock,
    random: mulberry32(1),
    sha256: simSha256,
    peers: () => [],
    localMeta: () => undefined,
    strike: () => {},
    ...(onRecords ? { onRecords } : {}),
  })
}

/** Link number `n`, as a flooded node sees it: it answers no request. */
export function silentLink(n: number): GossipPeer {
  return {
    peerId: n.toString(16).padStart(32, '0'),
    send: () => {},
    request: () => Promise.reject(new Error('no answers here')),
  }
}
