import type { Identity } from '../core/identity.ts'
import { DcmxNode, DEFAULT_NODE_CONFIG, type NodeDeps } from '../core/node.ts'
import { DcmxError } from '../core/errors.ts'
import { holdSignaling, SignalingClient } from '../core/signaling-client.ts'
import { isRoom, SIGNALING_PATH } from '../core/signaling-protocol.ts'
import type { LinkFactory } from '../core/link.ts'
import type { LocalTracks } from '../core/mesh-types.ts'
import { IdbPeerStore } from './peer-store.ts'
import { systemClock } from './clock.ts'
import type { RelayOnlySetting } from './privacy.ts'
import type { createRtcLink } from './rtc-link.ts'
import { openBrowserSocket } from './socket.ts'
import { markOnce } from './marks.ts'

export const DEFAULT_ROOM = 'lobby'
/** A sane ceiling on links a user can ask for; each one costs a peer connection. */
const MAX_LINK_BUDGET = 32

/** Bounds on `?gossip=` (ms between rounds): fast enough for a demo or test, never a busy loop. */
const MIN_GOSSIP_MS = 200
const MAX_GOSSIP_MS = 60_000

export type BrowserNodeOptions = {
  room: string
  linkBudget: number
  /** Mean time between gossip rounds, when the URL sets it. */
  gossipMs?: number
  warnings: string[]
}

/** Read `?room=`, `?links=` and `?gossip=` from the page URL; bad values fall back to defaults with a warning. */
export function readOptions(url: URL): BrowserNodeOptions {
  const warnings: string[] = []
  let room = url.searchParams.get('room') ?? DEFAULT_ROOM
  if (!isRoom(room)) {
    warnings.push(
      `Room "${room.slice(0, 40)}" is not valid (letters, digits, . _ - up to 64); using "${DEFAULT_ROOM}".`,
    )
    room = DEFAULT_ROOM
  }
  let linkBudget = DEFAULT_NODE_CONFIG.linkBudget
  const links = url.searchParams.get('links')
  if (links !== null) {
    const n = Number(links)
    if (Number.isInteger(n) && n >= 1 && n <= MAX_LINK_BUDGET) linkBudget = n
    else
      warnings.push(
        `Link budget "${links.slice(0, 10)}" is not a whole number from 1 to ${MAX_LINK_BUDGET}; using ${linkBudget}.`,
      )
  }
  const gossip = url.searchParams.get('gossip')
  let gossipMs: number | undefined
  if (gossip !== null) {
    const n = Number(gossip)
    if (Number.isInteger(n) && n >= MIN_GOSSIP_MS && n <= MAX_GOSSIP_MS) gossipMs = n
    else
      warnings.push(
        `Gossip interval "${gossip.slice(0, 10)}" is not a whole number of ms from ${MIN_GOSSIP_MS} to ${MAX_GOSSIP_MS}; using the default.`,
      )
  }
  return { room, linkBudget, ...(gossipMs ? { gossipMs } : {}), warnings }
}

/** The WebRTC side (simple-peer and the ICE doctor): a chunk of its own, loaded once the app has rendered. */
type RtcModule = { createRtcLink: typeof createRtcLink }

/** The tab's signaling connection, opened before its node exists. */
export type EarlySignaling = {
  client: SignalingClient
  /** Tell the node what the server said so far (once, right after the node subscribes). */
  release(): void
}

/**
 * Open the signaling connection and join the room now, with only the identity known: the socket,
 * the welcome and the join's round trip then overlap the library's opening, the first render and
 * the WebRTC code's loading instead of following them. What the server says meanwhile (the peers
 * to link to, their offers) is held for the node; nothing can dial or answer before it starts.
 */
