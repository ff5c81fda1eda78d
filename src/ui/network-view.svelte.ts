import type { DownloadView } from '../core/fetcher.ts'
import type { KnownPeer, MeshStats, NetworkTrack } from '../core/mesh-types.ts'
import { readDownloads, watchMesh, type MeshSource } from './mesh-feed.ts'
import { EMPTY_STATS, byHash, visibleNetwork } from './network-helpers.ts'

export * from './network-helpers.ts'
export type { MeshSource } from './mesh-feed.ts'

/** The mesh as the view needs it: every track, the known peers and the counters, kept current from the node. */
export class NetworkView {
  tracks = $state.raw<NetworkTrack[]>([])
  peers = $state.raw<KnownPeer[]>([])
  /** Read once a second, not per message. */
  stats = $state.raw<MeshStats>(EMPTY_STATS)
  /** This node's downloads by content hash (finished and failed ones included). */
  downloads = $state.raw<ReadonlyMap<string, DownloadView>>(byHash([]))
  query = $state('')

  /** The tracks matching the search, in the network's order: what the table shows. */
  visible = $derived(visibleNetwork(this.tracks, this.query))
  localCount = $derived(this.tracks.filter((t) => t.local).length)

  #source: MeshSource
  #stop: () => void

  constructor(source: MeshSource) {
    this.#source = source
    this.#stop = watchMesh(source, {
      tracks: (tracks) => (this.tracks = tracks),
      peers: (peers) => (this.peers = peers),
      stats: (stats) => (this.stats = stats),
      downloads: (downloads) => this.#setDownloads(downloads),
    })
  }

  /** The download of a track, if this node has started one. */
  download(hash: string): DownloadView | undefined {
    return this.downloads.get(hash)
  }

  /**
   * Re-read the downloads now: after asking the node to fetch, so a retried download shows as
   * started at once rather than keeping its old failure until its first progress.
   */
  refreshDownloads(): void {
    this.#setDownloads(readDownloads(this.#source))
  }

  /** Stop listening to the node and stop polling its stats. */
  dispose(): void {
    this.#stop()
  }

  #setDownloads(downloads: DownloadView[]) {
    this.downloads = byHash(downloads)
  }
}
