/** Command-line flags and environment variables of `npm start`, parsed into server options. */
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as v from 'valibot'
import { err, ok, type Result } from '../src/core/result.ts'
import { IceServersSchema, type IceServer } from '../src/core/signaling-protocol.ts'
import { DEFAULT_HOST, DEFAULT_MAX_SOCKETS_PER_IP, DEFAULT_PORT, isRedisUrl } from './options.ts'
import { parseTlsConfig, type TlsConfig } from './tls-config.ts'
import { DEFAULT_TURN_TTL_S, parseTurnConfig, type TurnOptions } from './turn.ts'

/** Where `vite build` writes the app: `dist/` at the repository root. */
export const DEFAULT_STATIC_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'dist')

/** The settings `npm start` controls; the rest of SignalingOptions keep their defaults. */
export type Config = {
  port: number
  host: string
  staticDir: string
  iceServers: IceServer[]
  allowedOrigins?: string[]
  redis?: string
  /** Set only when given (--trust-proxy / DCMX_TRUST_PROXY). */
  trustProxy?: boolean
  /** Set only when given (--max-sockets-per-ip / DCMX_MAX_SOCKETS_PER_IP). */
  maxSocketsPerIp?: number
  turnAuth?: TurnOptions
  tls?: TlsConfig
}

/** What the process should do: run with a config, or print usage. */
export type ConfigOutcome = { kind: 'run'; config: Config } | { kind: 'help'; text: string }

/** Usage text printed by --help. */
export const USAGE = `Usage: tsx signaling/main.ts [options]

Serves the built DCMX app and its WebRTC signaling endpoint (ws://<host>:<port>/signal).

Options (flags override environment variables):
  --port <n>               PORT                  TCP port (default ${DEFAULT_PORT}; 0 = any free port)
  --host <addr>            HOST                  interface to bind (default ${DEFAULT_HOST})
  --static <dir>           DCMX_STATIC_DIR       built app to serve (default <repo>/dist)
  --ice-servers <json>     DCMX_ICE_SERVERS      JSON array of RTCIceServer sent to browsers
                                                 (default none; see the README for an example)
  --allowed-origins <list> DCMX_ALLOWED_ORIGINS  comma-separated Origins allowed to open the socket
                                                 (default: the app's own, the Host it is served as;
                                                 '*' allows any web page)
  --trust-proxy            DCMX_TRUST_PROXY      behind a TLS proxy: take the client address from
                                                 Forwarded / X-Forwarded-For (default off)
  --max-sockets-per-ip <n> DCMX_MAX_SOCKETS_PER_IP  sockets one address may hold (default ${DEFAULT_MAX_SOCKETS_PER_IP})
  --turn-secret <s>        DCMX_TURN_SECRET      coturn's static-auth-secret: mint per-session TURN
                                                 credentials (TURN REST API, use-auth-secret)
  --turn-urls <list>       DCMX_TURN_URLS        comma-separated TURN URLs of that coturn
  --turn-ttl <s>           DCMX_TURN_TTL         credential lifetime in seconds (default ${DEFAULT_TURN_TTL_S})
  --tls-cert <file>        DCMX_TLS_CERT         serve HTTPS/WSS with this PEM certificate chain…
  --tls-key <file>         DCMX_TLS_KEY          …and this PEM private key
  --tls-self-signed <list> DCMX_TLS_SELF_SIGNED  serve HTTPS with a fresh self-signed certificate for
                                                 these comma-separated names/addresses (LAN trials)
  --redis <url>            DCMX_REDIS_URL        share rooms with other servers through this Redis
                                                 (redis://[user:pass@]host:port[/db]; default: none,
                                                 rooms live in this process only)
  --help                                         print this text
`

const FLAGS = {
  '--port': 'PORT',
  '--host': 'HOST',
  '--static': 'DCMX_STATIC_DIR',
  '--ice-servers': 'DCMX_ICE_SERVERS',
  '--allowed-origins': 'DCMX_ALLOWED_ORIGINS',
  '--redis': 'DCMX_REDIS_URL',
  '--trust-proxy': 'DCMX_TRUST_PROXY',
  '--max-sockets-per-ip': 'DCMX_MAX_SOCKETS_PER_IP',
  '--turn-secret': 'DCMX_TURN_SECRET',
  '--turn-urls': 'DCMX_TURN_URLS',
  '--turn-ttl': 'DCMX_TURN_TTL',
  '--tls-cert': 'DCMX_TLS_CERT',
  '--tls-key': 'DCMX_TLS_KEY',
  '--tls-self-signed': 'DCMX_TLS_SELF_SIGNED',
} as const
/** Flags that take no value: present means on (`--flag=false` turns one off). */
const SWITCHES: ReadonlySet<Flag> = new Set(['--trust-proxy'])
type Flag = keyof typeof FLAGS

const isFlag = (s: string): s is Flag => Object.hasOwn(FLAGS, s)

function parsePort(text: string, source: string): Result<number, string> {
  const n = Number(text)
  if (!/^\d+$/.test(text.trim()) || !Number.isInteger(n) || n > 65_535) {
    return err(`${source}: expected a port number 0-65535, got ${JSON.stringify(text)}`)
  }
  return ok(n)
}

