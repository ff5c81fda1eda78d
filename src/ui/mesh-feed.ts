import type { Emitter } from '../core/emitter.ts'
import type { KnownPeer, MeshStats, NetworkTrack } from '../core/mesh-types.ts'

/** What the network, peers and stats views read from the node (DcmxNode satisfies it; tests pass a fake). */
export interface MeshSource {
  /** Every track in the mesh this node has heard of, its own included. */
  readonly network: NetworkTrack[]
  /** Direct links and peers learned through gossip. */
  readonly knownPeers: KnownPeer[]
  /** Traffic and gossip counters; they change with every message. */
  readonly stats: MeshStats
  /** 'network' when the track list or holder counts change, 'change' when peers or links change. */
  readonly events: Pick<Emitter<{ change: []; network: [] }>, 'on'>
}

/** Where the source's state goes: one callback per part, each handed a fresh snapshot. */
export type MeshFeed = {
  tracks(tracks: NetworkTrack[]): void
  peers(peers: KnownPeer[]): void
  stats(stats: MeshStats): void
}

/** Stats change with every frame: reading them once a second keeps the page from re-rendering per message. */
export const STATS_POLL_MS = 1000

/**
 * Push the source's state to `feed` now, then tracks on 'network', peers on 'change' and stats every
 * `pollMs`. Returns the stop function, which removes both listeners and the timer.
 */
export function watchMesh(source: MeshSource, feed: MeshFeed, pollMs = STATS_POLL_MS): () => void {
  // Copies, so a view holding the previous snapshot sees a new object even if the source reuses its own.
  const tracks = () => feed.tracks([...source.network])
  const peers = () => feed.peers([...source.knownPeers])
  const stats = () => feed.stats(structuredClone(source.stats))
  tracks()
  peers()
  stats()
  const off = [source.events.on('network', tracks), source.events.on('change', peers)]
  const timer = setInterval(stats, pollMs)
  let stopped = false
  return () => {
    if (stopped) return
    stopped = true
    clearInterval(timer)
    for (const unsubscribe of off) unsubscribe()
  }
}
