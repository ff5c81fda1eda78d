import { describe, expect, it } from 'vitest'
import { describeRequest, isWorkerControl } from './protocol.ts'

describe('isWorkerControl', () => {
  it('accepts the update banner’s SKIP_WAITING and nothing else', () => {
    expect(isWorkerControl({ type: 'SKIP_WAITING' })).toBe(true)
    for (const other of [
      { type: 'SKIP_WAITING', extra: 1 },
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
