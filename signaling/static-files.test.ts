import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { brotliCompressSync, gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SignalingServer } from './server.ts'
import { cleanup, start } from './test-helpers.ts'

const JS = 'console.log("hello from the app")\n'.repeat(20)

/** A GET/HEAD without fetch's automatic decompression, so encodings and lengths are as sent. */
function raw(server: SignalingServer, path: string, headers: Record<string, string> = {}, method = 'GET') {
  return new Promise<{
    status: number
    headers: Record<string, string | string[] | undefined>
    body: Buffer
  }>((resolve, reject) => {
    const req = request(`${server.url}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      )
    })
    req.on('error', reject)
    req.end()
  })
}

describe('static files', () => {
  let dir: string
  let server: SignalingServer
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dcmx-static-'))
    mkdirSync(join(dir, 'assets'))
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>dcmx</title>')
    writeFileSync(join(dir, 'assets', 'app-1.js'), JS)
    writeFileSync(join(dir, 'assets', 'app-1.js.br'), brotliCompressSync(JS))
    writeFileSync(join(dir, 'assets', 'app-1.js.gz'), gzipSync(JS))
    server = await start({ staticDir: dir })
  })
  afterAll(async () => {
    await cleanup()
    rmSync(dir, { recursive: true, force: true })
  })

  it('sends the Brotli or gzip copy the client accepts, typed as the original', async () => {
    const br = await raw(server, '/assets/app-1.js', { 'Accept-Encoding': 'gzip, br' })
    expect(br.headers['content-encoding']).toBe('br')
    expect(br.headers['content-type']).toMatch(/^text\/javascript|^application\/javascript/)
    expect(br.headers.vary).toBe('Accept-Encoding')
    expect(br.body.equals(brotliCompressSync(JS))).toBe(true)
    const gz = await raw(server, '/assets/app-1.js', { 'Accept-Encoding': 'gzip, br;q=0' })
    expect(gz.headers['content-encoding']).toBe('gzip')
    const plain = await raw(server, '/assets/app-1.js')
    expect(plain.headers['content-encoding']).toBeUndefined()
    expect(plain.body.toString()).toBe(JS)
    expect(plain.headers['cache-control']).toContain('immutable')
  })

  it('answers a range from the identity file, HEAD with no body, and 416 with the policy headers', async () => {
    const part = await raw(server, '/assets/app-1.js', { Range: 'bytes=-6', 'Accept-Encoding': 'br' })
    expect(part.status).toBe(206)
    expect(part.headers['content-encoding']).toBeUndefined()
    expect(part.body.toString()).toBe(JS.slice(-6))
    const head = await raw(server, '/assets/app-1.js', { Range: 'bytes=0-9' }, 'HEAD')
    expect(head.status).toBe(206)
    expect(head.headers['content-length']).toBe('10')
    expect(head.body.length).toBe(0)
    const bad = await raw(server, '/assets/app-1.js', { Range: 'bytes=9-1' })
    expect(bad.status).toBe(416)
    expect(bad.headers['content-range']).toBe(`bytes */${JS.length}`)
    expect(bad.headers['content-security-policy']).toContain("default-src 'self'")
    expect(bad.headers['x-content-type-options']).toBe('nosniff')
  })

  it('answers conditional requests with 304, dotfiles and missing files with 404, routes with the app', async () => {
    const first = await raw(server, '/assets/app-1.js')
    const again = await raw(server, '/assets/app-1.js', { 'If-None-Match': String(first.headers.etag) })
    expect(again.status).toBe(304)
    expect((await raw(server, '/.env')).status).toBe(404)
    expect((await raw(server, '/assets/nope.js')).status).toBe(404)
    const route = await raw(server, '/library/album/42')
    expect(route.status).toBe(200)
    expect(route.body.toString()).toContain('<title>dcmx</title>')
  })
})
