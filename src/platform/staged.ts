import type { Digest, Staged } from '../core/content.ts'

/**
 * A Staged whose commit or discard runs once (later calls do nothing) and always releases the
 * temporary's lock. If a commit fails, the temporary is discarded too, so nothing is left behind
 * (what cannot be removed now, the next sweep will).
 */
export function stagedOnce(
  digest: Digest,
  steps: { commit(): Promise<void>; discard(): Promise<void>; release(): Promise<void> },
): Staged {
  let settled = false
  const settle = async (keep: boolean) => {
    if (settled) return
    settled = true
    try {
      if (keep) await steps.commit()
      else await steps.discard()
    } catch (error) {
      if (keep) await steps.discard().catch(() => {})
      throw error
    } finally {
      await steps.release()
    }
  }
  return { digest, commit: () => settle(true), discard: () => settle(false) }
}
