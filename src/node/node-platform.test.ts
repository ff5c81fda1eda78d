import { spawn } from 'node:child_process'
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { PIECE_SIZE } from '../core/content.ts'
import { DcmxError } from '../core/errors.ts'
import { peerIdOf } from '../core/identity.ts'
import { referenceDigest } from '../core/testing/memory-store.ts'
import { resolveSettings } from '../cli/config.ts'
import { writeFileAtomic } from './atomic.ts'
import { FileCatalog } from './file-catalog.ts'
import { diskFile, FsContentStore } from './fs-store.ts'
import { HomeLock, HomeLockedError } from './home-lock.ts'
import { loadKeyFile } from './identity-file.ts'
import { KEPT_LOGS, MAX_LOG_BYTES, NodeLogs } from './logs.ts'
import { NodeDigester, PARALLEL_FROM_BYTES } from './node-digest.ts'
import { verifiedRead } from './verified-read.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dcmx-node-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('home lock', () => {
  it('refuses a second holder with a sentence, and is free again once released', async () => {
    const path = join(dir, 'dcmx.lock')
    const first = await HomeLock.acquire(path, dir, 'start')
    const error = await HomeLock.acquire(path, dir, 'add').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(HomeLockedError)
    expect((error as Error).message).toBe(
      `Another dcmx process (pid ${process.pid}, "dcmx start") is using ${dir}; wait for it to finish, stop it, or pass a different --home.`,
    )
    await first.release()
    await (await HomeLock.acquire(path, dir, 'add')).release()
  })

  it('breaks a lock whose process is dead (a SIGKILLed dcmx) at once', async () => {
    const child = spawn(process.execPath, ['-e', ''])
    const pid = child.pid!
    await new Promise((r) => child.on('close', r))
    const path = join(dir, 'dcmx.lock')
    await writeFile(path, JSON.stringify({ pid, nonce: 'dead', command: 'add', startedAt: 0 }))
    const lock = await HomeLock.acquire(path, dir, 'start')
    expect(JSON.parse(await readFile(path, 'utf8')).pid).toBe(process.pid)
    await lock.release()
  })
})

describe('file content store', () => {
  it('ingests with the same digest as the reference, commits atomically, and sweeps dead temporaries', async () => {
    const store = new FsContentStore(join(dir, 'content'), join(dir, 'tmp'))
    await import('node:fs/promises').then((fs) =>
      Promise.all([fs.mkdir(join(dir, 'content')), fs.mkdir(join(dir, 'tmp'))]),
    )
    const bytes = new Uint8Array(PIECE_SIZE * 2 + 1234).map((_, i) => (i * 7) % 251)
    const staged = await store.ingest(new Blob([bytes]))
    expect(staged.digest).toEqual(referenceDigest(bytes))
    expect(await store.has(staged.digest.contentHash)).toBe(false)
    await staged.commit()
    expect(await store.list()).toEqual([staged.digest.contentHash])
    expect(await store.read(staged.digest.contentHash, 10, 20)).toEqual(bytes.subarray(10, 20))
    // A file on disk takes the shared-memory copy path, with the piece worker for a large one.
    const big = new Uint8Array(PARALLEL_FROM_BYTES * 2 + 777).map((_, i) => (i * 13 + (i >> 16)) % 256)
    await writeFile(join(dir, 'big.bin'), big)
    const fromDisk = await store.ingest(await diskFile(join(dir, 'big.bin'), 'big.bin'))
    expect(fromDisk.digest).toEqual(referenceDigest(big))
    await fromDisk.commit()
    expect(await store.verify(fromDisk.digest.contentHash)).toBe(true)
    await writeFile(join(dir, 'tmp', 'left-by-a-crash'), 'x')
    expect(await store.sweep()).toBe(1)
    expect(await readdir(join(dir, 'tmp'))).toEqual([])
  })
})

describe('digester', () => {
  it('computes the reference digest inline and with the piece worker, across odd chunk sizes', async () => {
    const bytes = new Uint8Array(PARALLEL_FROM_BYTES + PIECE_SIZE / 3).map(
      (_, i) => (i * 31 + (i >> 12)) % 256,
    )
    for (const hint of [0, bytes.length]) {
      const digester = new NodeDigester(hint)
      for (let at = 0, step = 100_003; at < bytes.length; at += step)
        await digester.update(bytes.subarray(at, at + step))
      expect(await digester.finish()).toEqual(referenceDigest(bytes))
    }
  })
})

describe('verified reads', () => {
  it('refuses a range touching a piece whose stored bytes no longer match its hash', async () => {
    const bytes = new Uint8Array(PIECE_SIZE * 3).map((_, i) => i % 256)
    const d = referenceDigest(bytes)
    const track = { ...d, pieceSize: PIECE_SIZE, contentHash: d.contentHash } as never
    const stored = bytes.slice()
    stored[PIECE_SIZE * 2 + 5] = stored[PIECE_SIZE * 2 + 5]! ^ 0xff
    const damaged: number[] = []
    const read = verifiedRead(
      () => track,
      async (_h, s, e) => stored.slice(s, e),
      (_h, piece) => damaged.push(piece),
    )
    expect(await read(d.contentHash, 100, PIECE_SIZE + 100)).toEqual(bytes.subarray(100, PIECE_SIZE + 100))
    await expect(read(d.contentHash, PIECE_SIZE * 2, PIECE_SIZE * 2 + 10)).rejects.toMatchObject({
      code: 'HASH_MISMATCH',
    })
    expect(damaged).toEqual([2])
  })
})

