import { afterEach, describe, expect, it } from 'vitest'
import { startSignaling, type SignalingServer } from '../../signaling/server.ts'
import { DcmxNode, type NodeConfig } from './node.ts'
import { DEFAULT_SESSION_CONFIG } from './peer-session.ts'
import { nodeCrypto, testIdentity } from './testing/crypto.ts'
import { waitFor } from './testing/fake-clock.ts'
import { memoryLinkNetwork } from './testing/memory-link.ts'
import { realClock, testSignaling } from './testing/ws-socket.ts'

/**
 * The real core against the real signaling server, with in-memory links in place of WebRTC.
 * Timings are shortened so that liveness and refill behaviour show within a second or two.
 */
const FAST: Partial<NodeConfig> = {
  refillMs: 200,
  session: { ...DEFAULT_SESSION_CONFIG, pingIntervalMs: 100, deadAfterMs: 600, handshakeTimeoutMs: 3_000 },
}

let server: SignalingServer | undefined
const nodes: DcmxNode[] = []
const network = memoryLinkNetwork()

afterEach(async () => {
  for (const node of nodes.splice(0)) node.stop()
  await server?.close()
  server = undefined
})

async function startServer(port = 0) {
  server = await startSignaling({ port, host: '127.0.0.1', log: () => {}, heartbeatMs: 60_000 })
  return server
}

async function startNode(room: string, config: Partial<NodeConfig> = {}) {
  const identity = await testIdentity()
  const signaling = testSignaling(server!.wsUrl, room, identity.peerId)
  const node = new DcmxNode({
    identity,
    crypto: nodeCrypto,
    clock: realClock,
    random: Math.random,
    signaling,
    createLink: network.factory(identity.peerId),
    config: { ...FAST, ...config },
  })
  nodes.push(node)
  node.start()
  return node
}

const connected = (node: DcmxNode) => node.peers.filter((p) => p.state === 'connected').map((p) => p.peerId)

describe('DcmxNode', () => {
  it('links every node of a small room to every other, once', async () => {
    await startServer()
    const room = 'full-mesh'
    const all: DcmxNode[] = []
    for (let i = 0; i < 5; i++) all.push(await startNode(room))
    await waitFor(() => all.every((n) => connected(n).length === 4))
    for (const node of all) {
      expect(new Set(connected(node))).toEqual(new Set(all.filter((n) => n !== node).map((n) => n.peerId)))
      expect(node.peers).toHaveLength(4)
    }
  })

  it('keeps within its link budget and still connects a larger room', async () => {
    await startServer()
    const all: DcmxNode[] = []
    for (let i = 0; i < 8; i++) all.push(await startNode('budget', { linkBudget: 2, inboundSlack: 1 }))
    const byId = new Map(all.map((n) => [n.peerId, n]))
    // The links form one connected graph: a walk from the first node reaches all of them.
    const reachable = () => {
      const seen = new Set([all[0]!.peerId])
      const queue = [all[0]!]
      for (let node = queue.shift(); node; node = queue.shift()) {
        for (const id of connected(node)) if (!seen.has(id) && seen.add(id)) queue.push(byId.get(id)!)
      }
      return seen.size
    }
    await waitFor(() => reachable() === all.length, 8_000)
    // Verified links within budget and slack; offers still proving themselves have a pool of their own.
    for (const node of all) {
      expect(connected(node).length).toBeLessThanOrEqual(3)
      expect(node.peers.length).toBeLessThanOrEqual(3 + node.config.pendingCap)
    }
  })

  it('replaces a lost link from a fresh sample', async () => {
    await startServer()
    const [a, b] = [await startNode('refill'), await startNode('refill')]
    await waitFor(() => connected(a).includes(b.peerId))
    const link = network.links.find((l) => l.open && l.other?.open)!
    link.close('network hiccup')
    await waitFor(() => !connected(a).includes(b.peerId) || !connected(b).includes(a.peerId))
    await waitFor(() => connected(a).includes(b.peerId) && connected(b).includes(a.peerId), 5_000)
  })

  it('closes a link that stops answering pings', async () => {
    await startServer()
    const [a, b] = [
      await startNode('silent', { refillMs: 60_000 }),
      await startNode('silent', { refillMs: 60_000 }),
    ]
    await waitFor(() => connected(a).includes(b.peerId) && connected(b).includes(a.peerId))
    for (const l of network.links) if (l.open) l.freeze()
    await waitFor(() => a.peers.length === 0 && b.peers.length === 0, 3_000)
    // Whichever side notices first closes the link; the other sees it closed.
    expect([a, b].some((n) => n.log.some((e) => e.message.includes('no answer to pings')))).toBe(true)
  })

  it('re-joins by itself after the server restarts, keeping its links', async () => {
    const { port } = await startServer()
    const [a, b] = [await startNode('restart'), await startNode('restart')]
    await waitFor(() => connected(a).includes(b.peerId))
    await server!.close()
    await waitFor(() => a.signaling.state === 'reconnecting' && b.signaling.state === 'reconnecting')
    await new Promise((r) => setTimeout(r, 300))
    expect(connected(a)).toEqual([b.peerId])
    await startServer(port)
    await waitFor(() => a.signaling.state === 'online' && b.signaling.state === 'online', 5_000)
    const c = await startNode('restart')
    await waitFor(() => connected(c).length === 2 && connected(a).length === 2 && connected(b).length === 2)
  })

  it('reports the server as reconnecting with the time of its next try', async () => {
    const { port } = await startServer()
    const a = await startNode('retry')
    await waitFor(() => a.signaling.state === 'online')
    await server!.close()
    await waitFor(() => a.signaling.state === 'reconnecting')
    const state = a.signaling
    expect(state.state === 'reconnecting' && state.retryAt > Date.now() - 50).toBe(true)
    await startServer(port)
    await waitFor(() => a.signaling.state === 'online', 5_000)
  })
})
