/**
 * What a WebRTC link learnt while it tried to connect, and the sentence a user gets when it could
 * not: which candidates we gathered, what the ICE servers answered, and whether a relay was on
 * offer at all. Pure functions over plain data, so they are unit-tested in Node.
 */
import type { LinkRoute } from '../core/link.ts'
import { CANDIDATE_TYPES, type CandidateType, type IceServer } from '../core/signaling-protocol.ts'

/** What one link saw of ICE. */
export type IceFindings = {
  /** Our own candidates, by type. */
  gathered: Record<CandidateType, number>
  /** Candidates the remote side sent us, by type. */
  received: Record<CandidateType, number>
  /** `icecandidateerror` codes from STUN/TURN servers (401 = credentials refused, 701 = unreachable). */
  serverErrors: number[]
  /** ICE connected at least once. */
  everConnected: boolean
}

export const emptyFindings = (): IceFindings => ({
  gathered: { host: 0, srflx: 0, prflx: 0, relay: 0 },
  received: { host: 0, srflx: 0, prflx: 0, relay: 0 },
  serverErrors: [],
  everConnected: false,
})

/** The type of an SDP candidate line (`… typ relay …`), if it names a known one. */
export function candidateType(candidate: string): CandidateType | undefined {
  const type = / typ (\w+)/.exec(candidate)?.[1]
  return CANDIDATE_TYPES.find((t) => t === type)
}

/** Whether the ICE servers include a relay (a URL of scheme turn or turns). */
export function offersRelay(iceServers: IceServer[]): boolean {
  return iceServers.some((s) =>
    (Array.isArray(s.urls) ? s.urls : [s.urls]).some((u) => /^turns?$/.test(u.split(':')[0] ?? '')),
  )
}

/** A STUN error code a TURN server sends for a refused credential (RFC 5389 401, 431 integrity). */
const CREDENTIAL_ERRORS = new Set([401, 431, 441])

/** The sentence a user reads when a link could not form (or broke and could not be restored). */
export function diagnose(f: IceFindings, iceServers: IceServer[], relayOnly: boolean): string {
  const relay = offersRelay(iceServers)
  if (f.gathered.relay === 0 && f.serverErrors.some((c) => CREDENTIAL_ERRORS.has(c))) {
    return 'The relay server refused the credentials (they may have expired): reload the page for fresh ones; if that does not help, the server operator should check that the TURN secret matches coturn.'
  }
  if (relayOnly && !relay) {
    return 'Relay-only mode is on, but this server offers no relay: turn relay-only mode off to link directly, or use a server with TURN.'
  }
  if (!relay) {
    return f.everConnected
      ? 'Lost the direct connection to this peer, and the server offers no relay to fall back on; the network may have changed.'
      : 'Could not reach this peer directly, and the server offers no relay: one of you is behind a network that blocks direct links (a strict NAT or firewall). The server operator can add a TURN relay.'
  }
  if (f.gathered.relay === 0) {
    return 'Could not reach the relay server: this network may block it. Try another network, or ask the server operator to offer TURN over TCP or TLS on port 443.'
  }
  if (f.everConnected) {
    return 'Lost the connection to this peer and could not restore it, even through the relay; it may have left or lost its network.'
  }
  if (f.received.host + f.received.srflx + f.received.relay + f.received.prflx === 0) {
    return 'This peer sent no way to reach it; it may have left before the link formed.'
  }
  return 'Could not reach this peer, even through the relay; its network may block the relay.'
}

type StatsEntry = Record<string, unknown> & { id: string; type: string }

/** The selected candidate pair of a getStats() report, as a LinkRoute. */
export function routeFromStats(entries: Iterable<StatsEntry>): LinkRoute | undefined {
  const byId = new Map<string, StatsEntry>()
  for (const e of entries) byId.set(e.id, e)
  let pair: StatsEntry | undefined
  for (const e of byId.values()) {
    if (e.type !== 'transport' || typeof e['selectedCandidatePairId'] !== 'string') continue
    pair = byId.get(e['selectedCandidatePairId'])
  }
  pair ??= [...byId.values()].find(
    (e) => e.type === 'candidate-pair' && e['nominated'] === true && e['state'] === 'succeeded',
  )
  if (!pair) return undefined
  const local = byId.get(String(pair['localCandidateId']))
  const remote = byId.get(String(pair['remoteCandidateId']))
  const localType = CANDIDATE_TYPES.find((t) => t === local?.['candidateType'])
  const remoteType = CANDIDATE_TYPES.find((t) => t === remote?.['candidateType'])
  if (!localType || !remoteType) return undefined
  const route: LinkRoute = {
    local: localType,
    remote: remoteType,
    protocol: local?.['protocol'] === 'tcp' ? 'tcp' : 'udp',
  }
  const relayProtocol = local?.['relayProtocol']
  if (relayProtocol === 'udp' || relayProtocol === 'tcp' || relayProtocol === 'tls')
    route.relayProtocol = relayProtocol
  return route
}

/**
 * Whether an ICE restart should go relay-only (both sides decide alike, so the pair becomes
 * relay ↔ relay): from the second restart on, or at once when the path that broke had exactly one
 * relayed end — a relay ↔ reflexive path that breaks tends to break again the same way.
 */
export function restartRelayOnly(restart: number, lastRoute: LinkRoute | undefined): boolean {
  if (restart >= 2) return true
  if (!lastRoute) return false
  return (lastRoute.local === 'relay') !== (lastRoute.remote === 'relay')
}
