/**
 * Per-client accounting of the signaling server: how many sockets one client address holds, and the
 * message budget that address shares across all its sockets. Behind an interface so that a deployment
 * of several servers can count across them (a Redis-backed implementation); this module holds the
 * in-memory one, which counts for one process.
 *
 * The shape is chosen for that: admitting a socket is rare and may wait for a round trip (it returns
 * a promise), while spending a message is on every frame's path and must not (it is synchronous; a
 * distributed version spends from a local share and settles it with the others in the background).
 */
import { TokenBucket, type RateLimit } from './rate-limit.ts'

/** A socket slot held by one client; release it exactly once, when the socket closes. */
export interface SocketLease {
  release(): void
}

/** Socket slots and message budgets per client key (see client-address.ts). */
export interface ClientLimits {
  /** Claim a socket slot for `client`; undefined when it already holds its cap. */
  admit(client: string): Promise<SocketLease | undefined>
  /** Spend one message of `client`'s shared budget at `now` (ms, monotonic); false when over budget. */
  spend(client: string, now: number): boolean
  /** Forget clients that hold no socket and whose budget has refilled; called periodically. */
  sweep(now: number): void
}

type Entry = { sockets: number; bucket: TokenBucket; lastSpent: number }

/** ClientLimits for one process. */
export class MemoryClientLimits implements ClientLimits {
  private readonly clients = new Map<string, Entry>()

  constructor(
    private readonly maxSockets: number,
    private readonly budget: RateLimit,
    private readonly now: () => number = () => performance.now(),
  ) {}

  admit(client: string): Promise<SocketLease | undefined> {
    const entry = this.entry(client)
    if (entry.sockets >= this.maxSockets) return Promise.resolve(undefined)
    entry.sockets += 1
    let released = false
    return Promise.resolve({
      release: () => {
        if (released) return
        released = true
        entry.sockets -= 1
      },
    })
  }

  spend(client: string, now: number): boolean {
    const entry = this.entry(client)
    entry.lastSpent = now
    return entry.bucket.take(now)
  }

  sweep(now: number): void {
    // Long enough for any budget to be full again, so forgetting an entry gives nothing back.
    const refillMs = (this.budget.burst / this.budget.perSecond) * 1000
    for (const [client, entry] of this.clients) {
      if (entry.sockets === 0 && now - entry.lastSpent >= refillMs) this.clients.delete(client)
    }
  }

  /** Number of clients currently remembered (for tests and metrics). */
  size(): number {
    return this.clients.size
  }

  private entry(client: string): Entry {
    let entry = this.clients.get(client)
    if (!entry) {
      const now = this.now()
      entry = { sockets: 0, bucket: new TokenBucket(this.budget, now), lastSpent: now }
      this.clients.set(client, entry)
    }
    return entry
  }
}
