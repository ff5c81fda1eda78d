import { DcmxError, type DcmxErrorCode } from '../core/errors.ts'

/**
 * Errors crossing the worker boundary. Comlink rebuilds a thrown Error on the other side as a plain
 * Error with the same `name` and `message` (and nothing else), so a DcmxError's code travels in
 * its name, and DOMException names (AbortError, QuotaExceededError) travel as they are.
 */
const DCMX_PREFIX = 'DcmxError:'

/** Worker side: an Error that keeps what the main thread needs once Comlink has copied it. */
export function encodeWorkerError(error: unknown): Error {
  if (error instanceof DcmxError) return named(`${DCMX_PREFIX}${error.code}`, error.message)
  const { name, message } = fields(error)
  if (typeof name === 'string' && typeof message === 'string') return named(name, message)
  return named('Error', String(error))
}

/** Main-thread side: the DcmxError, AbortError or plain Error a worker failure stands for. */
export function decodeWorkerError(error: unknown): Error {
  const { name, message } = fields(error)
  if (typeof name !== 'string' || typeof message !== 'string') return named('Error', String(error))
  if (name.startsWith(DCMX_PREFIX))
    return new DcmxError(name.slice(DCMX_PREFIX.length) as DcmxErrorCode, message)
  if (name === 'QuotaExceededError') {
    return new DcmxError('QUOTA', 'There is not enough storage space left for this file.')
  }
  if (name === 'AbortError') return new DOMException(message || 'Cancelled.', 'AbortError')
  return named(name, message)
}

/** `name` and `message` of whatever was thrown (null, undefined and primitives have neither). */
function fields(error: unknown): { name?: unknown; message?: unknown } {
  return typeof error === 'object' && error !== null ? (error as { name?: unknown; message?: unknown }) : {}
}

function named(name: string, message: string): Error {
  const error = new Error(message)
  error.name = name
  return error
}