describe('file catalog', () => {
  it('survives a reload and skips entries that fail the schema', async () => {
    const path = join(dir, 'tracks.json')
    const catalog = new FileCatalog(path, dir)
    const d = referenceDigest(new Uint8Array([1, 2, 3]))
    const track = {
      ...d,
      mime: 'audio/wav',
      container: 'WAVE',
      title: 't',
      pieceSize: PIECE_SIZE,
      fileName: 'a.wav',
      addedAt: 1,
      source: 'local',
    }
    expect(await catalog.add(track)).toBe(true)
    expect(await catalog.add(track)).toBe(false)
    const file = JSON.parse(await readFile(path, 'utf8'))
    file.tracks.push({ contentHash: 'not a hash', title: '<script>' })
    await writeFile(path, JSON.stringify(file))
    const reloaded = new FileCatalog(path, dir)
    expect(await reloaded.list()).toEqual([track])
    expect(reloaded.invalid).toBe(1)
  })

  it('coalesces a burst of changes into a couple of whole-file writes, and each add waits for its own', async () => {
    const path = join(dir, 'tracks.json')
    const writes: number[] = []
    const catalog = new FileCatalog(path, dir, async (p, text) => {
      writes.push(JSON.parse(text).tracks.length)
      await writeFileAtomic(p, text)
    })
    const tracks = Array.from({ length: 200 }, (_, i) => ({
      ...referenceDigest(new Uint8Array([i, i >> 8, 7])),
      mime: 'audio/wav',
      container: 'WAVE',
      title: `t${i}`,
      pieceSize: PIECE_SIZE,
      fileName: `${i}.wav`,
      addedAt: i,
      source: 'local',
    }))
    await Promise.all(
      tracks.map(async (t) => {
        await catalog.add(t)
        // Resolved only once a write that holds this track is on disk.
        const onDisk = JSON.parse(await readFile(path, 'utf8')).tracks as { contentHash: string }[]
        expect(onDisk.some((x) => x.contentHash === t.contentHash)).toBe(true)
      }),
    )
    expect(writes.length).toBeLessThanOrEqual(2)
    expect(writes.at(-1)).toBe(200)
    expect((await new FileCatalog(path, dir).list()).length).toBe(200)
  })
})

describe('key file', () => {
  it('makes an Ed25519 key (mode 0600) whose peer id is the tab’s derivation, and keeps it across loads', async () => {
    const path = join(dir, 'identity.key')
    const first = await loadKeyFile(path)
    expect(first.alg).toBe('Ed25519')
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect(first.peerId).toBe(await peerIdOf(crypto.subtle, first.publicKey))
    expect((await loadKeyFile(path)).peerId).toBe(first.peerId)
    const sig = await first.sign(new Uint8Array([1, 2, 3]))
    const key = await crypto.subtle.importKey(
      'spki',
      first.publicKey as BufferSource,
      { name: 'Ed25519' },
      false,
      ['verify'],
    )
    expect(
      await crypto.subtle.verify({ name: 'Ed25519' }, key, sig as BufferSource, new Uint8Array([1, 2, 3])),
    ).toBe(true)
  })

  it('refuses a key file other users can read', async () => {
    const path = join(dir, 'identity.key')
    await loadKeyFile(path)
    await chmod(path, 0o644)
    await expect(loadKeyFile(path)).rejects.toThrow(/can be read by other users .*chmod 600/)
  })
})

describe('logs', () => {
  it('rotate at their size bound and keep a bounded number of old files', async () => {
    const logs = new NodeLogs(dir)
    const line = 'x'.repeat(1000)
    for (let i = 0; i < (MAX_LOG_BYTES / 1000) * (KEPT_LOGS + 2); i++) logs.write('network', 'info', line)
    const names = (await readdir(dir)).sort()
    expect(names).toEqual([
      'network.log',
      ...Array.from({ length: KEPT_LOGS }, (_, i) => `network.log.${i + 1}`),
    ])
    for (const name of names) expect((await stat(join(dir, name))).size).toBeLessThanOrEqual(MAX_LOG_BYTES)
    logs.write('node', 'warn', 'a warning\nwith a newline')
    expect(await readFile(join(dir, 'errors.log'), 'utf8')).toMatch(
      /WARN a warning with a newline \[node\]\n$/,
    )
  })
})

describe('settings', () => {
  it('take flags over env over config.yaml over defaults, and name the source of a bad value', async () => {
    const path = join(dir, 'config.yaml')
    await writeFile(path, 'server: https://dcmx.example.org\nroom: from-file\nlinks: 12\n')
    expect(
      await resolveSettings(path, { room: 'from-flag' }, { DCMX_ROOM: 'from-env', DCMX_LINKS: '20' }),
    ).toEqual({
      server: 'https://dcmx.example.org/',
      room: 'from-flag',
      links: 20,
      api: 8090,
    })
    await expect(resolveSettings(path, { links: '0' }, {})).rejects.toThrow(
      'links from --links must be a whole number from 1 to 64.',
    )
    await writeFile(path, 'serevr: typo\n')
    await expect(resolveSettings(path, {}, {})).rejects.toBeInstanceOf(DcmxError)
  })
})
