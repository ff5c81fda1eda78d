import { brotliCompressSync } from 'node:zlib'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request, type IncomingHttpHeaders } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { SIGNALING_PATH } from '../src/core/signaling-protocol.ts'
import { contentSecurityPolicy, PERMISSIONS_POLICY, REFERRER_POLICY, signalingSources } from './headers.ts'
import type { SignalingServer } from './server.ts'
import { cleanup, start } from './test-helpers.ts'

/** The policy as a map from directive to its sources. */
function parsePolicy(policy: string): Map<string, string[]> {
  const directives = new Map<string, string[]>()
  for (const part of policy.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/)
    expect(name, `empty directive in ${policy}`).toBeTruthy()
    expect(directives.has(name!), `${name} twice`).toBe(false)
    directives.set(name!, sources)
  }
  return directives
}

/** A GET with a Host header of our choosing (fetch may not set Host): status and headers. */
function getWithHost(
  server: SignalingServer,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, headers }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('contentSecurityPolicy', () => {
  it('is the strict policy: own origin only, no inline script, no eval, no framing', () => {
    const csp = parsePolicy(contentSecurityPolicy('dcmx.example.org'))
    expect(Object.fromEntries(csp)).toEqual({
      'default-src': ["'self'"],
      'script-src': ["'self'", "'wasm-unsafe-eval'"],
      'worker-src': ["'self'"],
      'connect-src': ["'self'", 'ws://dcmx.example.org', 'wss://dcmx.example.org'],
      'img-src': ["'self'", 'blob:', 'data:'],
      'media-src': ["'self'", 'blob:'],
      'style-src': ["'self'"],
      'object-src': ["'none'"],
      'base-uri': ["'self'"],
      'frame-ancestors': ["'none'"],
      'form-action': ["'self'"],
      'manifest-src': ["'self'"],
    })
    const all = [...csp.values()].flat()
    for (const banned of ["'unsafe-inline'", "'unsafe-eval'", '*', 'http:', 'https:', 'ws:', 'wss:'])
      expect(all).not.toContain(banned)
  })

  it('names the signaling socket on the host and port the page was loaded from', () => {
    expect(signalingSources('localhost:8080')).toEqual(['ws://localhost:8080', 'wss://localhost:8080'])
    expect(signalingSources('10.0.0.7:5173')).toEqual(['ws://10.0.0.7:5173', 'wss://10.0.0.7:5173'])
    expect(signalingSources('DCMX.Example.org')).toEqual(['ws://dcmx.example.org', 'wss://dcmx.example.org'])
  })

  it('falls back to self alone for a Host it cannot name, and never lets one inject a directive', () => {
    const hostile = [
      undefined,
      '',
      '[::1]:8080', // IPv6 literals are not valid CSP host-sources
      "evil.example; script-src 'unsafe-inline'",
      'evil.example *',
      'evil.example,other.example',
      'host:port',
      'a'.repeat(300),
      '-bad.example',
    ]
    for (const host of hostile) {
      expect(signalingSources(host), String(host)).toEqual([])
      const csp = parsePolicy(contentSecurityPolicy(host))
      expect(csp.get('connect-src')).toEqual(["'self'"])
      expect(csp.get('script-src')).toEqual(["'self'", "'wasm-unsafe-eval'"])
      expect(csp.size).toBe(12)
    }
  })
})

