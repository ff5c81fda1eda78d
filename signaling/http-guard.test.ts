import { describe, expect, it } from 'vitest'
import { checkRequest, MAX_URL_LENGTH } from './http-guard.ts'
import { KeyedBuckets } from './rate-limit.ts'

describe('checkRequest', () => {
  it.each([
    ['GET', '/', { ok: true, pathname: '/' }],
    ['HEAD', '/assets/a%20b.js?v=1', { ok: true, pathname: '/assets/a b.js' }],
    ['POST', '/', { ok: false, status: 405 }],
    ['GET', `/${'a'.repeat(MAX_URL_LENGTH)}`, { ok: false, status: 414 }],
    ['GET', 'http://evil.example/', { ok: false, status: 400 }],
    ['GET', '*', { ok: false, status: 400 }],
    ['GET', '//evil.example/x', { ok: false, status: 400 }],
    ['GET', '/%E0%A4%A', { ok: false, status: 400 }],
    ['GET', '/a%00b', { ok: false, status: 400 }],
    ['GET', '/a/%2e%2e/b', { ok: false, status: 400 }],
    ['GET', '/a/..%2fb', { ok: false, status: 400 }],
    ['GET', '/a\\b', { ok: false, status: 400 }],
  ])('%s %s', (method, url, expected) => {
    expect(checkRequest(method, url)).toMatchObject(expected)
  })
})

describe('KeyedBuckets', () => {
  it('budgets each key on its own and forgets the oldest past maxKeys', () => {
    const buckets = new KeyedBuckets({ perSecond: 1, burst: 2 }, 2)
    expect([1, 2, 3].map(() => buckets.take('a', 0))).toEqual([true, true, false])
    expect(buckets.take('b', 0)).toBe(true)
    expect(buckets.take('c', 0)).toBe(true) // 'a' is forgotten
    expect(buckets.take('a', 0)).toBe(true)
  })
})