export function openSignaling(
  identity: Identity,
  options: BrowserNodeOptions = readOptions(new URL(location.href)),
): EarlySignaling {
  markOnce('dcmx:identity-ready')
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
  const client = new SignalingClient({
    url: `${scheme}://${location.host}${SIGNALING_PATH}`,
    room: options.room,
    peerId: identity.peerId,
    openSocket: openBrowserSocket,
    clock: systemClock,
    random: Math.random,
  })
  const held = holdSignaling(client.events)
  // The join's answer (signaling-online is marked only once the node has started and heard it).
  client.events.on('state', (state) => {
    if (state.state === 'online') markOnce('dcmx:signaling-joined')
  })
  client.start()
  return { client, release: () => held.release() }
}

/**
 * Build this tab's node from its identity, its signaling connection (`openSignaling`) and the
 * browser's WebCrypto, IndexedDB and WebRTC, without starting it: `start` loads the WebRTC code
 * (not needed to show the app) and then starts the node. Nothing can dial or answer a peer before
 * that, since the node is not online.
 */
export function createBrowserNode(
  identity: Identity,
  early: EarlySignaling,
  options: BrowserNodeOptions = readOptions(new URL(location.href)),
  local?: LocalTracks,
  content?: NodeDeps['content'],
  privacy?: RelayOnlySetting,
) {
  let rtc: RtcModule | undefined
  const signaling = early.client
  const createLink: LinkFactory = (linkOptions) => {
    if (!rtc) throw new DcmxError('UNSUPPORTED', 'The WebRTC code is not loaded yet.')
    const link = rtc.createRtcLink({
      ...linkOptions,
      relayOnly: privacy?.value === true,
      freshIceServers: () => signaling.iceServers,
    })
    link.events.on('open', () => markOnce('dcmx:first-channel-open'))
    // How links connect, counted by the server's /metrics (nothing but the two candidate types).
    link.events.on('route', (route) => signaling.report({ local: route.local, remote: route.remote }))
    return link
  }
  const node = new DcmxNode({
    identity,
    crypto: { subtle: crypto.subtle, randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)) },
    clock: systemClock,
    random: Math.random,
    signaling,
    createLink,
    ...(local ? { local } : {}),
    ...(content ? { content } : {}),
    peerStore: new IdbPeerStore(),
    config: {
      linkBudget: options.linkBudget,
      mesh: options.gossipMs ? { gossip: { intervalMs: options.gossipMs } } : {},
    },
  })
  // Both marks are made once, early on: the listener then leaves (the node changes on every message).
  const offMarks = node.events.on('change', () => {
    if (node.signaling.state !== 'online') return
    markOnce('dcmx:signaling-online')
    if (!node.peers.some((p) => p.state === 'connected')) return
    markOnce('dcmx:first-peer-verified')
    offMarks()
  })
  // Closing the tab closes its links at once, so other nodes drop it without waiting for pings
  // (and leaves the room, also when the node has not started yet).
  addEventListener('pagehide', () => {
    node.stop()
    signaling.stop()
  })
  // A page restored from the back/forward cache comes back to life as the same node.
  addEventListener('pageshow', (event) => event.persisted && rtc && node.start())
  // The network is back: try the signaling server now instead of when the backoff timer says
  // (up to a minute later). Only a client waiting to retry is restarted; the links stay up.
  addEventListener('online', () => {
    if (!rtc) return void start().catch(() => {})
    if (signaling.state.state !== 'reconnecting') return
    signaling.stop()
    signaling.start()
  })
  let started: Promise<void> | undefined
  /** Load the WebRTC code, then start the node (once; a failed load is tried again on the next call). */
  const start = (): Promise<void> =>
    (started ??= import('./rtc-link.ts').then(
      (module) => {
        rtc = module
        markOnce('dcmx:rtc-loaded')
        node.start()
        early.release()
      },
      (error: unknown) => {
        started = undefined
        throw new DcmxError(
          'UNSUPPORTED',
          `The app's WebRTC code did not load (${error instanceof Error ? error.message : String(error)}); it is tried again when the network is back.`,
        )
      },
    ))
  return { node, start }
}
