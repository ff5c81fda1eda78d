import { execFile } from 'node:child_process'
import { isAbsolute, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { DEFAULT_STATIC_DIR, parseConfig, type Config } from './config.ts'

const run = (argv: string[], env: Record<string, string | undefined> = {}): Config => {
  const r = parseConfig(argv, env)
  if (!r.ok) throw new Error(r.error)
  if (r.value.kind !== 'run') throw new Error('expected a run config')
  return r.value.config
}
const failure = (argv: string[], env: Record<string, string | undefined> = {}): string => {
  const r = parseConfig(argv, env)
  if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r.value)}`)
  return r.error
}

// Placeholder ICE server URLs: parsing only, nothing is ever contacted.
const ICE_A = '[{"urls":"ice-server-a.invalid:3478"}]'
const ICE_B = '[{"urls":["ice-server-b.invalid:3478"],"username":"u","credential":"p"}]'

describe('parseConfig', () => {
  it('has defaults for everything', () => {
    expect(run([], {})).toEqual({
      port: 8080,
      host: '0.0.0.0',
      staticDir: DEFAULT_STATIC_DIR,
      iceServers: [],
    })
    expect(isAbsolute(DEFAULT_STATIC_DIR)).toBe(true)
    const repoRoot = fileURLToPath(new URL('..', import.meta.url))
    expect(DEFAULT_STATIC_DIR).toBe(join(repoRoot, 'dist'))
  })

  it('reads the environment', () => {
    const config = run([], {
      PORT: '9000',
      HOST: '127.0.0.1',
      DCMX_STATIC_DIR: '/srv/dcmx',
      DCMX_ICE_SERVERS: ICE_A,
      DCMX_ALLOWED_ORIGINS: 'https://a.example, http://localhost:5173',
    })
    expect(config).toEqual({
      port: 9000,
      host: '127.0.0.1',
      staticDir: '/srv/dcmx',
      iceServers: [{ urls: 'ice-server-a.invalid:3478' }],
      allowedOrigins: ['https://a.example', 'http://localhost:5173'],
    })
  })

  it('lets flags override the environment, in both --flag value and --flag=value forms', () => {
    const env = { PORT: '9000', HOST: '127.0.0.1', DCMX_ICE_SERVERS: ICE_A, DCMX_STATIC_DIR: '/env' }
    const config = run(['--port', '9100', '--host=::1', `--ice-servers=${ICE_B}`, '--static', '/flag'], env)
    expect(config.port).toBe(9100)
    expect(config.host).toBe('::1')
    expect(config.staticDir).toBe('/flag')
    expect(config.iceServers).toEqual([
      { urls: ['ice-server-b.invalid:3478'], username: 'u', credential: 'p' },
    ])
    expect(run(['--port=0'], env).port).toBe(0)
  })

  it('treats an empty environment variable as unset', () => {
    expect(run([], { PORT: '', DCMX_ICE_SERVERS: '' })).toMatchObject({ port: 8080, iceServers: [] })
  })

  it('explains bad ICE server JSON and names where it came from', () => {
    expect(failure([], { DCMX_ICE_SERVERS: '[{' })).toMatch(/^DCMX_ICE_SERVERS: not valid JSON/)
    expect(failure(['--ice-servers', '{"urls":"ice-x"}'])).toMatch(
      /^--ice-servers: not a valid RTCIceServer array/,
    )
    expect(failure(['--ice-servers', '[{"url":"ice-x"}]'])).toMatch(/at 0\.urls/)
    expect(failure(['--ice-servers', '[{"urls":"ice-x","password":"p"}]'])).toMatch(/RTCIceServer/)
  })

  it('rejects bad ports, unknown flags, missing values and non-origins', () => {
    expect(failure(['--port', 'http'])).toMatch(/--port: expected a port number/)
    expect(failure([], { PORT: '70000' })).toMatch(/^PORT:/)
    expect(failure([], { PORT: '-1' })).toMatch(/^PORT:/)
    expect(failure(['--verbose'])).toMatch(/unknown argument "--verbose"/)
    expect(failure(['--port'])).toMatch(/--port needs a value/)
    expect(failure(['--allowed-origins', 'https://a.example/'])).toMatch(/is not an origin/)
    expect(failure(['--allowed-origins', ' , '])).toMatch(/comma-separated/)
  })

  it('answers --help with the usage text', () => {
    const r = parseConfig(['--port', '1', '--help'], {})
    expect(r.ok && r.value.kind === 'help' && r.value.text).toMatch(/--ice-servers <json>\s+DCMX_ICE_SERVERS/)
  })
})

describe('main.ts exit codes', () => {
  const main = fileURLToPath(new URL('./main.ts', import.meta.url))
  const exec = (args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', main, ...args],
        { timeout: 10_000 },
        (error, _out, stderr) =>
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stderr }),
      )
    })

  it('exits 2 with a clear message on invalid ICE servers', async () => {
    const { code, stderr } = await exec(['--ice-servers', 'not json'])
    expect(code).toBe(2)
    expect(stderr).toMatch(/--ice-servers: not valid JSON/)
  })

  it('exits 1 and says to run the build when the static dir has no index.html', async () => {
    const { code, stderr } = await exec(['--static', '/nonexistent/dcmx-dist', '--port', '0'])
    expect(code).toBe(1)
    expect(stderr).toMatch(/npm run build/)
  })
})

describe('parseConfig: per-client settings', () => {
  it('reads --trust-proxy as a switch, DCMX_TRUST_PROXY as a boolean, and refuses anything else', () => {
    expect(run(['--trust-proxy']).trustProxy).toBe(true)
    expect(run(['--trust-proxy', '--port', '1']).port).toBe(1)
    expect(run(['--trust-proxy=false']).trustProxy).toBe(false)
    expect(run([], { DCMX_TRUST_PROXY: '1' }).trustProxy).toBe(true)
    expect(run([]).trustProxy).toBeUndefined()
    expect(failure([], { DCMX_TRUST_PROXY: 'maybe' })).toMatch(/DCMX_TRUST_PROXY: expected true or false/)
  })

  it("accepts '*' alone as any origin, never inside a list", () => {
    expect(run(['--allowed-origins', '*']).allowedOrigins).toEqual(['*'])
    expect(failure(['--allowed-origins', '*,https://a.example'])).toMatch(/cannot be combined/)
  })

  it('reads --max-sockets-per-ip as a positive whole number', () => {
    expect(run(['--max-sockets-per-ip', '200']).maxSocketsPerIp).toBe(200)
    expect(run([], { DCMX_MAX_SOCKETS_PER_IP: '5' }).maxSocketsPerIp).toBe(5)
    expect(failure(['--max-sockets-per-ip', '0'])).toMatch(/--max-sockets-per-ip: expected a whole number/)
    expect(failure(['--max-sockets-per-ip', 'lots'])).toMatch(/whole number/)
  })
})
