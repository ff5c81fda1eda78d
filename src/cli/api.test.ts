import { createHash } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Track } from '../core/catalog.ts'
import { startSignaling, type SignalingServer } from '../../signaling/server.ts'
import { makeWav } from '../../tests/e2e/audio-fixtures.ts'
import { dcmx, startNode, tempHome, type Started } from '../../tests/cli/harness.ts'

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

/** One raw HTTP GET to the API, with the headers given (fetch would not let a test set Host). */
function get(port: number, path: string, headers: Record<string, string> = {}) {
  return new Promise<{
    status: number
    headers: Record<string, string | string[] | undefined>
    body: Buffer
  }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      )
    })
    req.on('error', reject)
    req.end()
  })
}

describe('dcmx start: one owner per home, the local API, and add handed to the running node', () => {
  let signaling: SignalingServer
  let home: Awaited<ReturnType<typeof tempHome>>
  let node: Started
  const song = makeWav({
    name: 'api.wav',
    seconds: 20,
    sampleRate: 22_050,
    title: 'Api Song',
    artist: 'Local',
  })
  const songHash = sha256(song.buffer)

  beforeAll(async () => {
    signaling = await startSignaling({ port: 0, host: '127.0.0.1', log: () => {} })
    home = await tempHome()
    await writeFile(join(home.dir, song.name), song.buffer)
    node = await startNode(home.dir, ['--server', signaling.url, '--room', 'api-test'])
  }, 60_000)

  afterAll(async () => {
    await node?.stop()
    await signaling?.close()
    await home?.cleanup()
  })

  it('refuses a second dcmx start on the same home with a sentence naming the holder', async () => {
    const second = await dcmx(home.dir, ['start', '--api', '0', '--server', signaling.url])
    expect(second.code).toBe(3)
    expect(second.stderr).toContain(
      `Another dcmx process (pid ${node.child.pid}, "dcmx start") is using ${home.dir}`,
    )
  })

  it('takes a dcmx add from another terminal through the token-guarded API and lists it within seconds', async () => {
    const started = Date.now()
    // A relative path, as typed in another terminal: it is resolved there, not in the node's folder.
    const add = await dcmx(home.dir, ['add', song.name], { cwd: home.dir })
    expect(add.code).toBe(0)
    expect(add.stdout).toContain('1 added')
    const tracks = JSON.parse((await get(node.api, '/tracks')).body.toString()) as Track[]
    expect(tracks.map((t) => t.contentHash)).toEqual([songHash])
    expect(Date.now() - started).toBeLessThan(15_000)
    expect(node.output()).toMatch(/Library now 1 track\(s\); announcing to the mesh\./)
    // list, stats and verify in another terminal also go to the running node.
    expect((await dcmx(home.dir, ['list'])).stdout).toContain('Api Song')
    const stats = JSON.parse((await dcmx(home.dir, ['stats', '--json'])).stdout)
    expect(stats).toMatchObject({ running: true, tracks: 1, peerId: node.peerId })
    expect((await dcmx(home.dir, ['verify'])).code).toBe(0)
  })

  it('answers /ping, /tracks, /peers and /stats', async () => {
    const ping = await get(node.api, '/ping')
    expect(ping.status).toBe(200)
    expect(JSON.parse(ping.body.toString())).toEqual({ ok: true, peerId: node.peerId })
    for (const path of ['/tracks', '/peers', '/stats']) {
      const res = await get(node.api, path)
      expect(res.status).toBe(200)
      expect(res.headers['content-type']).toBe('application/json')
      expect(() => JSON.parse(res.body.toString())).not.toThrow()
    }
    expect((await get(node.api, '/nothing')).status).toBe(404)
  })

  it('serves /content/<hash> ranges with exactly the right bytes, audio type and inert headers', async () => {
    const size = song.buffer.length
    const cases: [string, number, number][] = [
      ['bytes=0-0', 0, 1],
      ['bytes=1000-1999', 1000, 2000],
      ['bytes=262140-262150', 262_140, 262_151],
      [`bytes=${size - 10}-`, size - 10, size],
      ['bytes=-100', size - 100, size],
    ]
    for (const [range, start, end] of cases) {
      const res = await get(node.api, `/content/${songHash}`, { Range: range })
      expect(res.status, range).toBe(206)
      expect(res.headers['content-range']).toBe(`bytes ${start}-${end - 1}/${size}`)
      expect(res.body.equals(song.buffer.subarray(start, end)), range).toBe(true)
      expect(res.headers['content-type']).toBe('audio/wav')
      expect(res.headers['content-security-policy']).toBe("default-src 'none'; sandbox")
      expect(res.headers['x-content-type-options']).toBe('nosniff')
      expect(res.headers['content-disposition']).toBe('inline')
    }
    expect((await get(node.api, `/content/${songHash}`, { Range: `bytes=${size}-` })).status).toBe(416)
    expect((await get(node.api, `/content/${'0'.repeat(64)}`)).status).toBe(404)
  })

  it('refuses requests that do not name loopback (DNS rebinding) and state changes without the token', async () => {
    const rebound = await get(node.api, '/tracks', { Host: `evil.example:${node.api}` })
    expect(rebound.status).toBe(403)
    const noToken = await fetch(`http://127.0.0.1:${node.api}/actions/rm`, {
      method: 'POST',
      body: JSON.stringify({ hash: songHash }),
    })
    expect(noToken.status).toBe(401)
    const wrongToken = await fetch(`http://127.0.0.1:${node.api}/actions/rm`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${'0'.repeat(48)}` },
      body: JSON.stringify({ hash: songHash }),
    })
    expect(wrongToken.status).toBe(401)
    expect(JSON.parse((await get(node.api, '/tracks')).body.toString())).toHaveLength(1)
    // The token file is private to this user.
    const { stat } = await import('node:fs/promises')
    expect((await stat(join(home.dir, 'api.token'))).mode & 0o077).toBe(0)
    expect((await stat(join(home.dir, 'identity.key'))).mode & 0o077).toBe(0)
    expect((await readFile(join(home.dir, 'api.token'), 'utf8')).length).toBeGreaterThan(30)
  })
})
