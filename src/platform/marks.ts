/** Names already marked: the node's change handler asks on every event, so the check must be cheap. */
const marked = new Set<string>()

/** Mark the first moment something happened (the start-up and time-to-first-audio benchmarks read these). */
export function markOnce(name: string): void {
  if (marked.has(name)) return
  marked.add(name)
  performance.mark(name)
}
