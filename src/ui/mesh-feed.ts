import type { Emitter } from '../core/emitter.ts'
import type { DownloadView } from '../core/fetcher.ts'
import type { KnownPeer, MeshStats, NetworkChange, NetworkTrack } from '../core/mesh-types.ts'

/** What the network, peers and stats views read from the node (DcmxNode satisfies it; tests pass a fake). */
export interface MeshSource {
  /** Every track in the mesh this node has heard of, its own included. */
  readonly network: NetworkTrack[]
  /** One track of `network` by hash, in O(1): with it a change reads only the tracks it names. */
  networkTrack?(hash: string): NetworkTrack | undefined
  /** Direct links and peers learned through gossip. */
  readonly knownPeers: KnownPeer[]
  /** Traffic and gossip counters; they change with every message. */
  readonly stats: MeshStats
  /** Fetches tracks from other peers; absent when this node cannot store them. */
  readonly fetcher?: { readonly downloads: DownloadView[] } | undefined
  /**
   * 'network' when the track list or holder counts change (with the tracks that did, if known),
   * 'change' when peers or links change, 'downloads' when a download starts, progresses or ends.
   */
  readonly events: Pick<Emitter<{ change: []; network: [change?: NetworkChange]; downloads: [] }>, 'on'>
}

/** Where the source's state goes: one callback per part, each handed a fresh snapshot. */
export type MeshFeed = {
  tracks(tracks: NetworkTrack[]): void
  /**
   * Some tracks changed (`changed` added or replaced, `removed` gone): given instead of `tracks`
   * when the source names them, so a 100,000-track view updates a few rows, not all.
   */
  changes?(changed: NetworkTrack[], removed: string[]): void
  peers(peers: KnownPeer[]): void
  stats(stats: MeshStats): void
  downloads(downloads: DownloadView[]): void
}

/** Stats change with every frame: reading them once a second keeps the page from re-rendering per message. */
export const STATS_POLL_MS = 1000

/** A copy of the source's downloads (none without a fetcher), each entry copied too. */
export function readDownloads(source: Pick<MeshSource, 'fetcher'>): DownloadView[] {
  return (source.fetcher?.downloads ?? []).map((d) => ({ ...d }))
}

/**
 * Push the source's state to `feed` now, then tracks on 'network', peers on 'change', downloads on
 * 'downloads' and 'network' (a finished download changes the track list), and stats every `pollMs`.
 * Returns the stop function, which removes the listeners and the timer.
 */
export function watchMesh(source: MeshSource, feed: MeshFeed, pollMs = STATS_POLL_MS): () => void {
  // Copies, so a view holding the previous snapshot sees a new object even if the source reuses its own.
  const tracks = () => feed.tracks([...source.network])
  const peers = () => feed.peers([...source.knownPeers])
  const stats = () => feed.stats(structuredClone(source.stats))
  const downloads = () => feed.downloads(readDownloads(source))
  tracks()
  peers()
  stats()
  downloads()
  const off = [
    source.events.on('network', (change) => {
      if (feed.changes && source.networkTrack && change !== undefined && change !== 'all') {
        const changed: NetworkTrack[] = []
        const removed: string[] = []
        for (const hash of change.hashes) {
          const track = source.networkTrack(hash)
          if (track) changed.push(track)
          else removed.push(hash)
        }
        feed.changes(changed, removed)
      } else tracks()
      downloads()
    }),
    source.events.on('change', peers),
    source.events.on('downloads', downloads),
  ]
  const timer = setInterval(stats, pollMs)
  let stopped = false
  return () => {
    if (stopped) return
    stopped = true
    clearInterval(timer)
    for (const unsubscribe of off) unsubscribe()
  }
}
