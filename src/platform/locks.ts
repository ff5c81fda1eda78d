import type { WithLock } from '../core/library.ts'

/**
 * Named exclusive locks across every tab and worker of the origin (Web Locks). Where the API is
 * missing (very old browsers, some embedded views) an in-page mutex stands in: it still orders
 * this tab's own work, though it cannot see other tabs.
 */
const hasWebLocks = (): boolean => typeof navigator !== 'undefined' && 'locks' in navigator

/** A temporary's lock, held for as long as an import owns it: `sweep` deletes only unlocked ones. */
export const tmpLockName = (tmpName: string): string => `dcmx-tmp-${tmpName}`

/** Runs `fn` while holding the named lock; waits for the lock if another holder has it. */
export const withLock: WithLock = (name, fn) =>
  hasWebLocks() ? navigator.locks.request(name, () => fn()) : pageLocks.run(name, fn)

/**
 * Take the named lock, waiting if needed, and hold it until the returned function is called; the
 * promise that function returns settles once the lock is really free for others.
 */
export function holdLock(name: string): Promise<() => Promise<void>> {
  return new Promise((acquired, failed) => {
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    const done: Promise<void> = withLock(name, () => {
      acquired(() => {
        release()
        return done.catch(() => {})
      })
      return held
    })
    done.catch(failed)
  })
}

/**
 * Run `fn` under the named lock only if nobody holds it right now. Resolves `{ ran: false }`
 * without running `fn` when the lock is taken (e.g. a temporary that a running import owns).
 */
export async function tryLock<T>(
  name: string,
  fn: () => Promise<T>,
): Promise<{ ran: true; value: T } | { ran: false }> {
  if (!hasWebLocks()) {
    if (pageLocks.isHeld(name)) return { ran: false }
    return { ran: true, value: await pageLocks.run(name, fn) }
  }
  return navigator.locks.request(name, { ifAvailable: true }, async (lock) =>
    lock ? { ran: true as const, value: await fn() } : { ran: false as const },
  )
}

/** The fallback: per-name promise chains within this page. */
const pageLocks = (() => {
  const tails = new Map<string, Promise<void>>()
  return {
    /** Held or queued: a chain for this name has not drained yet. */
    isHeld: (name: string) => tails.has(name),
    run<T>(name: string, fn: () => Promise<T>): Promise<T> {
      const run = (tails.get(name) ?? Promise.resolve()).then(fn)
      const tail = run.then(
        () => {},
        () => {},
      )
      tails.set(name, tail)
      // Forget the chain once it drains, so the map does not grow with every name ever used.
      void tail.then(() => {
        if (tails.get(name) === tail) tails.delete(name)
      })
      return run
    },
  }
})()
