import { describe, expect, it } from 'vitest'
import {
  decodeContentReply,
  decodeContentRequest,
  decodeShellReply,
  describeRequest,
  FILL_SHELL,
  isWorkerControl,
  MAX_READ_BYTES,
  openRequest,
  shellFailed,
} from './protocol.ts'

describe('isWorkerControl', () => {
  it('accepts the update banner’s SKIP_WAITING, the page’s FILL_SHELL and nothing else', () => {
    expect(isWorkerControl({ type: 'SKIP_WAITING' })).toBe(true)
    expect(isWorkerControl(FILL_SHELL)).toBe(true)
    for (const other of [
      { type: 'SKIP_WAITING', extra: 1 },
      { type: 'FILL_SHELL', urls: ['/evil'] },
      { type: 'fill_shell' },
      { type: 'skip_waiting' },
      { type: 'CLAIM' },
      describeRequest('ab'.repeat(32)),
      'SKIP_WAITING',
      null,
      undefined,
    ]) {
      expect(isWorkerControl(other)).toBe(false)
    }
  })
})

describe('the shell reply', () => {
  it('decodes filled and failed, and nothing else', () => {
    expect(decodeShellReply({ type: 'shell-filled' })).toEqual({ type: 'shell-filled' })
    expect(decodeShellReply(shellFailed('offline'))).toEqual({ type: 'shell-failed', message: 'offline' })
    for (const other of [
      { type: 'shell-filled', extra: true },
      { type: 'shell-failed' },
      { type: 'shell-failed', message: 'x'.repeat(501) },
      { type: 'described', size: 1, mime: 'audio/wav' },
      'shell-filled',
      null,
    ]) {
      expect(decodeShellReply(other)).toBeUndefined()
    }
  })

  it('cuts a long failure to what the page accepts', () => {
    expect(decodeShellReply(shellFailed('y'.repeat(2000)))).toEqual({
      type: 'shell-failed',
      message: 'y'.repeat(500),
    })
  })
})

describe('the open request and its reply', () => {
  const hash = 'ab'.repeat(32)

  it('decodes an open of up to MAX_READ_BYTES, and nothing empty, reversed or larger', () => {
    expect(decodeContentRequest(openRequest(hash, 0, MAX_READ_BYTES)).ok).toBe(true)
    for (const [start, end] of [
      [10, 10],
      [10, 5],
      [0, MAX_READ_BYTES + 1],
      [-1, 10],
    ] as const)
      expect(decodeContentRequest(openRequest(hash, start, end))).toMatchObject({
        ok: false,
        error: { reason: 'malformed' },
      })
  })

  it('decodes an opened reply only with a size, a short type and bytes', () => {
    const good = { type: 'opened', size: 10, mime: 'audio/wav', data: new ArrayBuffer(4) }
    expect(decodeContentReply(good).ok).toBe(true)
    for (const bad of [
      { ...good, size: -1 },
      { ...good, mime: 'x'.repeat(256) },
      { ...good, data: new Uint8Array(4) },
      { ...good, extra: 1 },
    ])
      expect(decodeContentReply(bad).ok).toBe(false)
  })
})