describe('headers of the served app', () => {
  let dir = ''
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dcmx-headers-'))
    mkdirSync(join(dir, 'assets'))
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>dcmx</title>')
    writeFileSync(join(dir, 'assets', 'app-1a2b3c.js'), 'console.log(1)')
    writeFileSync(join(dir, 'assets', 'content.worker-4d5e6f.js'), 'self.onmessage = () => {}')
    writeFileSync(join(dir, 'sw.js'), 'self.addEventListener("fetch", () => {})')
    writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>')
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  afterEach(cleanup)

  it('puts the whole set on documents, module workers, the service worker, other files, 404s and 304s', async () => {
    const server = await start({ staticDir: dir })
    const host = `127.0.0.1:${server.port}`
    const paths = [
      '/',
      '/index.html',
      '/library/album/42', // SPA fallback
      '/assets/app-1a2b3c.js',
      '/assets/content.worker-4d5e6f.js',
      '/sw.js',
      '/favicon.svg',
      '/assets/missing-000.js', // 404
    ]
    for (const path of paths) {
      const res = await getWithHost(server, path)
      expect(res.status, path).toBe(path.includes('missing') ? 404 : 200)
      expect(res.headers['content-security-policy'], path).toBe(contentSecurityPolicy(host))
      expect(res.headers['x-content-type-options'], path).toBe('nosniff')
      expect(res.headers['referrer-policy'], path).toBe(REFERRER_POLICY)
      expect(res.headers['permissions-policy'], path).toBe(PERMISSIONS_POLICY)
    }

    // A revalidated document keeps its policy: 304s carry it too.
    const first = await getWithHost(server, '/')
    const etag = String(first.headers.etag)
    const again = await getWithHost(server, '/', { 'If-None-Match': etag })
    expect(again.status).toBe(304)
    expect(again.headers['content-security-policy']).toBe(contentSecurityPolicy(host))
  })

  it('sends the precompressed copy a client accepts, with its policy, and plain bytes otherwise', async () => {
    writeFileSync(join(dir, 'assets', 'big-7a8b9c.js'), 'x'.repeat(4096))
    writeFileSync(join(dir, 'assets', 'big-7a8b9c.js.br'), brotliCompressSync('x'.repeat(4096)))
    const server = await start({ staticDir: dir })
    const br = await getWithHost(server, '/assets/big-7a8b9c.js', { 'Accept-Encoding': 'br, gzip' })
    expect(br.headers['content-encoding']).toBe('br')
    expect(br.headers['vary']).toMatch(/Accept-Encoding/i)
    expect(br.headers['content-security-policy']).toBeDefined()
    const plain = await getWithHost(server, '/assets/big-7a8b9c.js')
    expect(plain.headers['content-encoding']).toBeUndefined()
    expect(plain.headers['content-length']).toBe('4096')
  })

  it('survives files replaced under it (a rebuild or deploy while running)', async () => {
    writeFileSync(join(dir, 'assets', 'gone-1f2e3d.js'), 'y'.repeat(4096))
    writeFileSync(join(dir, 'assets', 'gone-1f2e3d.js.br'), brotliCompressSync('y'.repeat(4096)))
    const server = await start({ staticDir: dir })
    rmSync(join(dir, 'assets', 'gone-1f2e3d.js.br'))
    const plain = await getWithHost(server, '/assets/gone-1f2e3d.js', { 'Accept-Encoding': 'br, gzip' })
    expect(plain.status).toBe(200)
    expect(plain.headers['content-encoding']).toBeUndefined()
    rmSync(join(dir, 'assets', 'gone-1f2e3d.js'))
    expect((await getWithHost(server, '/assets/gone-1f2e3d.js')).status).toBe(404)
    // Still serving.
    expect((await getWithHost(server, '/')).status).toBe(200)
  })

  it('takes the socket origin from the Host the browser used, and only a well-formed one', async () => {
    const server = await start({ staticDir: dir })
    const behindProxy = await getWithHost(server, '/', { Host: 'dcmx.example.org' })
    expect(parsePolicy(String(behindProxy.headers['content-security-policy'])).get('connect-src')).toEqual([
      "'self'",
      'ws://dcmx.example.org',
      'wss://dcmx.example.org',
    ])
    const injected = await getWithHost(server, '/', { Host: "x.example; script-src 'unsafe-inline'" })
    expect(injected.status).toBe(200)
    const csp = String(injected.headers['content-security-policy'])
    expect(csp).not.toContain('unsafe-inline')
    expect(parsePolicy(csp).get('connect-src')).toEqual(["'self'"])
  })

  it('sends nosniff and the referrer policy on the API endpoints too', async () => {
    const server = await start({ staticDir: dir })
    for (const path of ['/healthz', '/metrics', SIGNALING_PATH]) {
      const res = await getWithHost(server, path)
      expect(res.headers['x-content-type-options'], path).toBe('nosniff')
      expect(res.headers['referrer-policy'], path).toBe(REFERRER_POLICY)
    }
  })
})
