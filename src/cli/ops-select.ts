import { resolve } from 'node:path'
import type { Track } from '../core/catalog.ts'
import type { KnownPeer } from '../core/mesh-types.ts'
import { FileCatalog } from '../node/file-catalog.ts'
import { FsContentStore } from '../node/fs-store.ts'
import { homePaths } from '../node/home.ts'
import { lockHolder } from '../node/home-lock.ts'
import { openHome, type OpenHome } from '../node/open-home.ts'
import { startMeshNode } from '../node/start-node.ts'
import { ApiClient } from './api-client.ts'
import { gossipMs, resolveSettings, type NodeSettings } from './config.ts'
import {
  addFiles,
  fetchTrack,
  removeTrack,
  verifyHome,
  type AddEvent,
  type GetProgress,
  type Ops,
  type Stats,
  type VerifyResult,
} from './ops.ts'

/** The node `dcmx start` runs on this home, if one is up and serving its API. */
export async function runningNode(root: string): Promise<ApiClient | undefined> {
  const paths = homePaths(root)
  const holder = await lockHolder(paths.lock)
  if (!holder || holder.command !== 'start' || !holder.api) return undefined
  return ApiClient.forHome(holder.api, paths.token).catch(() => undefined)
}

/** Ops through the running node's API: it owns the home, so the work is handed to it. */
function remoteOps(api: ApiClient): Ops {
  return {
    // The running node has its own working folder: paths travel absolute.
    add: (paths, onEvent) =>
      api.act<AddEvent[]>(
        'add',
        { paths: paths.map((p) => resolve(p)) },
        (e) => e.type === 'job' && onEvent(e.job as AddEvent),
      ),
    list: () => api.get<Track[]>('/tracks'),
    stats: () => api.get<Stats>('/stats'),
    peers: () => api.get<KnownPeer[]>('/peers'),
    rm: (hash) => api.act<Track>('rm', { hash }),
    verify: (onResult) =>
      api.act<VerifyResult[]>(
        'verify',
        {},
        (e) => e.type === 'verified' && onResult(e.result as VerifyResult),
      ),
    get: (hash, onProgress) =>
      api.act<Track>('get', { hash }, (e) => e.type === 'progress' && onProgress(e.progress as GetProgress)),
  }
}

/** Ops on a home this process holds. `get` joins the mesh for as long as the download takes. */
function localOps(home: OpenHome, settings: () => Promise<NodeSettings>): Ops {
  return {
    add: (paths, onEvent, signal) => addFiles(home, paths, onEvent, signal),
    list: async () => home.library.tracks,
    stats: async () => ({
      running: false,
      tracks: home.library.tracks.length,
      storedBytes: (await home.store.usage()).bytes,
    }),
    peers: async () => [],
    rm: (hash) => removeTrack(home, hash),
    verify: (onResult) => verifyHome(home, onResult),
    async get(hash, onProgress) {
      const s = await settings()
      const mesh = await startMeshNode(home, {
        server: s.server,
        room: s.room,
        linkBudget: s.links,
        ...opt(gossipMs()),
      })
      try {
        return await fetchTrack(home, mesh, hash, onProgress)
      } finally {
        mesh.node.stop()
      }
    },
  }
}

/**
 * Run `fn` with the right Ops: the running node's API when `dcmx start` owns the home, else this
 * process takes the home's lock for the command's duration (HomeLockedError when another holds it).
 */
export async function withOps<T>(
  root: string,
  command: string,
  flags: Partial<Record<keyof NodeSettings, unknown>>,
  fn: (ops: Ops, local: boolean) => Promise<T>,
): Promise<T> {
  const api = await runningNode(root)
  if (api) return fn(remoteOps(api), false)
  const home = await openHome(root, command)
  try {
    return await fn(
      localOps(home, () => resolveSettings(home.paths.config, flags)),
      true,
    )
  } finally {
    await home.close()
  }
}

/** Read-only views that need no lock: tracks.json is only ever replaced whole, by rename. */
export async function readOnly(root: string) {
  const paths = homePaths(root)
  return {
    catalog: new FileCatalog(paths.tracks, paths.covers),
    store: new FsContentStore(paths.content, paths.tmp),
  }
}

const opt = (ms: number | undefined) => (ms ? { gossipMs: ms } : {})