function parseIceServers(text: string, source: string): Result<IceServer[], string> {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return err(`${source}: not valid JSON (${e instanceof Error ? e.message : String(e)})`)
  }
  const parsed = v.safeParse(IceServersSchema, json)
  if (!parsed.success) {
    const issue = parsed.issues[0]
    const path = issue.path?.map((p) => String(p.key)).join('.')
    return err(
      `${source}: not a valid RTCIceServer array${path ? ` at ${path}` : ''}: ${issue.message} ` +
        `(expected [{"urls": "<url>" or ["<url>", …], "username"?: "…", "credential"?: "…"}])`,
    )
  }
  return ok(parsed.output)
}

/** Parse argv (without node and script) and env into a config; pure, never throws, never exits. */
export function parseConfig(
  argv: string[],
  env: Record<string, string | undefined>,
): Result<ConfigOutcome, string> {
  const given = new Map<Flag, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ''
    if (arg === '--help' || arg === '-h') return ok({ kind: 'help', text: USAGE })
    const eq = arg.indexOf('=')
    const name = eq > 0 ? arg.slice(0, eq) : arg
    if (!isFlag(name)) return err(`unknown argument ${JSON.stringify(arg)} (see --help)`)
    const value = eq > 0 ? arg.slice(eq + 1) : SWITCHES.has(name) ? 'true' : argv[++i]
    if (value === undefined) return err(`${name} needs a value (see --help)`)
    given.set(name, value)
  }
  // A flag wins over its environment variable; an empty environment variable counts as unset.
  const pick = (flag: Flag): { value: string; source: string } | undefined => {
    const fromFlag = given.get(flag)
    if (fromFlag !== undefined) return { value: fromFlag, source: flag }
    const fromEnv = env[FLAGS[flag]]
    return fromEnv ? { value: fromEnv, source: FLAGS[flag] } : undefined
  }

  const portIn = pick('--port')
  const port = portIn ? parsePort(portIn.value, portIn.source) : ok(DEFAULT_PORT)
  if (!port.ok) return port

  const iceIn = pick('--ice-servers')
  const iceServers = iceIn ? parseIceServers(iceIn.value, iceIn.source) : ok([])
  if (!iceServers.ok) return iceServers

  const turn = parseTurnConfig(
    pick('--turn-secret')?.value,
    pick('--turn-urls')?.value,
    pick('--turn-ttl')?.value,
  )
  if (!turn.ok) return err(turn.error)
  const tls = parseTlsConfig(
    pick('--tls-cert')?.value,
    pick('--tls-key')?.value,
    pick('--tls-self-signed')?.value,
  )
  if (!tls.ok) return tls

  const config: Config = {
    port: port.value,
    host: pick('--host')?.value ?? DEFAULT_HOST,
    staticDir: pick('--static')?.value ?? DEFAULT_STATIC_DIR,
    iceServers: iceServers.value,
    ...(turn.value ? { turnAuth: turn.value } : {}),
    ...(tls.value ? { tls: tls.value } : {}),
  }
  const redisIn = pick('--redis')
  if (redisIn) {
    if (!isRedisUrl(redisIn.value)) {
      return err(
        `${redisIn.source}: expected a redis:// or rediss:// URL, got ${JSON.stringify(redisIn.value)}`,
      )
    }
    config.redis = redisIn.value
  }
  const originsIn = pick('--allowed-origins')
  if (originsIn) {
    const origins = originsIn.value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
    if (origins.length === 0) return err(`${originsIn.source}: expected a comma-separated list of origins`)
    if (origins.includes('*') && origins.length > 1) {
      return err(`${originsIn.source}: '*' (any origin) cannot be combined with a list`)
    }
    // Browsers send Origin as scheme://host[:port] with no path; anything else would never match.
    const bad = origins.find((s) => s !== '*' && (!URL.canParse(s) || new URL(s).origin !== s))
    if (bad !== undefined) {
      return err(
        `${originsIn.source}: ${JSON.stringify(bad)} is not an origin (like https://dcmx.example.org)`,
      )
    }
    config.allowedOrigins = origins
  }
  const extras = parseHardening(pick)
  if (!extras.ok) return extras
  Object.assign(config, extras.value)
  return ok({ kind: 'run', config })
}

type PickFlag = (flag: Flag) => { value: string; source: string } | undefined

/** The per-client settings (issue 10): --trust-proxy and --max-sockets-per-ip, each set only when given. */
function parseHardening(pick: PickFlag): Result<Pick<Config, 'trustProxy' | 'maxSocketsPerIp'>, string> {
  const out: Pick<Config, 'trustProxy' | 'maxSocketsPerIp'> = {}
  const trust = pick('--trust-proxy')
  if (trust) {
    const value = trust.value.trim().toLowerCase()
    if (['1', 'true', 'yes', 'on'].includes(value)) out.trustProxy = true
    else if (['0', 'false', 'no', 'off'].includes(value)) out.trustProxy = false
    else return err(`${trust.source}: expected true or false, got ${JSON.stringify(trust.value)}`)
  }
  const perIp = pick('--max-sockets-per-ip')
  if (perIp) {
    const n = Number(perIp.value)
    if (!/^\d+$/.test(perIp.value.trim()) || !Number.isSafeInteger(n) || n < 1) {
      return err(
        `${perIp.source}: expected a whole number of sockets (1 or more), got ${JSON.stringify(perIp.value)}`,
      )
    }
    out.maxSocketsPerIp = n
  }
  return ok(out)
}
