/**
 * A bounded map that forgets its least recently used entry first (a Map keeps insertion order;
 * a hit re-inserts). Small on purpose: the stores keep a few open files or blobs in one.
 */
export class Lru<K, V> {
  readonly #entries = new Map<K, V>()

  constructor(
    readonly capacity: number,
    /** Called with each entry pushed out by a newer one (to close a file handle, say). */
    private readonly onEvict: (key: K, value: V) => void = () => {},
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`bad LRU capacity: ${capacity}`)
  }

  get size(): number {
    return this.#entries.size
  }

  get(key: K): V | undefined {
    if (!this.#entries.has(key)) return undefined
    const value = this.#entries.get(key)!
    this.#entries.delete(key)
    this.#entries.set(key, value)
    return value
  }

  set(key: K, value: V): void {
    this.#entries.delete(key)
    this.#entries.set(key, value)
    while (this.#entries.size > this.capacity) {
      const [oldest, old] = this.#entries.entries().next().value as [K, V]
      this.#entries.delete(oldest)
      this.onEvict(oldest, old)
    }
  }

  /** The keys, least recently used first. */
  keys(): IterableIterator<K> {
    return this.#entries.keys()
  }

  /** Forget `key` (without calling onEvict); its value, if it had one. */
  delete(key: K): V | undefined {
    const value = this.#entries.get(key)
    this.#entries.delete(key)
    return value
  }
}
