import { describe, expect, it } from 'vitest'
import { DcmxError } from '../core/errors.ts'
import { decodeWorkerError, encodeWorkerError } from './worker-errors.ts'

/** What Comlink does to a thrown Error on its way to the other side: only name, message and stack survive. */
function acrossComlink(error: Error): Error {
  const wire = structuredClone({ message: error.message, name: error.name, stack: error.stack })
  return Object.assign(new Error(wire.message), wire)
}

const roundTrip = (error: unknown) => decodeWorkerError(acrossComlink(encodeWorkerError(error)))

describe('worker errors across Comlink', () => {
  it.each(['NOT_AUDIO', 'UNREADABLE', 'QUOTA'] as const)(
    'keeps a DcmxError %s with its code and message',
    (code) => {
      const back = roundTrip(new DcmxError(code, 'A sentence for people.'))
      expect(back).toBeInstanceOf(DcmxError)
      expect(back).toMatchObject({ code, message: 'A sentence for people.', name: 'DcmxError' })
    },
  )

  it('turns a QuotaExceededError into DcmxError QUOTA', () => {
    const back = roundTrip(new DOMException('disk full', 'QuotaExceededError'))
    expect(back).toBeInstanceOf(DcmxError)
    expect((back as DcmxError).code).toBe('QUOTA')
  })

  it('keeps an AbortError an AbortError (not an error to show)', () => {
    const back = roundTrip(new DOMException('The job was cancelled.', 'AbortError'))
    expect(back.name).toBe('AbortError')
    expect(back).not.toBeInstanceOf(DcmxError)
  })

  it('keeps other names and messages, and survives non-Error throws', () => {
    expect(roundTrip(new DOMException('gone', 'NotReadableError'))).toMatchObject({
      name: 'NotReadableError',
      message: 'gone',
    })
    expect(roundTrip('a string')).toMatchObject({ name: 'Error', message: 'a string' })
    expect(decodeWorkerError(undefined)).toMatchObject({ name: 'Error', message: 'undefined' })
    expect(roundTrip(null)).toMatchObject({ name: 'Error', message: 'null' })
  })
})
