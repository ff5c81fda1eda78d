import type { DcmxNode, LogEntry, PeerView } from '../core/node.ts'
import type { SignalingState } from '../core/signaling-client.ts'

/** How often relative times ("retrying in 3 s", "seen 2 s ago") are refreshed. */
const TICK_MS = 1000

/** The node's state as the view needs it, kept current from the node's events. */
export class NodeView {
  peerId: string
  signaling = $state.raw<SignalingState>({ state: 'stopped' })
  peers = $state.raw<PeerView[]>([])
  log = $state.raw<LogEntry[]>([])
  warnings = $state.raw<string[]>([])
  now = $state(Date.now())

  connectedCount = $derived(this.peers.filter((p) => p.state === 'connected').length)
  /** What the browser says about the network; `false` is certain, `true` only means "maybe". */
  browserOnline = $state(typeof navigator === 'undefined' || navigator.onLine)
  /**
   * Nothing on the network is reachable: no network at all, or the signaling server failed and no
   * peer is linked. The library and its cached tracks still work; the node keeps retrying.
   */
  offline = $derived(!this.browserOnline || (unreachable(this.signaling) && this.connectedCount === 0))

  constructor(node: DcmxNode, warnings: string[] = []) {
    this.peerId = node.peerId
    this.warnings = warnings
    const refresh = () => {
      this.signaling = node.signaling
      this.peers = node.peers
    }
    refresh()
    node.events.on('change', refresh)
    this.log = [...node.log]
    node.events.on('log', () => (this.log = [...node.log]))
    setInterval(() => (this.now = Date.now()), TICK_MS)
    if (typeof window !== 'undefined') {
      const onNetwork = () => (this.browserOnline = navigator.onLine)
      addEventListener('online', onNetwork)
      addEventListener('offline', onNetwork)
    }
  }
}

/** "online", "connecting…", "reconnecting in 4 s" — the signaling state as a sentence fragment. */
export function describeSignaling(state: SignalingState, now: number): string {
  switch (state.state) {
    case 'online':
      return 'online'
    case 'connecting':
      return state.attempt === 0 ? 'connecting…' : `connecting… (attempt ${state.attempt + 1})`
    case 'reconnecting': {
      const seconds = Math.max(0, Math.ceil((state.retryAt - now) / 1000))
      return seconds > 0 ? `reconnecting in ${seconds} s` : 'reconnecting…'
    }
    case 'stopped':
      return 'stopped'
  }
}

/** The signaling server has failed at least once and is not back yet (a first attempt is not a failure). */
export function unreachable(state: SignalingState): boolean {
  return state.state === 'reconnecting' || (state.state === 'connecting' && state.attempt > 0)
}
