/**
 * TURN credentials by the TURN REST convention (coturn's `use-auth-secret`): the server and coturn
 * share a secret; each signaling session gets `username = <expiry unix s>:<name>` and
 * `credential = base64(HMAC-SHA1(secret, username))`. coturn recomputes the credential from the
 * username and refuses it once the expiry has passed, so a leaked credential is worth little.
 */
import { createHmac } from 'node:crypto'
import type { IceServer } from '../src/core/signaling-protocol.ts'

/** What the operator configures (--turn-secret, --turn-urls, --turn-ttl). */
export type TurnOptions = {
  /** The shared secret, as in coturn's `static-auth-secret`. */
  secret: string
  /** URLs of scheme turn or turns; a plain TURN URL without `?transport=` is offered over UDP and over TCP. */
  urls: string[]
  /** How long a minted credential is valid. */
  ttlS?: number
}

/** One hour: short enough that a leaked credential soon expires, long enough to refresh rarely. */
export const DEFAULT_TURN_TTL_S = 3_600
/** Below a minute the refresh traffic and clock skew between hosts would dominate. */
export const MIN_TURN_TTL_S = 60
/** A day: the TURN REST draft's own example lifetime, and the longest we hand out. */
export const MAX_TURN_TTL_S = 86_400
/** Clients get fresh credentials after this fraction of the lifetime, long before they expire. */
export const REFRESH_FRACTION = 0.5
/** Link reports one session may add to /metrics: a budget's worth of links and their restarts. */
export const MAX_LINK_REPORTS = 256
/** The protocol allows 8 URLs per ICE server entry. */
const MAX_TURN_URLS = 8

const TURN_URL = /^turns?:[^\s?#]+(\?transport=(udp|tcp))?$/

/** Mint one credential pair valid until `expiryS` (Unix seconds). */
export function mintTurnCredential(secret: string, name: string, expiryS: number) {
  const username = `${Math.floor(expiryS)}:${name}`
  const credential = createHmac('sha1', secret).update(username).digest('base64')
  return { username, credential }
}

/** The URLs clients get: each transport-less plain TURN URL also as TCP, for networks that block UDP. */
export function expandTurnUrls(urls: string[]): string[] {
  const out: string[] = []
  for (const url of urls) {
    if (url.split(':')[0] === 'turn' && !url.includes('?'))
      out.push(`${url}?transport=udp`, `${url}?transport=tcp`)
    else out.push(url)
  }
  return [...new Set(out)]
}

/** Check options; returns a sentence naming what is wrong, or undefined. */
export function validateTurnOptions(auth: TurnOptions): string | undefined {
  if (auth.secret.length === 0) return 'the TURN secret is empty'
  if (auth.urls.length === 0) return 'a TURN secret needs at least one TURN URL'
  const bad = auth.urls.find((u) => !TURN_URL.test(u))
  if (bad !== undefined) return `${JSON.stringify(bad)} is not a TURN URL (scheme turn or turns)`
  if (expandTurnUrls(auth.urls).length > MAX_TURN_URLS) return `at most ${MAX_TURN_URLS} TURN URLs`
  const ttl = auth.ttlS ?? DEFAULT_TURN_TTL_S
  if (!Number.isInteger(ttl) || ttl < MIN_TURN_TTL_S || ttl > MAX_TURN_TTL_S) {
    return `the TURN credential lifetime must be a whole number of seconds from ${MIN_TURN_TTL_S} to ${MAX_TURN_TTL_S}`
  }
  return undefined
}

/** Hands out ICE server lists: the operator's static ones plus, with TURN configured, fresh credentials. */
export class IceProvider {
  readonly #urls: string[]
  readonly #ttlMs: number

  constructor(
    private readonly staticServers: IceServer[],
    private readonly auth: TurnOptions | undefined,
    private readonly now: () => number = Date.now,
  ) {
    const problem = auth && validateTurnOptions(auth)
    if (problem) throw new TypeError(`invalid TURN options: ${problem}`)
    this.#urls = auth ? expandTurnUrls(auth.urls) : []
    this.#ttlMs = (auth?.ttlS ?? DEFAULT_TURN_TTL_S) * 1000
  }

  /** True when lists expire and must be refreshed. */
  get expires(): boolean {
    return this.auth !== undefined
  }

  /** After how long a client should be sent a fresh list. */
  get refreshMs(): number {
    return this.#ttlMs * REFRESH_FRACTION
  }

  /** The list for one session, valid for the configured lifetime from now. */
  serversFor(name: string): IceServer[] {
    if (!this.auth) return this.staticServers
    const expiryS = (this.now() + this.#ttlMs) / 1000
    return [
      ...this.staticServers,
      { urls: this.#urls, ...mintTurnCredential(this.auth.secret, name, expiryS) },
    ]
  }
}

/** Parse the TURN flags (already picked from argv/env); undefined when no secret is given. */
export function parseTurnConfig(
  secret: string | undefined,
  urls: string | undefined,
  ttl: string | undefined,
): { ok: true; value: TurnOptions | undefined } | { ok: false; error: string } {
  if (secret === undefined) {
    return urls === undefined
      ? { ok: true, value: undefined }
      : { ok: false, error: '--turn-urls needs --turn-secret' }
  }
  const auth: TurnOptions = {
    secret,
    urls: (urls ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  }
  if (ttl !== undefined) auth.ttlS = /^\d+$/.test(ttl) ? Number(ttl) : Number.NaN
  const problem = validateTurnOptions(auth)
  return problem ? { ok: false, error: problem } : { ok: true, value: auth }
}
