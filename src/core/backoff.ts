import type { Random } from './clock.ts'

export type BackoffConfig = { baseMs: number; maxMs: number }

/** Reconnect delays: 0.5 s doubling to 30 s, so a restarted server is not stampeded. */
export const DEFAULT_BACKOFF: BackoffConfig = { baseMs: 500, maxMs: 30_000 }

/**
 * Delay before retry number `attempt` (0-based): exponential growth capped at `maxMs`, with
 * "equal jitter" — half fixed, half random — so clients that lost the server together spread out.
 */
export function backoffDelay(
  attempt: number,
  random: Random,
  config: BackoffConfig = DEFAULT_BACKOFF,
): number {
  const ceiling = Math.min(config.maxMs, config.baseMs * 2 ** Math.min(attempt, 30))
  return ceiling / 2 + (random() * ceiling) / 2
}
