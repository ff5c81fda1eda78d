/**
 * The server as it was at an older commit, runnable from this checkout: `signaling/` and `src/core/`
 * extracted with `git archive` under node_modules/.cache (so this checkout's packages resolve), with
 * sirv (no longer installed) replaced by a file server that answers 404 to everything.
 *
 * To watch the adversary suite's attacks work on the server before issue 10:
 *   npx tsx tests/adversary/before.ts ff3bd32      # prints the extracted server.ts
 *   DCMX_ADVERSARY_SERVER=<that path> npx vitest run tests/adversary
 */
import { execSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const root = resolve(import.meta.dirname, '..', '..')

/** Extract the server at `commit`; returns the path of its signaling/server.ts. */
export function extractServerAt(commit: string): string {
  if (!/^[0-9a-f]{7,40}$/.test(commit)) throw new Error(`not a commit id: ${commit}`)
  const dir = join(root, 'node_modules', '.cache', `dcmx-server-${commit}`)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  execSync(`git archive ${commit} signaling src/core | tar -x -C ${JSON.stringify(dir)}`, { cwd: root })
  // ES modules, as in the repository (files under node_modules are outside its package.json's scope).
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n')
  const server = join(dir, 'signaling', 'server.ts')
  writeFileSync(
    server,
    readFileSync(server, 'utf8').replace(
      "import sirv from 'sirv'",
      'const sirv = (..._: unknown[]) => (_req: unknown, res: { statusCode: number; end(): void }) => {' +
        ' res.statusCode = 404; res.end() }',
    ),
  )
  return server
}

/** Remove what extractServerAt wrote. */
export function removeExtracted(server: string): void {
  rmSync(resolve(server, '..', '..'), { recursive: true, force: true })
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(extractServerAt(process.argv[2] ?? 'ff3bd32'))
}
