import { afterEach, describe, expect, it } from 'vitest'
import { startSignaling, type SignalingServer } from '../../signaling/server.ts'
import type { Track } from './catalog.ts'
import { Emitter } from './emitter.ts'
import type { Identity } from './identity.ts'
import type { LocalTracks, NetworkChange } from './mesh-types.ts'
import { DcmxNode, type NodeConfig } from './node.ts'
import { DEFAULT_SESSION_CONFIG } from './peer-session.ts'
import { nodeCrypto, testIdentity } from './testing/crypto.ts'
import { waitFor } from './testing/fake-clock.ts'
import { MemoryPeerStore } from './testing/memory-peer-store.ts'
import { memoryLinkNetwork } from './testing/memory-link.ts'
import { simHash, simTrack } from './testing/mesh-sim.ts'
import { realClock, testSignaling } from './testing/ws-socket.ts'

/** The node with its mesh over the real signaling server and in-memory links, gossiping fast. */
const FAST: Partial<NodeConfig> = {
  refillMs: 150,
  session: { ...DEFAULT_SESSION_CONFIG, pingIntervalMs: 100, deadAfterMs: 600, handshakeTimeoutMs: 3_000 },
  mesh: { gossip: { intervalMs: 100 } },
}

class Tracks implements LocalTracks {
  readonly events = new Emitter<{ tracks: [] }>()
  constructor(public tracks: Track[] = []) {}
  set(tracks: Track[]) {
    this.tracks = tracks
    this.events.emit('tracks')
  }
}

let server: SignalingServer | undefined
const nodes: DcmxNode[] = []
const network = memoryLinkNetwork()

afterEach(async () => {
  for (const node of nodes.splice(0)) node.stop()
  await server?.close()
  server = undefined
})

async function startNode(
  room: string,
  opts: {
    local?: Tracks
    peerStore?: MemoryPeerStore
    identity?: Identity
    config?: Partial<NodeConfig>
  } = {},
) {
  const identity = opts.identity ?? (await testIdentity())
  const signaling = testSignaling(server!.wsUrl, room, identity.peerId)
  const node = new DcmxNode({
    identity,
    crypto: nodeCrypto,
    clock: realClock,
    random: Math.random,
    signaling,
    createLink: network.factory(identity.peerId),
    ...(opts.local ? { local: opts.local } : {}),
    ...(opts.peerStore ? { peerStore: opts.peerStore } : {}),
    config: { ...FAST, ...opts.config },
  })
  nodes.push(node)
  node.start()
  return { node, signaling, identity }
}

const connected = (node: DcmxNode) => node.peers.filter((p) => p.state === 'connected').map((p) => p.peerId)
const holders = (node: DcmxNode, hash: string) => node.network.find((t) => t.contentHash === hash)?.holders

describe('DcmxNode mesh', () => {
  it('announces its tracks with their metadata, and every node counts the holders', async () => {
    server = await startSignaling({ port: 0, host: '127.0.0.1', log: () => {}, heartbeatMs: 60_000 })
    const shared = simHash('shared')
    const only = simHash('only-a')
    const a = await startNode('mesh', {
      local: new Tracks([simTrack(shared, 'Shared'), simTrack(only, 'Only A')]),
    })
    const bTracks = new Tracks([simTrack(shared, 'Shared')])
    const b = await startNode('mesh', { local: bTracks })
    const c = await startNode('mesh')
    await waitFor(() =>
      [a, b, c].every(({ node }) => holders(node, shared) === 2 && holders(node, only) === 1),
    )
    await waitFor(() => c.node.network.every((t) => t.described))
    expect(c.node.network.find((t) => t.contentHash === only)).toMatchObject({
      title: 'Only A',
      local: false,
    })
    expect(a.node.network.find((t) => t.contentHash === only)).toMatchObject({ local: true })
    expect(c.node.knownPeers.find((p) => p.peerId === a.node.peerId)?.tracks).toBe(2)

    // B drops the shared track: everyone counts one holder, and is told of the change.
    const changes: NetworkChange[] = []
    c.node.events.on('network', (change) => changes.push(change))
    bTracks.set([])
    await waitFor(() => [a, b, c].every(({ node }) => holders(node, shared) === 1))
    // The event is coalesced (50 ms): it follows the directory's change, named, unless the node's
    // first event ('all', a full rebuild) was still pending and took it in.
    await waitFor(() => changes.some((change) => change === 'all' || change.hashes.includes(shared)))
    expect(c.node.networkTrack(shared)).toMatchObject({ holders: 1, title: 'Shared' })
    // B still lists it, described, now as a network track.
    expect(b.node.network.find((t) => t.contentHash === shared)).toMatchObject({
      title: 'Shared',
      local: false,
    })
    expect(c.node.stats.sent['discover']?.messages).toBeGreaterThan(0)
    expect(c.node.stats.knownTracks).toBe(2)

    // A stops (closing a tab): its goodbye empties its holdings everywhere at once.
    a.node.stop()
    await waitFor(() => [b, c].every(({ node }) => holders(node, only) === 0 && holders(node, shared) === 0))
  })

  it('remembers linked peers across a restart and re-dials one learned earlier through a lookup', async () => {
    server = await startSignaling({ port: 0, host: '127.0.0.1', log: () => {}, heartbeatMs: 60_000 })
    const store = new MemoryPeerStore()
    const a = await startNode('remember', { peerStore: store })
    // B refills slowly, so the re-link below is the returning node's doing.
    const b = await startNode('remember', { config: { refillMs: 60_000 } })
    await waitFor(() => connected(a.node).includes(b.node.peerId))
    await waitFor(() => a.node.mesh.directory.get(b.node.peerId) !== undefined)
    a.node.stop()
    await waitFor(() => store.peers.some((p) => p.peerId === b.node.peerId))
    expect(store.peers.find((p) => p.peerId === b.node.peerId)).toMatchObject({
      publicKey: b.node.mesh.own!.rec.key,
      failures: 0,
    })

    // The same identity comes back (a reload): it restores its passive view from the store…
    const again = await startNode('remember', { peerStore: store, identity: a.identity })
    await waitFor(() => again.node.passive.size > 0 && connected(again.node).includes(b.node.peerId))
    const lookups: string[][] = []
    const lookup = again.signaling.lookup.bind(again.signaling)
    again.signaling.lookup = (ids) => {
      lookups.push(ids)
      lookup(ids)
    }
    // …and when the link is lost, asks the server for that peer by id and links to it again.
    network.links.find((l) => l.open && l.other?.open)!.close('network hiccup')
    await waitFor(() => lookups.some((ids) => ids.includes(b.node.peerId)), 5_000)
    await waitFor(() => connected(again.node).includes(b.node.peerId), 5_000)
  })
})
