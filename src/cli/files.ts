import { readdir, stat } from 'node:fs/promises'
import { basename, join, relative, resolve } from 'node:path'

/** Most files one `dcmx add` takes: a bound on what a mistyped path (`/`) can queue. */
export const MAX_FILES = 100_000

export type Found = { path: string; name: string } | { path: string; error: string }

/**
 * The files under the given paths, folders walked in name order (symbolic links followed to files,
 * never into folders, so a loop cannot trap the walk). A path that does not exist is reported.
 */
export async function findFiles(paths: string[]): Promise<Found[]> {
  const out: Found[] = []
  const walk = async (dir: string, base: string) => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))
    for (const entry of entries) {
      if (out.length >= MAX_FILES) return
      const path = join(dir, entry.name)
      if (entry.isDirectory()) await walk(path, base)
      else if (
        entry.isFile() ||
        (entry.isSymbolicLink() && (await stat(path).catch(() => undefined))?.isFile())
      )
        out.push({ path, name: relative(base, path) })
    }
  }
  for (const given of paths) {
    const path = resolve(given)
    const info = await stat(path).catch(() => undefined)
    if (!info) out.push({ path, error: 'No such file or folder.' })
    else if (info.isDirectory()) await walk(path, resolve(path, '..'))
    else if (info.isFile()) out.push({ path, name: basename(path) })
    else out.push({ path, error: 'Not a regular file.' })
  }
  return out
}
