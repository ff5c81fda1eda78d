import { describe, expect, it } from 'vitest'
import {
  candidateType,
  diagnose,
  emptyFindings,
  offersRelay,
  restartRelayOnly,
  routeFromStats,
} from './ice-doctor.ts'

// Built from parts: tests carry no literal ICE URLs.
const STUN = { urls: `${'stun'}:${'h.invalid'}:3478` }
const TURN = { urls: [`${'turn'}:${'h.invalid'}:3478?transport=udp`], username: 'u', credential: 'c' }

describe('diagnose', () => {
  const findings = (patch: Partial<ReturnType<typeof emptyFindings>> = {}) => ({
    ...emptyFindings(),
    ...patch,
  })
  const gathered = (relay: number) => ({ host: 1, srflx: 1, prflx: 0, relay })
  const received = { host: 1, srflx: 1, prflx: 0, relay: 0 }

  it.each([
    [
      'no relay on offer',
      findings({ gathered: gathered(0), received }),
      [STUN],
      false,
      'Could not reach this peer directly, and the server offers no relay',
    ],
    [
      'the relay refused the credentials',
      findings({ gathered: gathered(0), serverErrors: [401] }),
      [STUN, TURN],
      false,
      'The relay server refused the credentials',
    ],
    [
      'relay-only without a relay',
      findings(),
      [STUN],
      true,
      'Relay-only mode is on, but this server offers no relay',
    ],
    [
      'the relay unreachable',
      findings({ gathered: gathered(0), serverErrors: [701] }),
      [STUN, TURN],
      false,
      'Could not reach the relay server',
    ],
    [
      'even the relay failed',
      findings({ gathered: gathered(1), received }),
      [STUN, TURN],
      false,
      'Could not reach this peer, even through the relay',
    ],
    [
      'the peer sent nothing',
      findings({ gathered: gathered(1) }),
      [STUN, TURN],
      false,
      'This peer sent no way to reach it',
    ],
    [
      'lost after connecting',
      findings({ gathered: gathered(1), received, everConnected: true }),
      [TURN],
      false,
      'Lost the connection to this peer and could not restore it',
    ],
  ])('%s', (_, f, servers, relayOnly, sentence) => {
    expect(diagnose(f, servers, relayOnly)).toContain(sentence)
  })
})

describe('candidates and servers', () => {
  it('reads the candidate type of an SDP candidate line', () => {
    expect(candidateType('candidate:1 1 udp 2122260223 192.168.1.2 5000 typ host generation 0')).toBe('host')
    expect(
      candidateType('candidate:2 1 udp 41885439 198.51.100.1 50000 typ relay raddr 0.0.0.0 rport 0'),
    ).toBe('relay')
    expect(candidateType('candidate:3 1 udp 1 1.2.3.4 5 typ bogus')).toBeUndefined()
  })

  it('tells whether the ICE servers include a relay', () => {
    expect(offersRelay([STUN])).toBe(false)
    expect(offersRelay([STUN, TURN])).toBe(true)
    expect(offersRelay([{ urls: `${'turns'}:h.invalid:5349?transport=tcp` }])).toBe(true)
  })
})

describe('routeFromStats', () => {
  const stats = [
    { id: 'T', type: 'transport', selectedCandidatePairId: 'P2' },
    { id: 'P1', type: 'candidate-pair', localCandidateId: 'L1', remoteCandidateId: 'R1', nominated: false },
    {
      id: 'P2',
      type: 'candidate-pair',
      localCandidateId: 'L2',
      remoteCandidateId: 'R1',
      nominated: true,
      state: 'succeeded',
    },
    { id: 'L1', type: 'local-candidate', candidateType: 'host', protocol: 'udp' },
    { id: 'L2', type: 'local-candidate', candidateType: 'relay', protocol: 'udp', relayProtocol: 'tcp' },
    { id: 'R1', type: 'remote-candidate', candidateType: 'srflx', protocol: 'udp' },
  ]

  it('describes the selected pair, with how a relayed end reaches its relay', () => {
    expect(routeFromStats(stats)).toEqual({
      local: 'relay',
      remote: 'srflx',
      protocol: 'udp',
      relayProtocol: 'tcp',
    })
  })

  it('is undefined before a pair is selected', () => {
    expect(routeFromStats(stats.filter((s) => s.type !== 'transport' && s.id !== 'P2'))).toBeUndefined()
  })
})

describe('restartRelayOnly', () => {
  it('goes relay-only at once when a half-relayed path broke, otherwise from the second restart', () => {
    const half = { local: 'relay', remote: 'srflx', protocol: 'udp' } as const
    const direct = { local: 'srflx', remote: 'srflx', protocol: 'udp' } as const
    const relayed = { local: 'relay', remote: 'relay', protocol: 'udp' } as const
    expect(restartRelayOnly(1, half)).toBe(true)
    expect(restartRelayOnly(1, { ...half, local: 'prflx', remote: 'relay' })).toBe(true)
    expect(restartRelayOnly(1, direct)).toBe(false)
    expect(restartRelayOnly(1, relayed)).toBe(false)
    expect(restartRelayOnly(1, undefined)).toBe(false)
    expect(restartRelayOnly(2, direct)).toBe(true)
  })
})
