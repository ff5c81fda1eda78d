import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Track } from '../core/catalog.ts'
import { makeWav } from '../../tests/e2e/audio-fixtures.ts'
import { dcmx, spawnDcmx, tempHome } from '../../tests/cli/harness.ts'

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

/** A folder with two good tracks, a WAV cut inside its header (damaged) and a text file (not audio). */
async function mixedFolder(root: string) {
  const dir = join(root, 'album')
  await mkdir(dir, { recursive: true })
  const good1 = makeWav({ name: '01 one.wav', seconds: 3, title: 'One', artist: 'Tester' })
  const good2 = makeWav({ name: '02 two.wav', seconds: 2, hz: 660, title: 'Two', artist: 'Tester' })
  await writeFile(join(dir, good1.name), good1.buffer)
  await writeFile(join(dir, good2.name), good2.buffer)
  await writeFile(join(dir, 'damaged.wav'), good1.buffer.subarray(0, 30))
  await writeFile(join(dir, 'notes.txt'), 'these are liner notes, not audio\n'.repeat(20))
  return { dir, goodHashes: [sha256(good1.buffer), sha256(good2.buffer)].sort() }
}

const listJson = async (home: string) => JSON.parse((await dcmx(home, ['list', '--json'])).stdout) as Track[]

describe('dcmx add, list, rm, verify (no network)', () => {
  it('runs as `npx dcmx` from the clone, with --help for the program and each command', async () => {
    const { execFile } = await import('node:child_process')
    const run = (args: string[]) =>
      new Promise<{ code: number; out: string }>((resolve) =>
        execFile('npx', ['dcmx', ...args], { timeout: 60_000 }, (error, stdout) =>
          resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out: stdout }),
        ),
      )
    const help = await run(['--help'])
    expect(help.code).toBe(0)
    for (const command of ['start', 'add', 'list', 'stats', 'get', 'rm', 'verify', 'peers'])
      expect(help.out).toContain(command)
    const addHelp = await run(['add', '--help'])
    expect(addHelp.out).toContain('Usage: dcmx add [options] <paths...>')
    expect((await run(['frobnicate'])).code).toBe(2)
  }, 60_000)

  it('imports the good files of a folder, names the refused ones with the reason, and dedups a second add', async () => {
    const home = await tempHome()
    try {
      const { dir, goodHashes } = await mixedFolder(home.dir)
      const first = await dcmx(home.dir, ['add', dir])
      expect(first.code).toBe(1)
      expect(first.stdout).toMatch(/added\s+album\/01 one\.wav/)
      expect(first.stdout).toMatch(/refused\s+album\/damaged\.wav\s+This WAVE file looks damaged/)
      expect(first.stdout).toMatch(/refused\s+album\/notes\.txt\s+This is not an audio file/)
      expect(first.stdout).toContain('2 added, 0 already there, 2 refused.')
      expect((await listJson(home.dir)).map((t) => t.contentHash).sort()).toEqual(goodHashes)

      const second = await dcmx(home.dir, ['add', '--json', join(dir, '01 one.wav'), join(dir, '02 two.wav')])
      expect(second.code).toBe(0)
      expect((JSON.parse(second.stdout) as { state: string }[]).map((r) => r.state)).toEqual([
        'duplicate',
        'duplicate',
      ])
      expect(await listJson(home.dir)).toHaveLength(2)

      // Stored exactly as the design lays out: content/<2 hex>/<hash>, whose bytes are the hash.
      for (const hash of goodHashes)
        expect(sha256(await readFile(join(home.dir, 'content', hash.slice(0, 2), hash)))).toBe(hash)
      expect((await dcmx(home.dir, ['verify'])).code).toBe(0)
      const rm = await dcmx(home.dir, ['rm', goodHashes[0]!])
      expect(rm.code).toBe(0)
      expect((await listJson(home.dir)).map((t) => t.contentHash)).toEqual([goodHashes[1]])
      expect((await dcmx(home.dir, ['rm', goodHashes[0]!])).code).toBe(4)
      expect((await dcmx(home.dir, ['rm', 'not-a-hash'])).code).toBe(2)
    } finally {
      await home.cleanup()
    }
  }, 60_000)

  it('verify names a blob whose bytes were damaged on disk and exits 1', async () => {
    const home = await tempHome()
    try {
      const { dir, goodHashes } = await mixedFolder(home.dir)
      await dcmx(home.dir, ['add', dir])
      const path = join(home.dir, 'content', goodHashes[0]!.slice(0, 2), goodHashes[0]!)
      const bytes = await readFile(path)
      bytes[100] = bytes[100]! ^ 0xff
      await writeFile(path, bytes)
      const run = await dcmx(home.dir, ['verify'])
      expect(run.code).toBe(1)
      expect(run.stdout).toContain(`damaged  ${goodHashes[0]}`)
      expect(run.stdout).toContain('1 of 2 verified, 1 damaged')
    } finally {
      await home.cleanup()
    }
  }, 60_000)

  it('SIGKILL of dcmx add mid-write never leaves a listed track whose bytes fail their hash', async () => {
    const home = await tempHome()
    try {
      const TRIALS = 10
      let killed = 0
      for (let trial = 0; trial < TRIALS; trial++) {
        // A new 26 MB track each trial, so each kill lands on an import that would add a track.
        const dir = join(home.dir, `trial-${trial}`)
        await mkdir(dir)
        const wav = makeWav({ name: `t${trial}.wav`, seconds: 600, sampleRate: 22_050, hz: 200 + 37 * trial })
        await writeFile(join(dir, wav.name), wav.buffer)
        // What the last kill left in tmp/ would fire the wait below early (the next add sweeps it anyway).
        const tmp = join(home.dir, 'tmp')
        await rm(tmp, { recursive: true, force: true })
        const run = spawnDcmx(home.dir, ['add', dir])
        // Kill once the import is writing its temporary (mid-write), at a varying moment within it.
        for (let waited = 0; waited < 30_000; waited += 5) {
          if ((await readdir(tmp).catch(() => [])).length > 0 || run.child.exitCode !== null) break
          await new Promise((r) => setTimeout(r, 5))
        }
        await new Promise((r) => setTimeout(r, (trial * 37) % 120))
        run.child.kill('SIGKILL')
        if ((await run.done).signal === 'SIGKILL') killed++
        const tracks = await listJson(home.dir)
        for (const t of tracks) {
          const bytes = await readFile(join(home.dir, 'content', t.contentHash.slice(0, 2), t.contentHash))
          expect(sha256(bytes)).toBe(t.contentHash)
        }
      }
      // Most kills really landed while `add` ran (not after it had finished): how many depends on
      // the machine's speed against the delays above, so this asks for a majority, not all.
      expect(killed).toBeGreaterThanOrEqual(TRIALS / 2)
      const verify = await dcmx(home.dir, ['verify'])
      expect(verify.stdout).not.toContain('damaged  ')
    } finally {
      await home.cleanup()
    }
  }, 180_000)
})
