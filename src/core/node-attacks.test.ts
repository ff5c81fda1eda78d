import { afterEach, describe, expect, it } from 'vitest'
import { startSignaling, type SignalingServer } from '../../signaling/server.ts'
import { Emitter } from './emitter.ts'
import type { Identity } from './identity.ts'
import type { LocalTracks } from './mesh-types.ts'
import { DcmxNode, type NodeConfig } from './node.ts'
import { DEFAULT_SESSION_CONFIG } from './peer-session.ts'
import { fullPages } from './gossip.ts'
import {
  packEntries,
  signerFor,
  signRecord,
  trackSetRoot,
  webCryptoSha256,
  type TrackEntry,
} from './records.ts'
import type { SignalingClient } from './signaling-client.ts'
import { nodeCrypto, testIdentity } from './testing/crypto.ts'
import { waitFor } from './testing/fake-clock.ts'
import { HostilePeer, hostileMember } from './testing/hostile-peer.ts'
import { memoryLinkNetwork } from './testing/memory-link.ts'
import { simHash } from './testing/mesh-sim.ts'
import { realClock, testSignaling } from './testing/ws-socket.ts'
import { decodeWire, MAX_ANNOUNCED, type Wire } from './wire.ts'

/**
 * Attacks on a whole node over the real signaling server, by hostile members of its room: each
 * of these worked against the node before the link layer was rebuilt.
 */

const FAST: Partial<NodeConfig> = {
  refillMs: 150,
  // Dead links go quickly; live ones survive a loaded machine (tests share two cores).
  session: { ...DEFAULT_SESSION_CONFIG, pingIntervalMs: 100, deadAfterMs: 5_000, handshakeTimeoutMs: 2_000 },
}

let server: SignalingServer | undefined
const nodes: DcmxNode[] = []
const clients: SignalingClient[] = []
const network = memoryLinkNetwork()

afterEach(async () => {
  for (const node of nodes.splice(0)) node.stop()
  for (const client of clients.splice(0)) client.stop()
  await server?.close()
  server = undefined
})

async function startServer() {
  server = await startSignaling({
    port: 0,
    host: '127.0.0.1',
    log: () => {},
    heartbeatMs: 60_000,
    // Members keep asking for samples until the victim is in one.
    rateLimit: { perSecond: 200, burst: 400 },
  })
  return server
}

const noTracks: LocalTracks = { tracks: [], events: new Emitter<{ tracks: [] }>() }

async function startNode(room: string, config: Partial<NodeConfig> = {}, identity?: Identity) {
  identity ??= await testIdentity()
  const node = new DcmxNode({
    identity,
    crypto: nodeCrypto,
    clock: realClock,
    random: Math.random,
    signaling: testSignaling(server!.wsUrl, room, identity.peerId),
    createLink: network.factory(identity.peerId),
    local: noTracks,
    config: { ...FAST, ...config },
  })
  nodes.push(node)
  node.start()
  return node
}

const connected = (node: DcmxNode) => node.peers.filter((p) => p.state === 'connected').map((p) => p.peerId)

/** A member of the room under any id it likes, and stopped after the test. */
async function member(room: string, claim: string) {
  const m = await hostileMember(server!.wsUrl, room, claim, network.factory)
  clients.push(m.signaling)
  return m
}

