import { readFile } from 'node:fs/promises'
import { parse } from 'yaml'
import { DcmxError } from '../core/errors.ts'
import { isRoom } from '../core/signaling-protocol.ts'

/** The settings `start` and `get` use, from flags, then env, then metadata/config.yaml, then these. */
export type NodeSettings = { server: string; room: string; links: number; api: number }

export const DEFAULT_SETTINGS: NodeSettings = {
  server: 'http://127.0.0.1:8080',
  room: 'lobby',
  links: 8,
  api: 8090,
}
/** An always-on seeder may hold more links than a tab (whose ceiling is 32); each costs a peer connection. */
const MAX_LINKS = 64

const ENV: Record<keyof NodeSettings, string> = {
  server: 'DCMX_SERVER',
  room: 'DCMX_ROOM',
  links: 'DCMX_LINKS',
  api: 'DCMX_API',
}

type Raw = Partial<Record<keyof NodeSettings, unknown>>

/** metadata/config.yaml as written by a person: only known keys, each checked. */
async function readConfigFile(path: string): Promise<Raw> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch {
    return {}
  }
  let parsed: unknown
  try {
    parsed = parse(text)
  } catch (error) {
    throw new DcmxError(
      'BAD_MESSAGE',
      `${path} is not valid YAML: ${(error as Error).message.split('\n')[0]}`,
    )
  }
  if (parsed === null || parsed === undefined) return {}
  if (typeof parsed !== 'object' || Array.isArray(parsed))
    throw new DcmxError('BAD_MESSAGE', `${path} must be a mapping of settings (server, room, links, api).`)
  const raw = parsed as Record<string, unknown>
  const unknown = Object.keys(raw).filter((k) => !(k in DEFAULT_SETTINGS))
  if (unknown.length > 0)
    throw new DcmxError(
      'BAD_MESSAGE',
      `${path} has unknown settings: ${unknown.join(', ')} (known: server, room, links, api).`,
    )
  return raw
}

function check(key: keyof NodeSettings, value: unknown, from: string): NodeSettings[keyof NodeSettings] {
  const bad = (what: string) => new DcmxError('BAD_MESSAGE', `${key} from ${from} ${what}.`)
  switch (key) {
    case 'server': {
      let url: URL
      try {
        url = new URL(String(value))
      } catch {
        throw bad('is not a URL (e.g. https://dcmx.example.org)')
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        throw bad('must be an http:// or https:// URL')
      return url.href
    }
    case 'room':
      if (typeof value !== 'string' || !isRoom(value)) throw bad('must be letters, digits, . _ - (up to 64)')
      return value
    case 'links': {
      const n = Number(value)
      if (!Number.isInteger(n) || n < 1 || n > MAX_LINKS)
        throw bad(`must be a whole number from 1 to ${MAX_LINKS}`)
      return n
    }
    case 'api': {
      const n = Number(value)
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw bad('must be a port number (0 picks a free one)')
      return n
    }
  }
}

/** Bounds on DCMX_GOSSIP_MS, as on a tab's `?gossip=`: fast enough for a demo or test, never a busy loop. */
const MIN_GOSSIP_MS = 200
const MAX_GOSSIP_MS = 60_000

/** DCMX_GOSSIP_MS (ms between gossip rounds) for demos and tests; undefined keeps the core's default. */
export function gossipMs(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.DCMX_GOSSIP_MS
  if (!raw) return undefined
  const n = Number(raw)
  if (!Number.isInteger(n) || n < MIN_GOSSIP_MS || n > MAX_GOSSIP_MS)
    throw new DcmxError(
      'BAD_MESSAGE',
      `DCMX_GOSSIP_MS must be a whole number of ms from ${MIN_GOSSIP_MS} to ${MAX_GOSSIP_MS}.`,
    )
  return n
}

/** Resolve the settings; a bad value anywhere is an error that names its source. */
export async function resolveSettings(
  configPath: string,
  flags: Raw,
  env: NodeJS.ProcessEnv = process.env,
): Promise<NodeSettings> {
  const file = await readConfigFile(configPath)
  const out = { ...DEFAULT_SETTINGS } as Record<keyof NodeSettings, unknown>
  for (const key of Object.keys(DEFAULT_SETTINGS) as (keyof NodeSettings)[]) {
    const sources: [unknown, string][] = [
      [flags[key], `--${key}`],
      [env[ENV[key]], ENV[key]],
      [file[key], configPath],
    ]
    const found = sources.find(([value]) => value !== undefined && value !== '')
    if (found) out[key] = check(key, found[0], found[1])
  }
  return out as NodeSettings
}
