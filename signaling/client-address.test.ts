import { describe, expect, it } from 'vitest'
import { clientKey, clientOf, forwardedFor, proxiedAddress } from './client-address.ts'

const req = (headers: Record<string, string>, remoteAddress = '10.0.0.1') => ({
  headers,
  socket: { remoteAddress } as never,
})

describe('forwardedFor', () => {
  it.each([
    ['for=192.0.2.60;proto=http;by=203.0.113.43', '192.0.2.60'],
    ['for="[2001:db8:cafe::17]:4711"', '2001:db8:cafe::17'],
    ['for="192.0.2.1:4711"', '192.0.2.1'],
    ['for=198.51.100.1, for=192.0.2.43', '192.0.2.43'],
    ['proto=https', undefined],
    ['', undefined],
  ])('%s → %s', (header, expected) => {
    expect(forwardedFor(header)).toBe(expected)
  })
})

describe('proxiedAddress', () => {
  it('takes the last X-Forwarded-For entry (the one our proxy appended), Forwarded first', () => {
    expect(proxiedAddress(req({ 'x-forwarded-for': '1.1.1.1, 192.0.2.7' }))).toBe('192.0.2.7')
    expect(proxiedAddress(req({ forwarded: 'for=192.0.2.9', 'x-forwarded-for': '192.0.2.7' }))).toBe(
      '192.0.2.9',
    )
    expect(proxiedAddress(req({ 'x-forwarded-for': 'not-an-ip' }))).toBeUndefined()
    expect(proxiedAddress(req({}))).toBeUndefined()
  })
})

describe('clientKey', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:0db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
  ])('%s → %s', (address, key) => {
    expect(clientKey(address)).toBe(key)
  })
})

describe('clientOf', () => {
  it('ignores forwarding headers unless the proxy is trusted, and falls back to the peer', () => {
    const spoofed = req({ 'x-forwarded-for': '192.0.2.99' })
    expect(clientOf(spoofed, false)).toBe('10.0.0.1')
    expect(clientOf(spoofed, true)).toBe('192.0.2.99')
    expect(clientOf(req({ 'x-forwarded-for': 'garbage' }), true)).toBe('10.0.0.1')
  })
})