describe('a node under attack by members of its room', { timeout: 30_000 }, () => {
  it('an impostor claiming X that fails its handshake does not get X banned', async () => {
    await startServer()
    const victim = await startNode('impostor')
    const x = await testIdentity()
    const impostor = await member('impostor', x.peerId)
    const ref = await impostor.find(victim.peerId)
    // Twice: once stalling (never a hello), once with a hello under X's id and its own key.
    impostor.dial(ref)
    const liar = impostor.dial(ref)
    new HostilePeer(liar, await testIdentity(), realClock)
    // Both fail: one times out unproven, the other is refused for claiming an id not its own.
    await waitFor(
      () => victim.peers.length === 0 && victim.log.some((e) => /claimed to be/.test(e.message)),
      5_000,
    )
    impostor.signaling.stop()
    const real = await startNode('impostor', {}, x)
    await waitFor(() => connected(victim).includes(real.peerId), 5_000)
    expect(victim.banned).toEqual([])
  })

  it('8 verified links and 12 dead offers: all 8 stay, an honest newcomer gets in, nothing is banned', async () => {
    await startServer()
    const victim = await startNode('eclipse', { linkBudget: 8 })
    for (let i = 0; i < 8; i++) await startNode('eclipse', { linkBudget: 2 })
    await waitFor(() => connected(victim).length === 8, 10_000)
    const before = new Set(connected(victim))
    // Twelve members (one signaling session each: a node keys links by session), each opening a
    // link and never saying hello.
    for (let i = 0; i < 12; i++) {
      const attacker = await member('eclipse', simHash(`attacker-${i}`).slice(0, 32))
      attacker.dial(await attacker.find(victim.peerId))
    }
    await new Promise((r) => setTimeout(r, 300))
    expect(new Set(connected(victim))).toEqual(before)
    const newcomer = await startNode('eclipse', { linkBudget: 16, refillMs: 100 })
    await waitFor(() => connected(victim).includes(newcomer.peerId), 8_000)
    // Wait out the dead offers' handshake timeout: still nothing banned.
    await new Promise((r) => setTimeout(r, FAST.session!.handshakeTimeoutMs + 300))
    expect(victim.banned).toEqual([])
    expect(connected(victim).filter((id) => before.has(id)).length).toBeGreaterThanOrEqual(7)
  })

  it('verified Sybil newcomers churn only other newcomers: the oldest and the most useful links stay', async () => {
    await startServer()
    const victim = await startNode('sybil', { linkBudget: 4, inboundSlack: 0 })
    for (let i = 0; i < 4; i++) await startNode('sybil', { linkBudget: 1, refillMs: 60_000 })
    await waitFor(() => connected(victim).length === 4, 10_000)
    const byAge = victim.links.verified.sort((a, b) => a.verifiedAt! - b.verifiedAt!)
    const oldest = byAge.slice(0, 2).map((e) => e.peer.provenId!)
    // The youngest one has delivered pieces to us: useful, so kept too.
    const useful = byAge.at(-1)!.peer.provenId!
    victim.links.credit(useful, 4 * 262_144)
    for (let i = 0; i < 6; i++) {
      const identity = await testIdentity()
      const sybil = await member('sybil', identity.peerId)
      const h = new HostilePeer(sybil.dial(await sybil.find(victim.peerId)), identity, realClock)
      await waitFor(() => h.connected || h.session.state === 'closed')
      await waitFor(() => victim.links.verified.length <= 4)
    }
    for (const id of [...oldest, useful]) expect(connected(victim)).toContain(id)
  })

  it('a peer that stops reading while asking 200 peers-req/s for a 14,400-track record closes as a slow reader', async () => {
    await startServer()
    const victim = await startNode('slow')
    const ih = await testIdentity()
    const hostile = await member('slow', ih.peerId)
    const link = hostile.dial(await hostile.find(victim.peerId))
    const h = new HostilePeer(link, ih, realClock)
    await waitFor(() => h.connected && connected(victim).includes(ih.peerId))
    // Its own record with the most tracks a record may have, announced in full (8 pages).
    const hashes = Array.from({ length: MAX_ANNOUNCED }, (_, i) => simHash(`big-${i}`))
    const big = await bigAnnouncement(ih, hashes)
    for (const msg of big) await h.send(msg)
    // A second origin's big record, relayed by the hostile: the one it will keep naming.
    const other = await testIdentity()
    for (const msg of await bigAnnouncement(other, hashes)) await h.send(msg)
    await waitFor(() => victim.mesh.directory.get(other.peerId)?.tracks.size === MAX_ANNOUNCED, 10_000)
    h.stallReads()
    const victimLink = link.other!
    let peak = 0
    const watch = setInterval(
      () => (peak = Math.max(peak, victimLink.waiting + victimLink.bufferedAmount)),
      1,
    )
    try {
      for (let i = 0; i < 400 && victimLink.open; i++) {
        await h.send({ type: 'peers-req', id: i, have: [[other.peerId, 1]], max: 32 })
        await new Promise((r) => setTimeout(r, 5))
      }
      await waitFor(() => !victimLink.open, 5_000)
    } finally {
      clearInterval(watch)
    }
    expect(victim.log.some((e) => /slow reader/.test(e.message))).toBe(true)
    expect(peak).toBeLessThanOrEqual(victim.config.session.outboundBudget + 64 * 1024)
  })

  it('never pushes a peer its own record back (no reflection)', async () => {
    await startServer()
    const victim = await startNode('reflect')
    const ih = await testIdentity()
    const hostile = await member('reflect', ih.peerId)
    const link = hostile.dial(await hostile.find(victim.peerId))
    const h = new HostilePeer(link, ih, realClock)
    await waitFor(() => h.connected && connected(victim).includes(ih.peerId))
    const hashes = Array.from({ length: MAX_ANNOUNCED }, (_, i) => simHash(`own-${i}`))
    for (const msg of await bigAnnouncement(ih, hashes)) await h.send(msg)
    await waitFor(() => victim.mesh.directory.get(ih.peerId)?.tracks.size === MAX_ANNOUNCED, 10_000)
    let reflected = 0
    link.events.on('message', (frame) => {
      const msg = decodeWire(frame)
      if (msg.ok && msg.value.type === 'discover' && msg.value.rec.peer === ih.peerId)
        reflected += frame.length
    })
    // 87 bytes naming its own record at version 0: "I lack this, send it".
    await h.send({ type: 'peers-req', id: 1, have: [[ih.peerId, 0]], max: 8 })
    await new Promise((r) => setTimeout(r, 300))
    expect(reflected).toBe(0)
  })
})

/** A full announcement of `hashes` by `identity`, in pages. */
async function bigAnnouncement(identity: Identity, hashes: string[]): Promise<Wire[]> {
  const sha256 = webCryptoSha256(nodeCrypto.subtle)
  // Each track's descriptor digest: any 32 bytes do for a flood (the set's root signs them).
  const entries: TrackEntry[] = hashes.map((hash) => [hash, hash])
  const rec = await signRecord(signerFor(identity), {
    ver: Date.now(),
    ttl: 3_600,
    root: await trackSetRoot(sha256, entries),
    count: hashes.length,
  })
  return fullPages(rec, packEntries(entries))
}
