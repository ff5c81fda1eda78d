import type { LinkRoute } from '../core/link.ts'

/** "direct", "through NAT", "relayed (TCP)": how a route reads in the peer list. */
export function describeRoute(route: LinkRoute): string {
  if (route.local === 'relay' || route.remote === 'relay') {
    const via = route.local === 'relay' ? route.relayProtocol : undefined
    return via && via !== 'udp' ? `relayed (${via.toUpperCase()})` : 'relayed'
  }
  if (route.local === 'host' && route.remote === 'host') return 'direct (same network)'
  return 'direct (through NAT)'
}
