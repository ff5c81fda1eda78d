/**
 * An origin private file system in memory, faithful to what the stores rely on: directories with
 * create/remove/iterate and the DOMException names Chromium throws (NotFoundError,
 * TypeMismatchError, NoModificationAllowedError, InvalidModificationError, QuotaExceededError),
 * file handles with one exclusive sync access handle at a time (or any number of read-only ones,
 * unless the fake plays a browser that ignores the mode), `move`, and `getFile`. Each file
 * keeps what a crash would leave (`durable`: the bytes as of the last flush or close) apart from
 * what reads see, so `crash()` can show what an interrupted download really keeps. Faults are
 * injected per file: a flush that fails, a write that stops short.
 */

const fail = (name: string, message: string) => new DOMException(message, name)

type Shared = { quota: number; used(): number; readOnlyMode: boolean }

export class MemoryFile {
  readonly kind = 'file'
  data = new Uint8Array(0)
  durable = new Uint8Array(0)
  handle: MemorySyncHandle | undefined
  /** Open read-only handles: they share the file with each other, never with `handle`. */
  readonly readers = new Set<MemorySyncHandle>()
  /** Bytes read through sync handles (shows whether a pass re-read the file). */
  bytesRead = 0
  /** Faults for the next operations (each used once). */
  faults: { flush?: boolean; shortWrite?: number } = {}

  constructor(
    public name: string,
    public parent: MemoryDir,
    readonly shared: Shared,
  ) {}

  async createSyncAccessHandle(options: { mode?: string } = {}): Promise<MemorySyncHandle> {
    const readOnly = options.mode === 'read-only' && this.shared.readOnlyMode
    if (this.handle || (!readOnly && this.readers.size > 0))
      throw fail('NoModificationAllowedError', 'Access handles cannot be created while one is open.')
    const handle = new MemorySyncHandle(this, readOnly)
    if (readOnly) this.readers.add(handle)
    else this.handle = handle
    return handle
  }

  /** Whether any access handle holds the file (then it cannot be moved or removed). */
  get locked(): boolean {
    return this.handle !== undefined || this.readers.size > 0
  }

  async getFile(): Promise<Blob> {
    return new Blob([this.data.slice()])
  }

  async move(destination: MemoryDir, name: string): Promise<void> {
    if (this.locked) throw fail('NoModificationAllowedError', 'The file has an open access handle.')
    this.parent.entries_.delete(this.name)
    destination.entries_.set(name, this)
    this.parent = destination
    this.name = name
  }
}

export class MemorySyncHandle {
  #closed = false
  constructor(
    private readonly file: MemoryFile,
    readonly readOnly = false,
  ) {}

  #live(): MemoryFile {
    if (this.#closed) throw fail('InvalidStateError', 'The access handle was closed.')
    return this.file
  }

  #writable(): MemoryFile {
    if (this.readOnly) throw fail('NoModificationAllowedError', 'The access handle is read-only.')
    return this.#live()
  }

  read(buffer: Uint8Array, options: { at: number }): number {
    const data = this.#live().data
    const n = Math.max(0, Math.min(buffer.length, data.length - options.at))
    buffer.set(data.subarray(options.at, options.at + n))
    this.file.bytesRead += n
    return n
  }

  write(buffer: Uint8Array, options: { at: number }): number {
    const file = this.#writable()
    let bytes = buffer
    const short = file.faults.shortWrite
    if (short !== undefined) {
      delete file.faults.shortWrite
      bytes = buffer.subarray(0, short)
    }
    const end = options.at + bytes.length
    this.#grow(file, end)
    file.data.set(bytes, options.at)
    return bytes.length
  }

  truncate(size: number): void {
    const file = this.#writable()
    if (size <= file.data.length) file.data = file.data.slice(0, size)
    else this.#grow(file, size)
  }

  getSize(): number {
    return this.#live().data.length
  }

  flush(): void {
    const file = this.#writable()
    if (file.faults.flush) {
      delete file.faults.flush
      throw fail('InvalidStateError', 'flush failed (injected)')
    }
    file.durable = file.data.slice()
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    if (this.readOnly) return void this.file.readers.delete(this)
    this.file.durable = this.file.data.slice()
    this.file.handle = undefined
  }

  get closed(): boolean {
    return this.#closed
  }

  /** The file dies with the tab: its handle is gone, unflushed bytes too. */
  lose(): void {
    this.#closed = true
    if (this.readOnly) return void this.file.readers.delete(this)
    this.file.handle = undefined
    this.file.data = this.file.durable.slice()
  }

  #grow(file: MemoryFile, end: number) {
    if (end <= file.data.length) return
    if (file.shared.used() + (end - file.data.length) > file.shared.quota)
      throw fail('QuotaExceededError', 'The quota has been exceeded.')
    const grown = new Uint8Array(end)
    grown.set(file.data)
    file.data = grown
  }
}

