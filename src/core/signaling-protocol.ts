import * as v from 'valibot'
import { err, ok, type Result } from './result.ts'

/**
 * The signaling channel: every message between a browser node and the signaling server.
 * Declared once here; the server (signaling/) and the client (src/core/signaling-client.ts) both
 * import it, and both decode untrusted text through `decodeClientMessage` / `decodeServerMessage`.
 */

export const SIGNALING_PATH = '/signal'

/** Largest signaling frame either side accepts. An SDP offer with one data channel is ~1–3 KiB. */
export const MAX_SIGNAL_FRAME = 16 * 1024

const PEER_ID = /^[0-9a-f]{32}$/
const SESSION = /^[A-Za-z0-9_-]{8,64}$/
const ROOM = /^[A-Za-z0-9_.-]{1,64}$/

/** Most peer refs one `joined` or `sample` frame carries. */
export const MAX_PEER_REFS = 64
/** Most peer ids one `lookup` asks for: a gossip round's worth, and a bounded server-side cost. */
export const MAX_LOOKUP_IDS = 16
/** Longest spread a draining server may ask its clients to reconnect over. */
export const MAX_RECONNECT_WITHIN_MS = 60_000

const PeerIdSchema = v.pipe(v.string(), v.regex(PEER_ID))
const SessionSchema = v.pipe(v.string(), v.regex(SESSION))
export const RoomSchema = v.pipe(v.string(), v.regex(ROOM))

/** SDP and ICE payloads as simple-peer / RTCPeerConnection produce them; relayed, never interpreted by the server. */
const SignalDataSchema = v.union([
  v.strictObject({
    type: v.picklist(['offer', 'answer', 'pranswer', 'rollback']),
    sdp: v.optional(v.pipe(v.string(), v.maxLength(12 * 1024))),
  }),
  v.strictObject({
    type: v.literal('candidate'),
    candidate: v.strictObject({
      candidate: v.pipe(v.string(), v.maxLength(1024)),
      sdpMid: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(64)))),
      sdpMLineIndex: v.optional(v.nullable(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(64)))),
      usernameFragment: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(256)))),
    }),
  }),
  v.strictObject({ type: v.literal('renegotiate'), renegotiate: v.literal(true) }),
])
export type SignalData = v.InferOutput<typeof SignalDataSchema>

const PeerRefSchema = v.strictObject({ session: SessionSchema, peerId: PeerIdSchema })
/** Another node in the room: its signaling session (for relaying) and the peer id it claims. */
export type PeerRef = v.InferOutput<typeof PeerRefSchema>

const IceServerSchema = v.strictObject({
  urls: v.union([
    v.pipe(v.string(), v.maxLength(512)),
    v.pipe(v.array(v.pipe(v.string(), v.maxLength(512))), v.maxLength(8)),
  ]),
  username: v.exactOptional(v.pipe(v.string(), v.maxLength(256))),
  credential: v.exactOptional(v.pipe(v.string(), v.maxLength(256))),
})
export type IceServer = v.InferOutput<typeof IceServerSchema>
export const IceServersSchema = v.pipe(v.array(IceServerSchema), v.maxLength(16))

/** ICE candidate types (RFC 8445 / getStats): how one end of a link's selected pair is reached. */
export const CANDIDATE_TYPES = ['host', 'srflx', 'prflx', 'relay'] as const
export type CandidateType = (typeof CANDIDATE_TYPES)[number]
const LinkReportSchema = v.strictObject({
  local: v.picklist(CANDIDATE_TYPES),
  remote: v.picklist(CANDIDATE_TYPES),
})
/** How one link of a client connected, reported for the server's /metrics. */
export type LinkReport = v.InferOutput<typeof LinkReportSchema>

