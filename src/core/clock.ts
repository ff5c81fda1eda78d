/** Time as the core sees it; tests pass a fake that they advance by hand. */
export interface Clock {
  /** Milliseconds since an arbitrary epoch (wall time in browsers). */
  now(): number
  setTimeout(fn: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
}

export type TimerHandle = { readonly __timer: unique symbol } | number | object

/** Randomness as the core sees it: a float in [0, 1). */
export type Random = () => number

/** Run `fn` every `ms` (± jitter fraction), re-armed after each run; returns a cancel function. */
export function every(clock: Clock, ms: number, fn: () => void, random: Random = () => 0.5, jitter = 0) {
  let handle: TimerHandle | undefined
  let stopped = false
  const arm = () => {
    const delay = ms * (1 - jitter + 2 * jitter * random())
    handle = clock.setTimeout(() => {
      if (stopped) return
      fn()
      if (!stopped) arm()
    }, delay)
  }
  arm()
  return () => {
    stopped = true
    if (handle !== undefined) clock.clearTimeout(handle)
  }
}
