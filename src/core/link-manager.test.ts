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

/** A signaling client that is online and says nothing but what `events` carries. */
const onlineSignaling = (
  events: Emitter<SignalingEvents>,
  requestSample = () => {},
  signal: (to: string, data: SignalData) => void = () => {},
) => ({
  events,
  signal,
  lookup: () => {},
  requestSample,
  state: { state: 'online' as const, session: 's0' },
  iceServers: [],
})

/** A manager whose sessions (keyed by the remote's signaling session) verify on demand. */
function manager(self: string) {
  const clock = new FakeClock()
  const events = new Emitter<SignalingEvents>()
  const sessions = new Map<string, PeerSession>()
  const links: NotingLink[] = []
  const closed: [session: string, reason: string][] = []
  const sent: [to: string, data: SignalData][] = []
  const lm = new LinkManager({
    self,
    clock,
    random: () => 0.5,
    signaling: onlineSignaling(events, undefined, (to, data) => sent.push([to, data])),
    createLink: (options) => {
      const link = new NotingLink(options)
      links.push(link)
      return link
    },
    reputation: new Reputation(clock),
    session: (_link, ref) => {
      const session = fakeSession()
      sessions.set(ref.session, session)
      return session
    },
    refill: () => ({ lookup: [], sample: false }),
    config: DEFAULT_LINK_MANAGER_CONFIG,
  })
  lm.events.on('closed', (entry, reason) => closed.push([entry.session, reason]))
  lm.start()
  const verify = (ref: PeerRef) => {
    const session = sessions.get(ref.session)! as {
      state: SessionState
      provenId?: string
      remoteId?: string
    }
    Object.assign(session, { state: 'connected', provenId: ref.peerId, remoteId: ref.peerId })
    ;(session as unknown as PeerSession).events.emit('state', 'connected')
  }
  const from = (ref: PeerRef, data: SignalData) => events.emit('signal', ref, data)
  return { lm, links, closed, sent, verify, from }
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
    expect(closed.map(([, reason]) => reason)).toEqual([CROSSED_DIAL])
    expect(links).toHaveLength(2)
    expect(links[0]!.signals).toEqual([])
    expect(links[1]!.options.initiator).toBe(false)
    expect(links[1]!.signals).toEqual([offer, candidate('ice for their link')])
    expect(lm.links).toHaveLength(1)
  })

  it('relays nothing more from the dropped dial: its late ICE would reach the link that answers theirs', () => {
    const { lm, links, sent, from } = manager(large)
    const them = { peerId: small, session: 's1' }
    lm.dial([them])
    links[0]!.options.onSignal(offer)
    from(them, offer)
    // The dropped connection still gathers for a moment after it is told to close.
    links[0]!.options.onSignal(candidate('late ice of our dropped dial'))
    links[1]!.options.onSignal(answer)
    expect(sent).toEqual([
      ['s1', offer],
      ['s1', answer],
    ])
  })

  it('relays nothing from a link once it closed', () => {
    const { lm, links, sent } = manager(small)
    lm.dial([{ peerId: large, session: 's1' }])
    lm.links[0]!.peer.close('identity handshake timed out')
    links[0]!.options.onSignal(candidate('late ice'))
    expect(sent).toEqual([])
  })
})

/** A manager whose sessions verify on demand, counting its sample requests. */
function verifyingManager(self: string, heardOf: ReadonlySet<string>) {
  const clock = new FakeClock()
  const events = new Emitter<SignalingEvents>()
  const sessions = new Map<string, PeerSession>()
  let samples = 0
  const lm = new LinkManager({
    self,
    clock,
    random: () => 0.5,
    signaling: onlineSignaling(events, () => void samples++),
    createLink: (options) => new NotingLink(options),
    reputation: new Reputation(clock),
    session: (_link, ref) => {
      const session = fakeSession()
      sessions.set(ref.peerId, session)
      return session
    },
    refill: () => ({ lookup: [], sample: true }),
    heardOf: (peerId) => heardOf.has(peerId),
    config: { ...DEFAULT_LINK_MANAGER_CONFIG, linkBudget: 2, inboundSlack: 1 },
  })
  lm.start()
  const verify = (peerId: string) => {
    const session = sessions.get(peerId)! as { state: SessionState; provenId?: string; remoteId?: string }
    Object.assign(session, { state: 'connected', provenId: peerId, remoteId: peerId })
    ;(session as unknown as PeerSession).events.emit('state', 'connected')
  }
  const sample = (...peerIds: string[]) =>
    events.emit(
      'peers',
      peerIds.map((peerId, i) => ({ peerId, session: `s-${peerId.slice(0, 4)}-${i}` })),
    )
  return { lm, clock, verify, sample, samples: () => samples }
}

