import type { DownloadView } from '../core/fetcher.ts'
import type { KnownPeer, MeshStats, NetworkTrack } from '../core/mesh-types.ts'
import { readDownloads, watchMesh, type MeshSource } from './mesh-feed.ts'
import { EMPTY_STATS, byHash, compareNetworkTracks } from './network-helpers.ts'
import { TrackIndex } from './track-index.ts'

export * from './network-helpers.ts'
export type { MeshSource } from './mesh-feed.ts'

/** The mesh as the view needs it: every track, the known peers and the counters, kept current from the node. */
export class NetworkView {
  /** How many tracks the mesh has, and how many of them are on this device. */
  count = $state(0)
  localCount = $state(0)
  peers = $state.raw<KnownPeer[]>([])
  /** Read once a second, not per message. */
  stats = $state.raw<MeshStats>(EMPTY_STATS)
  /** This node's downloads by content hash (finished and failed ones included). */
  downloads = $state.raw<ReadonlyMap<string, DownloadView>>(byHash([]))
  query = $state('')

  /** Bumped on every change of the index (which hands out new arrays, never changed ones). */
  #version = $state(0)
  #index = new TrackIndex<NetworkTrack>(compareNetworkTracks)

  /** Every track, in the network's order. */
  get tracks(): NetworkTrack[] {
    void this.#version
    return this.#index.all
  }

  /** The tracks matching the search, in the network's order: what the table shows. */
  visible = $derived.by(() => {
    void this.#version
    return this.#index.filter(this.query)
  })

  #source: MeshSource
  #stop: () => void

  constructor(source: MeshSource) {
    this.#source = source
    this.#stop = watchMesh(source, {
      tracks: (tracks) => {
        this.#index.reset(tracks)
        this.#counted(this.#index.all.reduce((n, t) => n + Number(t.local), 0))
      },
      changes: (changed, removed) => {
        let local = this.localCount
        for (const hash of [...removed, ...changed.map((t) => t.contentHash)])
          local -= Number(this.#index.get(hash)?.local === true)
        for (const track of changed) local += Number(track.local)
        this.#index.update(changed, removed)
        this.#counted(local)
      },
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

  #counted(local: number) {
    this.count = this.#index.size
    this.localCount = local
    this.#version++
  }

  #setDownloads(downloads: DownloadView[]) {
    this.downloads = byHash(downloads)
  }
}
