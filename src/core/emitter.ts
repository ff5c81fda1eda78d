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