const id = (c: string) => c.repeat(32)

describe('LinkManager: a room split in two joins up', () => {
  it('at its budget, a node still dials one peer of a fresh sample that no gossip told it of', async () => {
    // Its two links are to peers of its own half; gossip told it of the third, linked elsewhere in that half.
    const { lm, clock, verify, sample, samples } = verifyingManager(
      id('a'),
      new Set([id('b'), id('c'), id('d')]),
    )
    sample(id('b'), id('c'))
    verify(id('b'))
    verify(id('c'))
    expect(lm.verified).toHaveLength(2)
    const before = samples()
    await clock.advance(DEFAULT_LINK_MANAGER_CONFIG.refillMs * 20)
    // A full node asks for a sample now and then, to find a half that gossip never reached.
    expect(samples()).toBeGreaterThan(before)
    // The sample names a known peer of its own half and two of the other half: it dials one.
    sample(id('d'), id('e'), id('f'))
    const dialled = lm.links.filter((e) => e.direction === 'outbound').map((e) => e.expectedPeerId)
    expect(dialled).toEqual([id('b'), id('c'), id('e')])
  })

  it('dials nobody beyond its budget when every sampled peer is one gossip told it of', async () => {
    const { lm, clock, verify, sample } = verifyingManager(
      id('a'),
      new Set([id('b'), id('c'), id('d'), id('e')]),
    )
    sample(id('b'), id('c'))
    verify(id('b'))
    verify(id('c'))
    await clock.advance(DEFAULT_LINK_MANAGER_CONFIG.refillMs * 20)
    sample(id('d'), id('e'))
    expect(lm.links.map((e) => e.expectedPeerId)).toEqual([id('b'), id('c')])
  })

  it('dials no stranger beyond its budget and slack, nor more than one per sample it asked for', async () => {
    const { lm, clock, verify, sample } = verifyingManager(id('a'), new Set([id('b'), id('c')]))
    sample(id('b'), id('c'))
    verify(id('b'))
    verify(id('c'))
    // Samples it did not ask for (a refill of another kind, a re-join) dial nobody beyond the budget.
    sample(id('e'), id('f'))
    expect(lm.links).toHaveLength(2)
    await clock.advance(DEFAULT_LINK_MANAGER_CONFIG.refillMs * 20)
    sample(id('e'), id('f'))
    expect(lm.links).toHaveLength(3)
    verify(id('e'))
    // Now at budget + slack (3): no probe dials, however long it waits.
    await clock.advance(DEFAULT_LINK_MANAGER_CONFIG.refillMs * 40)
    sample(id('f'))
    expect(lm.links).toHaveLength(3)
  })
})

describe('LinkManager: a peer comes back under a new session (a reload) before its old link is seen to close', () => {
  it.each([
    ['smaller', 'outbound'],
    ['smaller', 'inbound'],
    ['larger', 'outbound'],
    ['larger', 'inbound'],
  ] as const)(
    'with its own id the %s and the old link %s, it answers the new offer and keeps the new link once proven',
    (size, oldDirection) => {
      const { lm, links, closed, verify, from } = manager(size === 'smaller' ? small : large)
      const peerId = size === 'smaller' ? large : small
      const before = { peerId, session: 's1' }
      if (oldDirection === 'outbound') {
        lm.dial([before])
        from(before, answer)
      } else from(before, offer)
      verify(before)
      expect(lm.verified.map((e) => e.session)).toEqual(['s1'])

      // The reloaded page dials from its new session; the old link has not noticed the page went.
      const after = { peerId, session: 's2' }
      from(after, offer)
      expect(links).toHaveLength(2)
      expect(links[1]!.options.initiator).toBe(false)
      expect(links[1]!.signals).toEqual([offer])
      // Unproven, it displaces nothing.
      expect(lm.verified.map((e) => e.session)).toEqual(['s1'])

      verify(after)
      expect(closed).toEqual([['s1', 'peer re-joined']])
      expect(lm.verified.map((e) => e.session)).toEqual(['s2'])
      expect(lm.connected(peerId)?.session).toBe('s2')
    },
  )

  it('a new session whose proof fails leaves the old link alone', () => {
    const { lm, closed, from, verify } = manager(small)
    const before = { peerId: large, session: 's1' }
    from(before, offer)
    verify(before)
    from({ peerId: large, session: 's2' }, offer)
    lm.links.find((e) => e.session === 's2')!.peer.close('identity handshake timed out')
    expect(closed).toEqual([['s2', 'identity handshake timed out']])
    expect(lm.verified.map((e) => e.session)).toEqual(['s1'])
  })
})
