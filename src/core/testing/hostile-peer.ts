import type { Clock } from '../clock.ts'
import type { Identity } from '../identity.ts'
import { DEFAULT_SESSION_CONFIG, PeerSession, type SessionConfig } from '../peer-session.ts'
import type { LinkFactory } from '../link.ts'
import type { SignalingClient } from '../signaling-client.ts'
import type { PeerRef } from '../signaling-protocol.ts'
import { encodeWire, type Wire } from '../wire.ts'
import { nodeCrypto } from './crypto.ts'
import { waitFor } from './fake-clock.ts'
import type { MemoryLink } from './memory-link.ts'
import { testSignaling } from './ws-socket.ts'

/**
 * A scriptable hostile peer that speaks the real protocol over the real session: it completes the
 * identity handshake honestly (a real PeerSession with its own key), then misbehaves on command —
 * sends what no encoder would, floods, stops reading, reflects a victim's own record back at it.
 * `relay` is the man in the middle: it terminates two links and forwards every frame between them.
 */
export class HostilePeer {
  readonly session: PeerSession

  constructor(
    readonly link: MemoryLink,
    readonly identity: Identity,
    clock: Clock,
    options: { expectedPeerId?: string; config?: Partial<SessionConfig> } = {},
  ) {
    this.session = new PeerSession(link, {
      identity,
      crypto: nodeCrypto,
      clock,
      random: () => 0.5,
      // Its own session never closes on the victim: the hostile peer decides when to leave.
      config: { ...DEFAULT_SESSION_CONFIG, maxStrikes: Infinity, ...options.config },
      ...(options.expectedPeerId ? { expectedPeerId: options.expectedPeerId } : {}),
    })
    // It answers nothing the victim asks (its own handlers are silent).
    this.session.onMessage = async () => {}
  }

  get connected(): boolean {
    return this.session.state === 'connected'
  }

  /** Any bytes, as one frame, past every encoder. */
  sendRaw(frame: Uint8Array): Promise<void> {
    return this.link.send(frame)
  }

  /** A well-formed message, sent whether or not the protocol allows it now. */
  send(msg: Wire): Promise<void> {
    return this.link.send(encodeWire(msg))
  }

  /** `count` copies of a message, as fast as the link takes them. */
  async flood(msg: Wire, count: number): Promise<void> {
    const frame = encodeWire(msg)
    for (let i = 0; i < count; i++) await this.link.send(frame)
  }

  /** Stop reading: whatever the victim sends piles up on its side of the link. */
  stallReads(): void {
    this.link.stall()
  }
}

/**
 * A man in the middle between two links it terminates (`toA` faces A, `toB` faces B): every frame
 * from one side is forwarded unchanged to the other. It holds no key of either side, but if the
 * proof were not bound to the links it travels on, both sides would verify each other through it.
 */
export function relay(toA: MemoryLink, toB: MemoryLink): { frames: number } {
  const stats = { frames: 0 }
  const forward = (to: MemoryLink) => (frame: Uint8Array) => {
    stats.frames++
    if (to.open) to.send(frame).catch(() => {})
  }
  // Closes are not passed on: each side is left to judge the proof it was shown.
  toA.events.on('message', forward(toB))
  toB.events.on('message', forward(toA))
  return stats
}

/**
 * A hostile member of a signaling room: it joins under any id it likes (the server takes the id a
 * client gives it; only a link's identity proof can tell), finds its victim's session, and opens
 * links to it that it completes (wrap one in a HostilePeer), completes as someone else, or leaves
 * unanswered (a dead offer).
 */
export async function hostileMember(
  url: string,
  room: string,
  claim: string,
  factory: (name: string) => LinkFactory,
): Promise<{
  signaling: SignalingClient
  find(peerId: string): Promise<PeerRef>
  dial(to: PeerRef): MemoryLink
}> {
  const signaling = testSignaling(url, room, claim)
  const refs: PeerRef[] = []
  signaling.events.on('peers', (peers) => refs.push(...peers))
  signaling.start()
  await waitFor(() => signaling.state.state === 'online')
  return {
    signaling,
    async find(peerId) {
      await waitFor(() => {
        if (!refs.some((r) => r.peerId === peerId)) signaling.requestSample()
        return refs.some((r) => r.peerId === peerId)
      })
      return refs.find((r) => r.peerId === peerId)!
    },
    dial: (to) =>
      factory(claim)({
        initiator: true,
        iceServers: [],
        onSignal: (data) => signaling.signal(to.session, data),
      }) as MemoryLink,
  }
}
