import { randomBytes } from 'node:crypto'
import { open, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/** A temporary name beside `path` (same folder, so the rename cannot cross file systems). */
export const tempBeside = (path: string): string =>
  join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)

/** Flush a folder's entries, so a rename into it survives a power cut. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/**
 * Replace `path` with `data` so that a crash at any moment leaves either the old file or the new
 * one, never a mix: write a temporary, fsync it, rename it over the old one, fsync the folder.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  mode = 0o600,
  /** false: rename without the fsyncs — atomic against a killed process, not against a power cut. */
  durable = true,
): Promise<void> {
  const tmp = tempBeside(path)
  const handle = await open(tmp, 'wx', mode)
  try {
    await handle.writeFile(data)
    if (durable) await handle.sync()
  } catch (error) {
    await handle.close().catch(() => {})
    await unlink(tmp).catch(() => {})
    throw error
  } finally {
    await handle.close().catch(() => {})
  }
  try {
    await rename(tmp, path)
  } catch (error) {
    await unlink(tmp).catch(() => {})
    throw error
  }
  if (durable) await fsyncDir(dirname(path))
}
