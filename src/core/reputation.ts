import type { Clock } from './clock.ts'
import { Emitter } from './emitter.ts'

/**
 * The reputation ledger: every penalty any part of the node detects (a malformed frame, a flood,
 * a forged record, a bad piece, a lying piece list, a reader that stopped reading, a handler that
 * failed on a message) lands here under a named kind, adds points to a score that decays with
 * time, and one policy turns the score into a verdict: count it, close the link, or close it and
 * refuse the peer for `banMs`.
 *
 * Bans only ever apply to a proven id (a peer that signed our nonce with the key its id derives
 * from). What happens before the proof is charged to the signaling session the link came
 * through: an impostor that claims X and then stalls costs its own session, never X.
 */

/** Named penalties. Points are in strikes: `limit` of them (3 by default) and the peer is banned. */
export const PENALTIES = {
  /** A frame the codec refused (bad header, unknown type, oversized). */
  malformed: { points: 1 },
  /** A well-formed message that breaks the protocol (wrong state, unsolicited, out of order). */
  protocol: { points: 1 },
  /** A handler failed on the peer's message: one bad message costs one message. */
  handler: { points: 1 },
  /** Frames kept arriving over the inbound rate budget. */
  flood: { points: 3 },
  /**
   * A signature that does not verify, or a track set that does not match its signed root. Honest
   * nodes relay only what they verified, so this is never an honest mistake: banned at once.
   */
  forged: { points: 3 },
  /** A piece that failed its hash. */
  'bad-piece': { points: 1 },
  /** A piece list or metadata that contradicts what it is bound to. */
  'lying-list': { points: 1 },
  /** Data that produced a file failing its whole-file hash, or a proven repeated liar: banned at once. */
  'bad-file': { points: 3 },
  /** The identity handshake failed (bad hello, bad proof, wrong id): the link is closed at once. */
  handshake: { points: 3 },
  /** It let our queue to it grow past the outbound budget: the link is closed (no ban: it may just be slow). */
  'slow-reader': { points: 1, close: true },
} as const satisfies Record<string, { points: number; close?: boolean }>

export type PenaltyKind = keyof typeof PENALTIES

/** Who a penalty is charged to: a proven peer id, or the signaling session of an unproven link. */
export type Subject = { peer: string } | { session: string }

/** What the caller does next: nothing more, close the link, or close it and refuse the peer. */
export type Verdict = 'strike' | 'close' | 'ban'

export type ReputationConfig = {
  /** Score (in strikes) at which a subject is banned. */
  limit: number
  /** Time for a score to halve: a rare glitch is forgotten, a burst of them is not. */
  halfLifeMs: number
  /** How long a banned subject is refused. */
  banMs: number
  /** Subjects remembered at most (the lowest, oldest scores are forgotten first). */
  maxEntries: number
}

export const DEFAULT_REPUTATION_CONFIG: ReputationConfig = {
  limit: 3,
  // Three malformed frames within a few minutes is a peer that sends junk; one an hour is noise.
  halfLifeMs: 5 * 60_000,
  banMs: 10 * 60_000,
  // Each entry is a few dozen bytes; more subjects than this in one ban period is a Sybil swarm,
  // and forgetting its least-scored members first keeps the ones that did most harm.
  maxEntries: 4096,
}

export type ReputationEvents = {
  /** A penalty was recorded; `verdict` is what the policy decided. */
  penalty: [subject: Subject, kind: PenaltyKind, detail: string, verdict: Verdict]
  /** A proven peer was banned until `until`. */
  banned: [peerId: string, until: number, reason: string]
}

type Entry = { score: number; at: number; bannedUntil: number }

/** A counter that halves every `halfLifeMs`: strikes and throttled frames fade over a link's life. */
export class DecayingCounter {
  #value = 0
  #at: number

  constructor(
    readonly halfLifeMs: number,
    now: number,
  ) {
    this.#at = now
  }

  /** Add `n` and return the decayed total. */
  add(n: number, now: number): number {
    this.#value = this.value(now) + n
    this.#at = Math.max(this.#at, now)
    return this.#value
  }