const ClientMessageSchema = v.variant('type', [
  /** Enter a room under a peer id; answered by `joined` with a random sample of the room. */
  v.strictObject({ type: v.literal('join'), room: RoomSchema, peerId: PeerIdSchema }),
  /** Relay SDP/ICE to another session in the same room. */
  v.strictObject({ type: v.literal('signal'), to: SessionSchema, data: SignalDataSchema }),
  /** Ask for a fresh random sample of the room (to replace lost links). */
  v.strictObject({ type: v.literal('sample') }),
  /** Ask which of these peer ids are in the room; answered by `sample` with the ones that are. */
  v.strictObject({
    type: v.literal('lookup'),
    peerIds: v.pipe(v.array(PeerIdSchema), v.minLength(1), v.maxLength(MAX_LOOKUP_IDS)),
  }),
  /** Leave the room; the socket stays open. */
  v.strictObject({ type: v.literal('leave') }),
  /** A link of this client connected by this candidate pair (counted in /metrics, nothing else). */
  v.strictObject({ type: v.literal('link-report'), link: LinkReportSchema }),
])
export type ClientMessage = v.InferOutput<typeof ClientMessageSchema>

export const SIGNALING_ERROR_CODES = [
  'BAD_MESSAGE',
  'TOO_LARGE',
  'RATE_LIMITED',
  'ROOM_FULL',
  'SERVER_FULL',
  'NOT_JOINED',
  'UNKNOWN_PEER',
] as const
export type SignalingErrorCode = (typeof SIGNALING_ERROR_CODES)[number]

const ServerMessageSchema = v.variant('type', [
  /** First message on every socket: the session id and the ICE servers the operator configured. */
  v.strictObject({ type: v.literal('welcome'), session: SessionSchema, iceServers: IceServersSchema }),
  v.strictObject({
    type: v.literal('joined'),
    room: RoomSchema,
    peers: v.pipe(v.array(PeerRefSchema), v.maxLength(MAX_PEER_REFS)),
  }),
  v.strictObject({
    type: v.literal('sample'),
    peers: v.pipe(v.array(PeerRefSchema), v.maxLength(MAX_PEER_REFS)),
  }),
  v.strictObject({ type: v.literal('signal'), from: PeerRefSchema, data: SignalDataSchema }),
  /** Fresh ICE servers (TURN credentials about to expire): used for links made from now on. */
  v.strictObject({ type: v.literal('ice'), iceServers: IceServersSchema }),
  /**
   * The server is shutting down and has already withdrawn this session from its room: close the
   * socket and connect again (through the load balancer, to another server) at a random moment
   * within `withinMs`, so its members do not all arrive at once.
   */
  v.strictObject({
    type: v.literal('reconnect'),
    withinMs: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_RECONNECT_WITHIN_MS)),
  }),
  v.strictObject({
    type: v.literal('error'),
    code: v.picklist(SIGNALING_ERROR_CODES),
    message: v.pipe(v.string(), v.maxLength(512)),
  }),
])
export type ServerMessage = v.InferOutput<typeof ServerMessageSchema>

export type DecodeError = { code: 'TOO_LARGE' | 'BAD_JSON' | 'BAD_MESSAGE'; message: string }

function decode<T>(schema: v.GenericSchema<unknown, T>, text: string): Result<T, DecodeError> {
  if (text.length > MAX_SIGNAL_FRAME) {
    return err({
      code: 'TOO_LARGE',
      message: `frame of ${text.length} characters exceeds ${MAX_SIGNAL_FRAME}`,
    })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return err({ code: 'BAD_JSON', message: 'frame is not valid JSON' })
  }
  const parsed = v.safeParse(schema, json)
  if (!parsed.success) {
    const issue = parsed.issues[0]
    const path = issue.path?.map((p) => String(p.key)).join('.') ?? ''
    return err({ code: 'BAD_MESSAGE', message: `${path ? path + ': ' : ''}${issue.message}` })
  }
  return ok(parsed.output)
}

/** Decode a frame sent by a client (used by the server). Never throws. */
export const decodeClientMessage = (text: string) => decode(ClientMessageSchema, text)
/** Decode a frame sent by the server (used by the client). Never throws. */
export const decodeServerMessage = (text: string) => decode(ServerMessageSchema, text)

export const isRoom = (s: string) => ROOM.test(s)
export const isPeerId = (s: string) => PEER_ID.test(s)
export const isSession = (s: string) => SESSION.test(s)
