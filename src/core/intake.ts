import type { Clock } from './clock.ts'
import { TokenBucket } from './rate.ts'

/**
 * Per-link quotas on what one link may add to the directory: origins it was first to tell us of,
 * and announcement bytes (track hashes, full sets and deltas), per minute. The directory's global
 * caps bound memory; these bound how fast one link can churn it (flush honest records, or make us
 * hash and index Sybil sets), so a flood from one link costs the node one link's share. What is
 * over quota is dropped unjudged: an honest relay catching us up can exceed it too, and whatever
 * it carried comes back through anti-entropy in a later round.
 */

export type IntakeConfig = {
  /** Records for peers we did not know, per link and minute (also the burst). */
  newOriginsPerMin: number
  /** Announcement body bytes per link and minute (also the burst: a full 14,400-track set fits). */
  announceBytesPerMin: number
}

export const DEFAULT_INTAKE_CONFIG: IntakeConfig = {
  // A node joining a mesh learns every record from its few links: 600 a minute from each of 8
  // links fills a 20,000-origin directory in about four minutes.
  newOriginsPerMin: 600,
  // Honest gossip pushes at most `pushBytes` (96 KiB) per round and answer, about 1.2 MiB a
  // minute at 10 s rounds; a large library's first full set (460 KiB) travels whole on top.
  announceBytesPerMin: 4 * 1024 * 1024,
}

type Quota = { origins: TokenBucket; bytes: TokenBucket }

export class LinkIntake {
  readonly config: IntakeConfig
  /** By link object: a quota lives as long as its link, and a new link starts afresh. */
  #quotas = new WeakMap<object, Quota>()

  constructor(
    private readonly clock: Clock,
    config?: Partial<IntakeConfig>,
  ) {
    this.config = { ...DEFAULT_INTAKE_CONFIG, ...config }
  }

  /** Take `n` announcement bytes from this link's quota; false (nothing taken) if over it. */
  bytes(link: object, n: number): boolean {
    return this.#quota(link).bytes.take(n, this.clock.now())
  }

  /** Take one new origin from this link's quota; false if over it. */
  origin(link: object): boolean {
    return this.#quota(link).origins.take(1, this.clock.now())
  }

  #quota(link: object): Quota {
    let quota = this.#quotas.get(link)
    if (!quota) {
      const { newOriginsPerMin, announceBytesPerMin } = this.config
      const now = this.clock.now()
      quota = {
        origins: new TokenBucket(newOriginsPerMin / 60, newOriginsPerMin, now),
        bytes: new TokenBucket(announceBytesPerMin / 60, announceBytesPerMin, now),
      }
      this.#quotas.set(link, quota)
    }
    return quota
  }
}
