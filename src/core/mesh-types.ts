import type { Track } from './catalog.ts'
import type { Emitter } from './emitter.ts'
import type { KeyAlg } from './wire.ts'

/**
 * What the mesh shows the rest of the app, and what it needs from it: the shapes shared by the
 * core (node, gossip, peer manager), the platform (peer persistence) and the UI (network, peers
 * and stats views).
 */

/** One track anywhere in the mesh, as this node knows it. */
export type NetworkTrack = {
  contentHash: string
  /** Metadata arrives after the announcement; until then the track is listed under its hash. */
  title: string
  artist?: string
  album?: string
  durationS?: number
  size?: number
  mime?: string
  /** Peers (this node included) currently announcing that they hold it. */
  holders: number
  /** This node holds it. */
  local: boolean
  /** Metadata has been received (title etc. are real, not placeholders). */
  described: boolean
}

/**
 * What changed in the network list since the last report: these tracks (added, changed or gone:
 * read each again), or 'all' (read the whole list again).
 */
export type NetworkChange = 'all' | { readonly hashes: readonly string[] }

/** A peer this node links to or has heard of through gossip. */
export type KnownPeer = {
  peerId: string
  /** State of our direct link to it, or 'none' when we only know it through gossip. */
  link: 'connecting' | 'verifying' | 'connected' | 'none'
  direction?: 'outbound' | 'inbound'
  rttMs?: number
  /** Local clock (ms) when we last heard from or about it. */
  lastSeen?: number
  /** Tracks it announces. */
  tracks: number
}

export type TypeCount = { messages: number; bytes: number }

/** The node's traffic and gossip counters (the seed's `dcmx stats`). */
export type MeshStats = {
  sent: Record<string, TypeCount>
  received: Record<string, TypeCount>
  /** Frames refused: malformed, oversized, over a rate budget, forged or replayed. */
  rejected: number
  gossipRounds: number
  knownPeers: number
  knownTracks: number
}

/** This node's own tracks as the mesh needs them (the Library satisfies this). */
export interface LocalTracks {
  readonly tracks: readonly Track[]
  readonly events: Emitter<{ tracks: [] }>
}

/** A peer remembered across reloads, for re-dialling it through the signaling server. */
export type StoredPeer = {
  peerId: string
  alg: KeyAlg
  /** SPKI public key, base64. */
  publicKey: string
  /** Local clock (ms) when last heard from or about. */
  lastSeen: number
  /** Smoothed RTT of our last direct link, if we had one. */
  rttMs?: number
  /** Consecutive failed attempts to link to it. */
  failures: number
}

/** Where known peers persist (IndexedDB in the browser, memory in tests). */
export interface PeerStore {
  load(): Promise<StoredPeer[]>
  /** Replace the stored set with `peers`. */
  save(peers: StoredPeer[]): Promise<void>
}
