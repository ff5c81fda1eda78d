import * as v from 'valibot'
import { err, ok, type Result } from '../core/result.ts'

/**
 * The content channel between the service worker and the page that holds the store and the links.
 * The worker posts a `ContentRequest` to a window client with a MessagePort; the page answers on
 * that port with one `ContentReply`, and the worker may send one `PortControl` (abort) first.
 * Declared once here and imported by both sides (src/sw and src/platform/sw-bridge.ts); both
 * decode what they receive, so a malformed message is a typed rejection, never a throw.
 */

/** Tags our requests among other service-worker messages (workbox-window posts its own). */
export const CONTENT_CHANNEL = 'dcmx-content'
export const CONTENT_PROTOCOL_VERSION = 1

/** Where the player finds a track: `<audio src="/content/<hash>">`. */
export const CONTENT_PATH = '/content/'
export const contentPath = (hash: string): string => `${CONTENT_PATH}${hash}`

/**
 * Most bytes one `read` asks for. Large enough that a media element needs few round trips,
 * small enough that a transferred buffer never strains either side's memory.
 */
export const MAX_READ_BYTES = 1024 * 1024

/** Errors a page reports; the worker turns them into HTTP statuses (404, 503, 400, 500). */
export const CONTENT_ERROR_CODES = [
  'NOT_FOUND',
  'PEER_GONE',
  'TIMEOUT',
  'ABORTED',
  'BAD_REQUEST',
  'FAILED',
] as const
export type ContentErrorCode = (typeof CONTENT_ERROR_CODES)[number]
export type ContentFailure = { code: ContentErrorCode; message: string }

/** A media type is a short header value; anything longer is not one. */
const MAX_MIME = 255
/** A failure's message is a sentence, not a dump. */
const MAX_MESSAGE = 500

const HashSchema = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/))
const OffsetSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(0))

const Envelope = {
  channel: v.literal(CONTENT_CHANNEL),
  v: v.literal(CONTENT_PROTOCOL_VERSION),
}

const ContentRequestSchema = v.variant('type', [
  /** Size and media type of a track; answered by `described` or an error (NOT_FOUND if unknown). */
  v.strictObject({ ...Envelope, type: v.literal('describe'), hash: HashSchema }),
  /** Bytes [start, end) of a track; answered by `bytes` (transferred) or an error. */
  v.pipe(
    v.strictObject({
      ...Envelope,
      type: v.literal('read'),
      hash: HashSchema,
      start: OffsetSchema,
      end: OffsetSchema,
    }),
    v.check((r) => r.end > r.start && r.end - r.start <= MAX_READ_BYTES, 'read range out of bounds'),
  ),
  /**
   * Size, media type and bytes [start, min(end, size)) of a track at once, answered by `opened` (no
   * bytes when `start` is at or past the end) or an error: a media request's first answer then
   * costs the page one round trip, not a describe and a read. A page of an older version answers
   * BAD_REQUEST, and the worker asks again with those two.
   */
  v.pipe(
    v.strictObject({
      ...Envelope,
      type: v.literal('open'),
      hash: HashSchema,
      start: OffsetSchema,
      end: OffsetSchema,
    }),
    v.check((r) => r.end > r.start && r.end - r.start <= MAX_READ_BYTES, 'open range out of bounds'),
  ),
])
export type ContentRequest = v.InferOutput<typeof ContentRequestSchema>

const ContentReplySchema = v.variant('type', [
  v.strictObject({
    type: v.literal('described'),
    size: OffsetSchema,
    mime: v.pipe(v.string(), v.maxLength(MAX_MIME)),
  }),
  v.strictObject({ type: v.literal('bytes'), data: v.instance(ArrayBuffer) }),
  v.strictObject({
    type: v.literal('opened'),
    size: OffsetSchema,
    mime: v.pipe(v.string(), v.maxLength(MAX_MIME)),
    data: v.instance(ArrayBuffer),
  }),
  v.strictObject({
    type: v.literal('error'),
    code: v.picklist(CONTENT_ERROR_CODES),
    message: v.pipe(v.string(), v.maxLength(MAX_MESSAGE)),
  }),
])
export type ContentReply = v.InferOutput<typeof ContentReplySchema>

/** What the worker may send on a request's port before the reply: the request was abandoned. */
const PortControlSchema = v.strictObject({ type: v.literal('abort') })
export type PortControl = v.InferOutput<typeof PortControlSchema>

