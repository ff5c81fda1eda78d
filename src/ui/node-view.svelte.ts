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
