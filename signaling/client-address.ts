/**
 * Who a request comes from, for per-client limits: the TCP peer, or (only when the operator says the
 * server sits behind a proxy) the address that proxy reports. Addresses are folded into the unit one
 * client controls: an IPv4 address, or the /64 of an IPv6 one (a single host usually holds a whole /64).
 */
import type { IncomingMessage } from 'node:http'
import { isIP } from 'node:net'

/** The last (nearest) entry of a comma-separated header: the one our own proxy appended. */
const lastEntry = (value: string | string[] | undefined): string | undefined => {
  const joined = Array.isArray(value) ? value.join(',') : value
  const last = joined?.split(',').pop()?.trim()
  return last ? last : undefined
}

/** The `for=` node of the last element of a Forwarded header (RFC 7239), without quotes or port. */
export function forwardedFor(header: string | string[] | undefined): string | undefined {
  const element = lastEntry(header)
  const pair = element
    ?.split(';')
    .map((p) => p.trim())
    .find((p) => p.toLowerCase().startsWith('for='))
  if (!pair) return undefined
  let node = pair.slice(4).trim()
  if (node.startsWith('"') && node.endsWith('"')) node = node.slice(1, -1)
  // "[2001:db8::1]:4711" or "192.0.2.1:4711"
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(node)
  if (bracketed) return bracketed[1]
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3})(?::\d+)?$/.exec(node)
  return v4 ? v4[1] : node
}

/** The client's address as the proxy saw it (Forwarded first, then X-Forwarded-For); undefined if absent or not an IP. */
export function proxiedAddress(req: Pick<IncomingMessage, 'headers'>): string | undefined {
  const fromForwarded = forwardedFor(req.headers.forwarded)
  const candidate = fromForwarded ?? lastEntry(req.headers['x-forwarded-for'])
  return candidate && isIP(candidate) ? candidate : undefined
}

/** Fold an address into the unit one client controls: IPv4 as is, IPv6 by its /64. */
export function clientKey(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)
  if (mapped) return mapped[1]!
  if (isIP(address) !== 6) return address
  const [head = '', tail = ''] = address.toLowerCase().split('::')
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const groups = address.includes('::')
    ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : left
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`
}

/** The key per-client limits count `req` under. */
export function clientOf(req: Pick<IncomingMessage, 'headers' | 'socket'>, trustProxy: boolean): string {
  const direct = req.socket.remoteAddress ?? 'unknown'
  return clientKey((trustProxy ? proxiedAddress(req) : undefined) ?? direct)
}