/**
 * What a page may post to the worker, and nothing else it sends is acted on:
 * - `SKIP_WAITING`: the user accepted the update offered by the banner, so the waiting worker may
 *   take over (workbox-window's `messageSkipWaiting()` posts exactly this);
 * - `FILL_SHELL`: cache whatever of the app shell is not cached yet, and answer on the message's
 *   port with a `ShellReply`. A first install takes control before it has the shell, so that a
 *   first visit's start-up does not compete with the shell's downloads; its page asks for them
 *   once it has started (sw-bridge.ts), and every later page asks again, which costs a cache lookup
 *   per entry and repairs a shell left unfinished.
 */
const WorkerControlSchema = v.variant('type', [
  v.strictObject({ type: v.literal('SKIP_WAITING') }),
  v.strictObject({ type: v.literal('FILL_SHELL') }),
])
export type WorkerControl = v.InferOutput<typeof WorkerControlSchema>

/** True if `data` is a message the worker acts on; everything else is ignored. */
export function isWorkerControl(data: unknown): data is WorkerControl {
  return v.is(WorkerControlSchema, data)
}

export const FILL_SHELL: WorkerControl = { type: 'FILL_SHELL' }

/**
 * How long after our worker takes control (or after the start of a page it already controls) the
 * page (src/platform/sw-bridge.ts) asks it for FILL_SHELL: a first visit's worker takes control
 * before it has the shell, whose downloads would otherwise compete with the page's start-up. The
 * page is offline-ready (mark `dcmx:offline-ready`) once the worker answers that it is filled.
 */
export const SHELL_FILL_DELAY_MS = 1_000

/** The worker's answer to `FILL_SHELL`: every entry of the shell is cached (offline-ready), or why not. */
const ShellReplySchema = v.variant('type', [
  v.strictObject({ type: v.literal('shell-filled') }),
  v.strictObject({ type: v.literal('shell-failed'), message: v.pipe(v.string(), v.maxLength(MAX_MESSAGE)) }),
])
export type ShellReply = v.InferOutput<typeof ShellReplySchema>

/** A worker's answer to `FILL_SHELL`, or undefined if `data` is not one. */
export function decodeShellReply(data: unknown): ShellReply | undefined {
  const parsed = v.safeParse(ShellReplySchema, data)
  return parsed.success ? parsed.output : undefined
}

/** A `shell-failed` reply, its message cut to what the page accepts. */
export function shellFailed(message: string): ShellReply {
  return { type: 'shell-failed', message: message.slice(0, MAX_MESSAGE) }
}

export type RequestRejection = { reason: 'foreign' } | { reason: 'malformed'; detail: string }

/** A request from the worker, or why not: `foreign` is some other message, `malformed` is ours but wrong. */
export function decodeContentRequest(data: unknown): Result<ContentRequest, RequestRejection> {
  if (
    typeof data !== 'object' ||
    data === null ||
    (data as { channel?: unknown }).channel !== CONTENT_CHANNEL
  )
    return err({ reason: 'foreign' })
  const parsed = v.safeParse(ContentRequestSchema, data)
  return parsed.success ? ok(parsed.output) : err({ reason: 'malformed', detail: issueText(parsed.issues) })
}

/** A page's reply, or a description of what was wrong with it. */
export function decodeContentReply(data: unknown): Result<ContentReply, string> {
  const parsed = v.safeParse(ContentReplySchema, data)
  return parsed.success ? ok(parsed.output) : err(issueText(parsed.issues))
}

export function decodePortControl(data: unknown): Result<PortControl, string> {
  const parsed = v.safeParse(PortControlSchema, data)
  return parsed.success ? ok(parsed.output) : err(issueText(parsed.issues))
}

export function describeRequest(hash: string): ContentRequest {
  return { channel: CONTENT_CHANNEL, v: CONTENT_PROTOCOL_VERSION, type: 'describe', hash }
}

export function readRequest(hash: string, start: number, end: number): ContentRequest {
  return { channel: CONTENT_CHANNEL, v: CONTENT_PROTOCOL_VERSION, type: 'read', hash, start, end }
}

export function openRequest(hash: string, start: number, end: number): ContentRequest {
  return { channel: CONTENT_CHANNEL, v: CONTENT_PROTOCOL_VERSION, type: 'open', hash, start, end }
}

/** An error reply, its message cut to what the decoder accepts. */
export function failureReply(code: ContentErrorCode, message: string): ContentReply {
  return { type: 'error', code, message: message.slice(0, MAX_MESSAGE) }
}

function issueText(
  issues: readonly { message: string; path?: readonly { key: unknown }[] | undefined }[],
): string {
  const first = issues[0]
  if (!first) return 'invalid'
  const path = first.path?.map((p) => String(p.key)).join('.')
  return (path ? `${path}: ${first.message}` : first.message).slice(0, 200)
}