export class MemoryDir {
  readonly kind = 'directory'
  readonly entries_ = new Map<string, MemoryDir | MemoryFile>()

  constructor(
    readonly name: string,
    readonly shared: Shared,
  ) {}

  async getDirectoryHandle(name: string, options: { create?: boolean } = {}): Promise<MemoryDir> {
    const entry = this.entries_.get(name)
    if (entry instanceof MemoryDir) return entry
    if (entry) throw fail('TypeMismatchError', `${name} is a file`)
    if (!options.create) throw fail('NotFoundError', `${name} not found`)
    const dir = new MemoryDir(name, this.shared)
    this.entries_.set(name, dir)
    return dir
  }

  async getFileHandle(name: string, options: { create?: boolean } = {}): Promise<MemoryFile> {
    const entry = this.entries_.get(name)
    if (entry instanceof MemoryFile) return entry
    if (entry) throw fail('TypeMismatchError', `${name} is a directory`)
    if (!options.create) throw fail('NotFoundError', `${name} not found`)
    const file = new MemoryFile(name, this, this.shared)
    this.entries_.set(name, file)
    return file
  }

  async removeEntry(name: string): Promise<void> {
    const entry = this.entries_.get(name)
    if (!entry) throw fail('NotFoundError', `${name} not found`)
    if (entry instanceof MemoryFile && entry.locked)
      throw fail('NoModificationAllowedError', `${name} has an open access handle`)
    if (entry instanceof MemoryDir && entry.entries_.size > 0)
      throw fail('InvalidModificationError', `${name} is not empty`)
    this.entries_.delete(name)
  }

  async *keys(): AsyncIterableIterator<string> {
    for (const name of [...this.entries_.keys()]) yield name
  }

  async *entries(): AsyncIterableIterator<[string, MemoryDir | MemoryFile]> {
    for (const entry of [...this.entries_.entries()]) yield entry
  }

  /** Every file below this directory, by path. */
  files(prefix = ''): Map<string, MemoryFile> {
    const out = new Map<string, MemoryFile>()
    for (const [name, entry] of this.entries_) {
      if (entry instanceof MemoryFile) out.set(prefix + name, entry)
      else for (const [path, file] of entry.files(`${prefix}${name}/`)) out.set(path, file)
    }
    return out
  }

  /** The tab (and the machine) went down: open handles vanish with every unflushed byte. */
  crash(): void {
    for (const file of this.files().values()) {
      for (const reader of [...file.readers]) reader.lose()
      if (file.handle) file.handle.lose()
      else file.data = file.durable.slice()
    }
  }
}

/**
 * A fresh root directory with `quota` bytes of room; `readOnlyMode: false` plays a browser that
 * ignores `{ mode: 'read-only' }` and opens every sync handle exclusively.
 */
export function memoryOpfs(quota = Infinity, { readOnlyMode = true } = {}): MemoryDir {
  let root: MemoryDir | undefined = undefined
  const shared: Shared = {
    quota,
    readOnlyMode,
    used: () => [...root!.files().values()].reduce((sum, f) => sum + f.data.length, 0),
  }
  root = new MemoryDir('', shared)
  return root
}