  value(now: number): number {
    const dt = Math.max(0, now - this.#at)
    return this.#value * 0.5 ** (dt / this.halfLifeMs)
  }
}

const keyOf = (subject: Subject) => ('peer' in subject ? `p:${subject.peer}` : `s:${subject.session}`)

export class Reputation {
  readonly events = new Emitter<ReputationEvents>()
  readonly config: ReputationConfig
  #entries = new Map<string, Entry>()

  constructor(
    private readonly clock: Clock,
    config: Partial<ReputationConfig> = {},
  ) {
    this.config = { ...DEFAULT_REPUTATION_CONFIG, ...config }
  }

  /** Charge a proven peer; the verdict says whether to close its link (and whether it is banned). */
  penalise(peerId: string, kind: PenaltyKind, detail: string = kind): Verdict {
    return this.charge({ peer: peerId }, kind, detail)
  }

  /** Charge a proven peer or an unproven link's signaling session. */
  charge(subject: Subject, kind: PenaltyKind, detail: string = kind): Verdict {
    const now = this.clock.now()
    const key = keyOf(subject)
    const entry = this.#entries.get(key) ?? { score: 0, at: now, bannedUntil: 0 }
    this.#entries.delete(key)
    this.#entries.set(key, entry) // most recently charged last
    const penalty: { points: number; close?: boolean } = PENALTIES[kind]
    entry.score = decay(entry, now, this.config.halfLifeMs) + penalty.points
    entry.at = now
    let verdict: Verdict = penalty.close ? 'close' : 'strike'
    // A little slack under the limit for floating-point decay: three strikes at once are three.
    if (entry.score >= this.config.limit - 1e-9) {
      verdict = 'ban'
      entry.bannedUntil = now + this.config.banMs
      entry.score = 0
      if ('peer' in subject) this.events.emit('banned', subject.peer, entry.bannedUntil, detail)
    }
    this.#trim(now)
    this.events.emit('penalty', subject, kind, detail, verdict)
    return verdict
  }

  /** Ban a proven peer outright (a proof of malice such as a forged file). */
  ban(peerId: string, reason: string): void {
    this.charge({ peer: peerId }, 'bad-file', reason)
  }

  isBanned(subject: Subject | string): boolean {
    const key = keyOf(typeof subject === 'string' ? { peer: subject } : subject)
    const entry = this.#entries.get(key)
    return entry !== undefined && entry.bannedUntil > this.clock.now()
  }

  /** Current (decayed) score of a subject, in strikes. */
  score(subject: Subject | string): number {
    const entry = this.#entries.get(keyOf(typeof subject === 'string' ? { peer: subject } : subject))
    return entry ? decay(entry, this.clock.now(), this.config.halfLifeMs) : 0
  }

  /** Proven peers banned right now. */
  get banned(): string[] {
    const now = this.clock.now()
    return [...this.#entries]
      .filter(([key, e]) => key.startsWith('p:') && e.bannedUntil > now)
      .map(([key]) => key.slice(2))
  }

  get size(): number {
    return this.#entries.size
  }

  #trim(now: number) {
    if (this.#entries.size <= this.config.maxEntries) return
    // Forgotten first: scores that decayed to nothing and lapsed bans, then the least-charged.
    for (const [key, e] of this.#entries) {
      if (e.bannedUntil <= now && decay(e, now, this.config.halfLifeMs) < 0.05) this.#entries.delete(key)
    }
    for (const key of this.#entries.keys()) {
      if (this.#entries.size <= this.config.maxEntries) break
      const e = this.#entries.get(key)!
      if (e.bannedUntil <= now) this.#entries.delete(key)
    }
    // Still over: all are banned; the oldest charged go.
    for (const key of this.#entries.keys()) {
      if (this.#entries.size <= this.config.maxEntries) break
      this.#entries.delete(key)
    }
  }
}

function decay(entry: Entry, now: number, halfLifeMs: number): number {
  return entry.score * 0.5 ** (Math.max(0, now - entry.at) / halfLifeMs)
}
