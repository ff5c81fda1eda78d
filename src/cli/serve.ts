import { randomBytes } from 'node:crypto'
import { isContentHash } from '../core/content.ts'
import { DcmxError } from '../core/errors.ts'
import { writeFileAtomic } from '../node/atomic.ts'
import type { OpenHome } from '../node/open-home.ts'
import type { MeshNode } from '../node/start-node.ts'
import { startApi } from './api-server.ts'
import { addFiles, fetchTrack, removeTrack, verifyHome, type Stats } from './ops.ts'

const hashOf = (body: unknown): string => {
  const hash = (body as { hash?: unknown })?.hash
  if (typeof hash !== 'string' || !isContentHash(hash))
    throw new DcmxError('BAD_MESSAGE', 'not a content hash')
  return hash
}

/** The running node's stats, in the shape `dcmx stats` prints. */
export async function runningStats(home: OpenHome, mesh: MeshNode, startedAt: number): Promise<Stats> {
  const { node } = mesh
  const sum = (r: Record<string, { bytes: number }>) => Object.values(r).reduce((n, t) => n + t.bytes, 0)
  const usage = await home.store.usage()
  return {
    peerId: node.peerId,
    running: true,
    uptimeS: Math.round((Date.now() - startedAt) / 1000),
    tracks: home.library.tracks.length,
    storedBytes: usage.bytes,
    peers: {
      linked: node.peers.filter((p) => p.state === 'connected').length,
      known: node.knownPeers.length,
    },
    bytesIn: sum(node.stats.received),
    bytesOut: sum(node.stats.sent),
    piecesSent: node.stats.sent['content-piece']?.messages ?? 0,
    signaling: node.signaling.state,
  }
}

/**
 * Serve the local API for a running node and record where it listens: a fresh token in
 * `<home>/api.token` (0600) and the port in the home's lock, which is how `dcmx add` and the other
 * commands in another terminal find the node that owns the home and hand it their work.
 */
export async function serveApi(home: OpenHome, mesh: MeshNode, port: number) {
  const startedAt = Date.now()
  const token = randomBytes(24).toString('hex')
  await writeFileAtomic(home.paths.token, token, 0o600)
  const api = await startApi(port, token, {
    ping: () => ({ ok: true, peerId: mesh.node.peerId }),
    tracks: () => home.library.tracks,
    peers: () => mesh.node.knownPeers,
    stats: () => runningStats(home, mesh, startedAt),
    reader: mesh.reader,
    actions: {
      add: async (body, emit, signal) => {
        const paths = (body as { paths?: unknown })?.paths
        if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string'))
          throw new DcmxError('BAD_MESSAGE', 'paths must be a list of strings')
        home.logs.write('node', 'info', `add ${paths.length} path(s) from the API`)
        return addFiles(home, paths, (e) => emit({ type: 'job', job: e }), signal)
      },
      rm: async (body) => removeTrack(home, hashOf(body)),
      verify: async (_body, emit) => verifyHome(home, (r) => emit({ type: 'verified', result: r })),
      get: async (body, emit) =>
        fetchTrack(home, mesh, hashOf(body), (p) => emit({ type: 'progress', progress: p })),
    },
  })
  await home.lock.advertise(api.port)
  return api
}
