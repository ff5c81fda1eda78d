/**
 * Room membership and relay, behind the `Rooms` interface: the in-memory version below (the
 * default, one process) and the Redis-backed one in redis-rooms.ts (several processes behind a load
 * balancer). The interface is asynchronous because the distributed version is; server.ts serializes
 * each connection's messages so a `signal` cannot overtake the `join` sent before it.
 */
import { randomInt } from 'node:crypto'
import { err, ok, type Result } from '../src/core/result.ts'
import type { PeerRef, ServerMessage, SignalData } from '../src/core/signaling-protocol.ts'

/** A joined session as the rooms see it: who it is, and how to hand it a message. */
export type Member = PeerRef & { deliver(message: ServerMessage): void }

/** Why a relay was refused; both map one-to-one onto protocol error codes. */
export type RouteError = 'NOT_JOINED' | 'UNKNOWN_PEER'

/** How the rooms reach their shared state, for /healthz and /metrics. */
export type RoomsHealth =
  | { backend: 'memory' }
  | {
      backend: 'redis'
      /** Redis answers: membership, samples and relay span every server. */
      up: boolean
      /** Round trip of the last PING, in ms; NaN before the first answer. */
      latencyMs: number
      /** Commands sent and their summed round-trip time, and commands that failed or timed out. */
      commands: number
      commandMs: number
      errors: number
      /** Signals published to another server's channel, and signals received from one. */
      relayedOut: number
      relayedIn: number
    }

/** Membership and relay for all rooms of one signaling deployment. */
export interface Rooms {
  /** Put `member` in `room` (leaving its current room first) and answer with a random sample of others. */
  join(member: Member, room: string, k: number): Promise<Result<PeerRef[], 'ROOM_FULL'>>
  /** Remove a session from its room, deleting the room when it empties; false if it was in none. */
  leave(session: string): Promise<boolean>
  /** A fresh random sample of up to `k` other members of the session's room; undefined if not joined. */
  sample(session: string, k: number): Promise<PeerRef[] | undefined>
  /**
   * Other members of the session's room that claim one of `peerIds`, at most `perId` sessions per
   * id (drawn at random when more claim it); undefined if not joined.
   */
  lookup(session: string, peerIds: readonly string[], perId: number): Promise<PeerRef[] | undefined>
  /** Deliver signal data from one session to another in the same room. */
  route(from: string, to: string, data: SignalData): Promise<Result<void, RouteError>>
  /** Number of non-empty rooms with a member on this server. */
  roomCount(): number
  health(): RoomsHealth
  /** Withdraw every member of this server from shared state and release connections. */
  close(): Promise<void>
}

/** Uniform integer in [0, max); injectable so tests could make sampling deterministic. */
export type RandomInt = (max: number) => number

type Room = {
  members: Member[]
  /** Session → position in `members`. */
  index: Map<string, number>
  /** Peer id → sessions claiming it. Ids are claims, not proofs, so one id may have several. */
  byPeer: Map<string, Set<string>>
}

/** Draw up to `k` distinct indices in [0, n) except `exclude`, by a partial Fisher–Yates shuffle that
 *  records only the swaps it makes (O(k) time and memory, the member array is never copied). */
export function sampleIndices(n: number, k: number, exclude: number | undefined, rand: RandomInt): number[] {
  const swaps = new Map<number, number>()
  const at = (i: number) => swaps.get(i) ?? i
  let limit = n
  if (exclude !== undefined && exclude >= 0 && exclude < n) {
    // Move the excluded slot past the end of the range we draw from.
    limit = n - 1
    swaps.set(exclude, limit)
    swaps.set(limit, exclude)
  }
  const out: number[] = []
  const count = Math.min(k, limit)
  for (let i = 0; i < count; i++) {
    const j = i + rand(limit - i)
    const vi = at(i)
    const vj = at(j)
    swaps.set(i, vj)
    swaps.set(j, vi)
    out.push(vj)
  }
  return out
}

/** Single-process rooms: a member array per room (for O(1) random access) plus a session index. */
export class MemoryRooms implements Rooms {
  private readonly rooms = new Map<string, Room>()
  private readonly roomBySession = new Map<string, string>()

  constructor(
    private readonly maxRoomSize: number,
    private readonly rand: RandomInt = randomInt,
  ) {}

  async join(member: Member, roomName: string, k: number): Promise<Result<PeerRef[], 'ROOM_FULL'>> {
    return this.joinNow(member, roomName, k)
  }

