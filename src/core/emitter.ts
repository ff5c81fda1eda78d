/** A minimal typed event emitter: `on` returns its own unsubscribe function. */
export class Emitter<Events extends Record<string, unknown[]>> {
  #handlers: { [K in keyof Events]?: Set<(...args: Events[K]) => void> } = {}

  on<K extends keyof Events>(event: K, handler: (...args: Events[K]) => void): () => void {
    const set = (this.#handlers[event] ??= new Set())
    set.add(handler)
    return () => set.delete(handler)
  }

  emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    for (const handler of [...(this.#handlers[event] ?? [])]) handler(...args)
  }

  clear(): void {
    this.#handlers = {}
  }
}

/**
 * Record what `emitter` emits from now on (at most `limit` events, the oldest dropped first) and,
 * on `release`, stop recording and emit it again, in order, to the handlers subscribed by then: a
 * source started before its consumers exist loses nothing. Call `release` in the same task as the
 * consumers subscribe, or they hear what arrives in between twice.
 */
export function holdEvents<Events extends Record<string, unknown[]>>(
  emitter: Emitter<Events>,
  names: readonly (keyof Events)[],
  limit: number,
): { release(): void } {
  const held: { name: keyof Events; args: unknown[] }[] = []
  const stops = names.map((name) =>
    emitter.on(name, (...args) => {
      held.push({ name, args })
      if (held.length > limit) held.shift()
    }),
  )
  let released = false
  return {
    release() {
      if (released) return
      released = true
      for (const stop of stops) stop()
      for (const { name, args } of held.splice(0)) emitter.emit(name, ...(args as Events[typeof name]))
    },
  }
}
