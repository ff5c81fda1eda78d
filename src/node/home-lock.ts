import { randomBytes } from 'node:crypto'
import { link, readFile, stat, unlink, writeFile } from 'node:fs/promises'
import { DcmxError } from '../core/errors.ts'
import { tempBeside, writeFileAtomic } from './atomic.ts'

/** What the lock file says about the process that holds the home. */
export type LockInfo = {
  pid: number
  /** Random per holder, so a process can tell its own lock from one that replaced it. */
  nonce: string
  command: string
  startedAt: number
  /** The running node's local API port (`start` only). */
  api?: number
}

/** A break-in file older than this belongs to a process that died while breaking a stale lock. */
const BREAK_STALE_MS = 10_000

/** The home is held by another live dcmx process. */
export class HomeLockedError extends DcmxError {
  constructor(
    readonly holder: LockInfo,
    home: string,
  ) {
    super(
      'UNSUPPORTED',
      `Another dcmx process (pid ${holder.pid}, "dcmx ${holder.command}") is using ${home}; wait for it to finish, stop it, or pass a different --home.`,
    )
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists but belongs to someone else — still alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function readLock(path: string): Promise<LockInfo | undefined> {
  try {
    const info = JSON.parse(await readFile(path, 'utf8')) as LockInfo
    return Number.isInteger(info.pid) && typeof info.nonce === 'string' ? info : undefined
  } catch {
    return undefined
  }
}

/** The live holder of the home's lock, if any (a lock left by a dead process does not count). */
export async function lockHolder(path: string): Promise<LockInfo | undefined> {
  const info = await readLock(path)
  return info && alive(info.pid) ? info : undefined
}

/**
 * One process owns a home at a time: an exclusive lock file created with link(2) (atomic, fails if
 * it exists) that names the holder's pid. A lock whose pid is dead is stale and is broken at once
 * (under a short break-in file, so two processes cannot both break it), so a SIGKILLed process
 * never blocks the home.
 */
export class HomeLock {
  private constructor(
    readonly path: string,
    private info: LockInfo,
  ) {}

  static async acquire(path: string, home: string, command: string): Promise<HomeLock> {
    const info: LockInfo = {
      pid: process.pid,
      nonce: randomBytes(12).toString('hex'),
      command,
      startedAt: Date.now(),
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      const tmp = tempBeside(path)
      await writeFile(tmp, JSON.stringify(info), { mode: 0o600 })
      try {
        await link(tmp, path)
        const written = await readLock(path)
        if (written?.nonce === info.nonce) return new HomeLock(path, info)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      } finally {
        await unlink(tmp).catch(() => {})
      }
      const holder = await readLock(path)
      if (holder && alive(holder.pid)) throw new HomeLockedError(holder, home)
      await breakStale(path, holder)
    }
    const holder = await readLock(path)
    if (holder) throw new HomeLockedError(holder, home)
    throw new DcmxError('UNSUPPORTED', `Could not lock ${home}; try again.`)
  }

  get nonce(): string {
    return this.info.nonce
  }

  /** Record the API port in the lock, for other dcmx commands to find the running node. */
  async advertise(api: number): Promise<void> {
    this.info = { ...this.info, api }
    await writeFileAtomic(this.path, JSON.stringify(this.info))
  }

  async release(): Promise<void> {
    const current = await readLock(this.path)
    if (current?.nonce === this.info.nonce) await unlink(this.path).catch(() => {})
  }
}

/** Remove a stale lock, unless another process is already doing so or it changed meanwhile. */
async function breakStale(path: string, seen: LockInfo | undefined) {
  const breaker = `${path}.break`
  try {
    await writeFile(breaker, String(process.pid), { flag: 'wx', mode: 0o600 })
  } catch {
    const age = await stat(breaker).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    )
    if (age > BREAK_STALE_MS) await unlink(breaker).catch(() => {})
    await new Promise((r) => setTimeout(r, 50))
    return
  }
  try {
    const now = await readLock(path)
    if (now?.nonce === seen?.nonce && !(now && alive(now.pid))) await unlink(path).catch(() => {})
  } finally {
    await unlink(breaker).catch(() => {})
  }
}
