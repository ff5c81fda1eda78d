import type { KnownPeer, MeshStats, NetworkTrack } from '../core/mesh-types.ts'
import { watchMesh, type MeshSource } from './mesh-feed.ts'
import { EMPTY_STATS, visibleNetwork } from './network-helpers.ts'

export * from './network-helpers.ts'
export type { MeshSource } from './mesh-feed.ts'

/** The mesh as the view needs it: every track, the known peers and the counters, kept current from the node. */
export class NetworkView {
  tracks = $state.raw<NetworkTrack[]>([])
  peers = $state.raw<KnownPeer[]>([])
  /** Read once a second, not per message. */
  stats = $state.raw<MeshStats>(EMPTY_STATS)
  query = $state('')

  /** The tracks matching the search, in the network's order: what the table shows. */
  visible = $derived(visibleNetwork(this.tracks, this.query))
  localCount = $derived(this.tracks.filter((t) => t.local).length)

  #stop: () => void

  constructor(source: MeshSource) {
    this.#stop = watchMesh(source, {
      tracks: (tracks) => (this.tracks = tracks),
      peers: (peers) => (this.peers = peers),
      stats: (stats) => (this.stats = stats),
    })
  }

  /** Stop listening to the node and stop polling its stats. */
  dispose(): void {
    this.#stop()
  }
}
