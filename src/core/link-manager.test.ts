import { describe, expect, it } from 'vitest'
import { Emitter } from './emitter.ts'
import type { LinkOptions } from './link.ts'
import { CROSSED_DIAL, DEFAULT_LINK_MANAGER_CONFIG, LinkManager } from './link-manager.ts'
import type { PeerSession, SessionEvents, SessionState } from './peer-session.ts'
import { Reputation } from './reputation.ts'
import type { SignalingEvents } from './signaling-client.ts'
import type { PeerRef, SignalData } from './signaling-protocol.ts'
import { FakeClock } from './testing/fake-clock.ts'
import { MemoryLink } from './testing/memory-link.ts'

/** A link that only notes the signaling data handed to it. */
class NotingLink extends MemoryLink {
  readonly signals: SignalData[] = []
  constructor(readonly options: LinkOptions) {
    super()
  }
  override signal(data: SignalData): void {
    this.signals.push(data)
  }
}

/** The part of a session the link manager reads: its state, its events, close. */
function fakeSession(): PeerSession {
  const session = {
    state: 'connecting' as SessionState,
    provenId: undefined,
    remoteId: undefined,
    rttMs: undefined,
    events: new Emitter<SessionEvents>(),
    close(reason: string) {
      if (session.state === 'closed') return
      session.state = 'closed'
      session.events.emit('closed', reason, false)
    },
  }
  return session as unknown as PeerSession
}

function manager(self: string) {
  const clock = new FakeClock()
  const events = new Emitter<SignalingEvents>()
  const links: NotingLink[] = []
  const closed: string[] = []
  const lm = new LinkManager({
    self,
    clock,
    random: () => 0.5,
    signaling: {
      events,
      signal: () => {},
      lookup: () => {},
      requestSample: () => {},
      state: { state: 'online', session: 's0' },
      iceServers: [],
    },
    createLink: (options) => {
      const link = new NotingLink(options)
      links.push(link)
      return link
    },
    reputation: new Reputation(clock),
    session: () => fakeSession(),
    refill: () => ({ lookup: [], sample: false }),
    config: DEFAULT_LINK_MANAGER_CONFIG,
  })
  lm.events.on('closed', (_entry, reason) => closed.push(reason))
  lm.start()
  const from = (ref: PeerRef, data: SignalData) => events.emit('signal', ref, data)
  return { lm, links, closed, from }
}

const small = 'a'.repeat(32)
const large = 'b'.repeat(32)
const offer: SignalData = { type: 'offer', sdp: 'their offer' }
const answer: SignalData = { type: 'answer', sdp: 'their answer' }
const candidate = (c: string): SignalData => ({
  type: 'candidate',
  candidate: { candidate: c, sdpMLineIndex: 0, sdpMid: '0' },
})

describe('LinkManager: both ends dial each other at once', () => {
  it('keeps the dial of the smaller peer id, and leaves the crossing offer and its ICE unanswered', () => {
    const { lm, links, from } = manager(small)
    const them = { peerId: large, session: 's1' }
    lm.dial([them])
    expect(links).toHaveLength(1)
    from(them, offer)
    from(them, candidate('ice of their dropped offer'))
    // Their offer would have broken ours (an answer to each offer, neither side stable).
    expect(links[0]!.signals).toEqual([])
    expect(links).toHaveLength(1)
    // They answer our offer instead; what follows is ICE for our link.
    from(them, answer)
    from(them, candidate('ice for our link'))
    expect(links[0]!.signals).toEqual([answer, candidate('ice for our link')])
  })

  it('drops its own dial for the other side’s when its peer id is the larger', () => {
    const { lm, links, closed, from } = manager(large)
    const them = { peerId: small, session: 's1' }
    lm.dial([them])
    from(them, offer)
    from(them, candidate('ice for their link'))
    expect(closed).toEqual([CROSSED_DIAL])
    expect(links).toHaveLength(2)
    expect(links[0]!.signals).toEqual([])
    expect(links[1]!.options.initiator).toBe(false)
    expect(links[1]!.signals).toEqual([offer, candidate('ice for their link')])
    expect(lm.links).toHaveLength(1)
  })
})