  /** `join`, synchronously. */
  joinNow(member: Member, roomName: string, k: number): Result<PeerRef[], 'ROOM_FULL'> {
    const current = this.roomBySession.get(member.session)
    const target = this.rooms.get(roomName)
    const occupied = (target?.members.length ?? 0) - (current === roomName ? 1 : 0)
    // Check capacity before leaving, so a refused join leaves the member where it was.
    if (occupied >= this.maxRoomSize) return err('ROOM_FULL')
    if (current !== undefined) this.leaveNow(member.session)

    let room = this.rooms.get(roomName)
    if (!room) {
      room = { members: [], index: new Map(), byPeer: new Map() }
      this.rooms.set(roomName, room)
    }
    room.index.set(member.session, room.members.length)
    room.members.push(member)
    const claimants = room.byPeer.get(member.peerId)
    if (claimants) claimants.add(member.session)
    else room.byPeer.set(member.peerId, new Set([member.session]))
    this.roomBySession.set(member.session, roomName)
    return ok(this.draw(room, member.session, k))
  }

  async leave(session: string): Promise<boolean> {
    return this.leaveNow(session)
  }

  /** `leave`, synchronously. */
  leaveNow(session: string): boolean {
    const roomName = this.roomBySession.get(session)
    if (roomName === undefined) return false
    this.roomBySession.delete(session)
    const room = this.rooms.get(roomName)
    const i = room?.index.get(session)
    const gone = i === undefined ? undefined : room?.members[i]
    if (!room || i === undefined || !gone) return false
    const claimants = room.byPeer.get(gone.peerId)
    claimants?.delete(session)
    if (claimants?.size === 0) room.byPeer.delete(gone.peerId)
    // Swap-remove: move the last member into the freed slot.
    const last = room.members.pop()
    room.index.delete(session)
    if (last && last.session !== session) {
      room.members[i] = last
      room.index.set(last.session, i)
    }
    if (room.members.length === 0) this.rooms.delete(roomName)
    return true
  }

  async sample(session: string, k: number): Promise<PeerRef[] | undefined> {
    return this.sampleNow(session, k)
  }

  /** `sample`, synchronously. */
  sampleNow(session: string, k: number): PeerRef[] | undefined {
    const room = this.roomOf(session)
    return room ? this.draw(room, session, k) : undefined
  }

  async lookup(session: string, peerIds: readonly string[], perId: number): Promise<PeerRef[] | undefined> {
    return this.lookupNow(session, peerIds, perId)
  }

  /** `lookup`, synchronously. */
  lookupNow(session: string, peerIds: readonly string[], perId: number): PeerRef[] | undefined {
    const room = this.roomOf(session)
    if (!room) return undefined
    const found: PeerRef[] = []
    for (const peerId of new Set(peerIds)) {
      const claimants = [...(room.byPeer.get(peerId) ?? [])].filter((s) => s !== session)
      // A random draw, so an impostor that claimed the id first cannot hide the real peer for good.
      for (const i of sampleIndices(claimants.length, perId, undefined, this.rand)) {
        const claimant = claimants[i]
        if (claimant !== undefined) found.push({ session: claimant, peerId })
      }
    }
    return found
  }

  async route(from: string, to: string, data: SignalData): Promise<Result<void, RouteError>> {
    return this.routeNow(from, to, data)
  }

  /** `route`, synchronously. */
  routeNow(from: string, to: string, data: SignalData): Result<void, RouteError> {
    const room = this.roomOf(from)
    if (!room) return err('NOT_JOINED')
    const fromIndex = room.index.get(from)
    const toIndex = room.index.get(to)
    const sender = fromIndex === undefined ? undefined : room.members[fromIndex]
    const target = toIndex === undefined ? undefined : room.members[toIndex]
    // A session outside this room and a session that does not exist get the same answer.
    if (!sender || !target || to === from) return err('UNKNOWN_PEER')
    target.deliver({ type: 'signal', from: { session: sender.session, peerId: sender.peerId }, data })
    return ok(undefined)
  }

  roomCount(): number {
    return this.rooms.size
  }

  /** Whether `session` is a member here, and of which room. */
  roomOfSession(session: string): string | undefined {
    return this.roomBySession.get(session)
  }

  /** Every member, with its room. */
  *members(): IterableIterator<[Member, string]> {
    for (const [name, room] of this.rooms) for (const m of room.members) yield [m, name]
  }

  /** The member of that session, if it is here. */
  member(session: string): Member | undefined {
    const room = this.roomOf(session)
    const i = room?.index.get(session)
    return i === undefined ? undefined : room?.members[i]
  }

  health(): RoomsHealth {
    return { backend: 'memory' }
  }

  async close(): Promise<void> {}

  private roomOf(session: string): Room | undefined {
    const name = this.roomBySession.get(session)
    return name === undefined ? undefined : this.rooms.get(name)
  }

  private draw(room: Room, self: string, k: number): PeerRef[] {
    const peers: PeerRef[] = []
    for (const i of sampleIndices(room.members.length, k, room.index.get(self), this.rand)) {
      const m = room.members[i]
      if (m) peers.push({ session: m.session, peerId: m.peerId })
    }
    return peers
  }
}
