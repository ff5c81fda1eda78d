import { DcmxNode } from '../core/node.ts'
import type { ContentReader } from '../core/content-reader.ts'
import { SignalingClient } from '../core/signaling-client.ts'
import { SIGNALING_PATH } from '../core/signaling-protocol.ts'
import { firstOf, localReader } from '../platform/local-reader.ts'
import { systemClock } from '../platform/clock.ts'
import { FilePeerStore } from './file-peer-store.ts'
import { loadKeyFile } from './identity-file.ts'
import type { OpenHome } from './open-home.ts'
import { createNodeLink } from './rtc-link.ts'
import { verifiedRead } from './verified-read.ts'
import { openNodeSocket } from './ws-socket.ts'

export type MeshOptions = {
  /** The URL a browser opens (http or https); signaling is at its SIGNALING_PATH. */
  server: string
  room: string
  linkBudget: number
  /** Mean ms between gossip rounds (as a tab's ?gossip=); the core's default when unset. */
  gossipMs?: number
}

/** The signaling WebSocket URL for the app's URL. */
export function signalingUrl(server: string): string {
  const url = new URL(SIGNALING_PATH, server)
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
  return url.href
}

/**
 * The headless node's composition root: the tab's DcmxNode over Node's platform (key file,
 * `ws` signaling, wrtc links, the home's store and catalog). Kept short on purpose: everything
 * with logic of its own lives in the core or in its own src/node file.
 */
export async function startMeshNode(home: OpenHome, options: MeshOptions) {
  const { library, store, logs } = home
  const identity = await loadKeyFile(home.paths.identity)
  const server = new URL(options.server)
  const signaling = new SignalingClient({
    url: signalingUrl(options.server),
    room: options.room,
    peerId: identity.peerId,
    // A browser opening the app sends its origin; so does this node, for servers that check it.
    openSocket: (url) => openNodeSocket(url, server.origin),
    clock: systemClock,
    random: Math.random,
  })
  const read = verifiedRead(
    (hash) => library.track(hash),
    (hash, start, end) => store.read(hash, start, end),
    (hash, piece) => logs.write('errors', 'error', `stored blob ${hash} fails its hash at piece ${piece}`),
  )
  const node = new DcmxNode({
    identity,
    crypto: {
      subtle: globalThis.crypto.subtle,
      randomBytes: (n) => globalThis.crypto.getRandomValues(new Uint8Array(n)),
    },
    clock: systemClock,
    random: Math.random,
    signaling,
    createLink: createNodeLink,
    local: library,
    peerStore: new FilePeerStore(home.paths.peers),
    content: { read, partials: home.partials, adopt: (track) => library.adopt(track) },
    // What the core did not expect (a handler that threw, a peer that misbehaved) goes to errors.log.
    devLog: (namespace, message, detail) =>
      logs.write(
        'errors',
        'warn',
        `[${namespace}] ${message}${detail === undefined ? '' : `: ${detail instanceof Error ? detail.message : String(detail)}`}`,
      ),
    config: {
      linkBudget: options.linkBudget,
      mesh: options.gossipMs ? { gossip: { intervalMs: options.gossipMs } } : {},
    },
  })
  node.events.on('log', (entry) => logs.write('network', entry.level, entry.message))
  const local = localReader({ store: { read }, catalog: { get: async (h) => library.track(h) } })
  let reader: ContentReader = local
  if (node.fetcher) {
    const either = firstOf(local, node.fetcher)
    // What the store held is asked again once the library changes (firstOf remembers who answered).
    library.events.on('tracks', () => either.forget())
    reader = either
  }
  node.start()
  return { node, identity, reader }
}

export type MeshNode = Awaited<ReturnType<typeof startMeshNode>>
