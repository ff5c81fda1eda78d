import { X509Certificate } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { parseConfig } from './config.ts'
import { cleanup, start } from './test-helpers.ts'
import { parseTlsConfig } from './tls-config.ts'
import { loadTls, selfSignedTls } from './tls.ts'

afterEach(cleanup)

describe('TLS for npm start', () => {
  it('makes a self-signed certificate for the LAN names, with the fingerprint users compare', async () => {
    const tls = await selfSignedTls(['192.168.1.20', 'dcmx.local'])
    const x509 = new X509Certificate(tls.cert)
    expect(tls.fingerprint).toBe(x509.fingerprint256)
    expect(tls.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
    expect(tls.names).toEqual(['192.168.1.20', 'dcmx.local', 'localhost', '127.0.0.1'])
    expect(x509.checkIP('192.168.1.20')).toBe('192.168.1.20')
    expect(x509.checkHost('dcmx.local')).toBe('dcmx.local')
  })

  it('serves HTTPS and WSS with it', async () => {
    const tls = await selfSignedTls(['127.0.0.1'])
    const server = await start({ tls })
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    expect(server.wsUrl).toMatch(/^wss:/)
  })

  it('loads PEM files, and names the file that is wrong', async () => {
    const tls = await selfSignedTls(['127.0.0.1'])
    const dir = mkdtempSync(join(tmpdir(), 'dcmx-tls-'))
    writeFileSync(join(dir, 'cert.pem'), tls.cert)
    writeFileSync(join(dir, 'key.pem'), tls.key)
    writeFileSync(join(dir, 'junk.pem'), 'not a certificate')
    expect((await loadTls(join(dir, 'cert.pem'), join(dir, 'key.pem'))).fingerprint).toBe(tls.fingerprint)
    await expect(loadTls(join(dir, 'missing.pem'), join(dir, 'key.pem'))).rejects.toThrow(/missing\.pem/)
    await expect(loadTls(join(dir, 'junk.pem'), join(dir, 'key.pem'))).rejects.toThrow(/junk\.pem/)
  })

  it('parses the TLS flags and refuses bad combinations', () => {
    expect(parseTlsConfig(undefined, undefined, undefined)).toEqual({ ok: true, value: undefined })
    expect(parseTlsConfig('c.pem', undefined, undefined).ok).toBe(false)
    expect(parseTlsConfig('c.pem', 'k.pem', 'host').ok).toBe(false)
    expect(parseTlsConfig(undefined, undefined, ' , ').ok).toBe(false)
    const parsed = parseConfig(['--tls-self-signed', '192.168.1.20, dcmx.local'], {})
    expect(parsed.ok && parsed.value.kind === 'run' && parsed.value.config.tls).toEqual({
      kind: 'self-signed',
      names: ['192.168.1.20', 'dcmx.local'],
    })
  })
})
