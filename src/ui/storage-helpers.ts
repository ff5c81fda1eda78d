import type { Track } from '../core/catalog.ts'
import { formatBytes, planEviction } from '../core/library.ts'
import type { StorageEstimate } from '../core/storage-status.ts'

/**
 * Past this share of its quota the origin counts as short of space, and "Free space" suggests
 * getting back under it: browsers start refusing writes (and may evict) close to the quota, and a
 * fifth left over holds a few albums more.
 */
export const USAGE_CEILING = 0.8

/** Decimal megabytes, as formatBytes shows sizes. */
const MB = 1_000_000

/** Bytes as the amount field shows them: MB, to the kilobyte. */
export const toMegabytes = (bytes: number): string => String(Math.round(bytes / 1000) / 1000)

/** The amount field's MB as bytes; anything not a positive number is nothing. */
export const fromMegabytes = (text: string): number => Math.max(0, Math.round(Number(text) * MB) || 0)

/**
 * How much "Free space" suggests freeing: enough to bring usage back under USAGE_CEILING of the
 * quota when it is above; otherwise the least recently played track's size (a plan of one).
 */
export function suggestedTarget(
  estimate: StorageEstimate | undefined,
  tracks: readonly Track[],
  keep: readonly string[] = [],
): number {
  const over = estimate && estimate.quota > 0 ? estimate.usage - USAGE_CEILING * estimate.quota : 0
  if (over > 0) return Math.ceil(over)
  return planEviction(tracks, 1, keep)[0]?.size ?? 0
}

/**
 * The confirmation's question: how many tracks and bytes will go. `total` counts the library's
 * tracks, `mayGo` those neither pinned nor playing.
 */
export function planSentence(
  plan: readonly Track[],
  target: number,
  counts: { total: number; mayGo: number },
): string {
  if (counts.total === 0) return 'There are no tracks to remove.'
  if (counts.mayGo === 0) return 'Nothing can be removed: every track is pinned or playing.'
  if (plan.length === 0) return 'Enter how much space to free.'
  const bytes = plan.reduce((sum, t) => sum + t.size, 0)
  const question = `Remove ${plan.length} ${plan.length === 1 ? 'track' : 'tracks'} (${formatBytes(bytes)})?`
  return bytes < target
    ? `${question} That is every track not pinned or playing, and less than the ${formatBytes(target)} asked.`
    : question
}
