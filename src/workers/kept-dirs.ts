/**
 * Directory handles looked up before, by path (`tmp`, `content`, `content/ab`): each lookup is a
 * round trip, and a small import made seven. Only lookups that succeeded are kept.
 */
export class KeptDirs {
  readonly #dirs = new Map<string, Promise<FileSystemDirectoryHandle>>()

  /** The kept lookup of `path`, if any (it may still be on its way, and may yet fail). */
  known(path: string): Promise<FileSystemDirectoryHandle> | undefined {
    return this.#dirs.get(path)
  }

  /** The kept lookup of `path`, or `lookUp()`'s, kept unless it fails. */
  get(path: string, lookUp: () => Promise<FileSystemDirectoryHandle>): Promise<FileSystemDirectoryHandle> {
    const known = this.#dirs.get(path)
    if (known) return known
    const lookup = lookUp()
    this.#dirs.set(path, lookup)
    lookup.catch(() => {
      if (this.#dirs.get(path) === lookup) this.#dirs.delete(path)
    })
    return lookup
  }

  /**
   * Run `step`; if it fails because a directory looked up before is gone (clearing site data
   * removes them under a running tab), forget them all and run it once more.
   */
  async again<T>(step: () => Promise<T>): Promise<T> {
    try {
      return await step()
    } catch (error) {
      if ((error as { name?: unknown } | null)?.name !== 'NotFoundError') throw error
      this.#dirs.clear()
      return step()
    }
  }
}
