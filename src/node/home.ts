import { mkdir } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

/**
 * Where a headless node keeps everything (DESIGN.md §2): `content/<2 hex>/<hash>` for blobs,
 * `metadata/` for the catalog, known peers and config, `logs/` for its logs. The identity key,
 * the home lock and the API token sit at the top, beside those folders.
 */
export type HomePaths = {
  root: string
  content: string
  /** Imports and downloads being written: never visible until renamed into `content/`. */
  tmp: string
  /** Downloads in progress, one folder of verified pieces per hash. */
  partial: string
  metadata: string
  tracks: string
  covers: string
  peers: string
  config: string
  logs: string
  identity: string
  lock: string
  token: string
}

/** The home directory from `--home`, else `DCMX_HOME`, else `~/.dcmx`. */
export function homeDir(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(flag || env.DCMX_HOME || join(homedir(), '.dcmx'))
}

export function homePaths(root: string): HomePaths {
  const metadata = join(root, 'metadata')
  return {
    root,
    content: join(root, 'content'),
    tmp: join(root, 'tmp'),
    partial: join(root, 'partial'),
    metadata,
    tracks: join(metadata, 'tracks.json'),
    covers: join(metadata, 'covers'),
    peers: join(metadata, 'peers.json'),
    config: join(metadata, 'config.yaml'),
    logs: join(root, 'logs'),
    identity: join(root, 'identity.key'),
    lock: join(root, 'dcmx.lock'),
    token: join(root, 'api.token'),
  }
}

/** Create the home's folders (private to this user). */
export async function ensureHome(paths: HomePaths): Promise<void> {
  for (const dir of [
    paths.root,
    paths.content,
    paths.tmp,
    paths.partial,
    paths.metadata,
    paths.covers,
    paths.logs,
  ])
    await mkdir(dir, { recursive: true, mode: 0o700 })
}
