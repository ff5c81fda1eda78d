/**
 * Real services for the scale-out tests: a `redis-server` (Debian's package, installed by .ci/run) on a
 * free loopback port, and signaling servers as separate processes (`signaling/main.ts --redis`), each
 * started and stopped by the test itself.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { SIGNALING_PATH } from '../src/core/signaling-protocol.ts'

export const REDIS_SERVER = process.env.DCMX_REDIS_SERVER ?? '/usr/bin/redis-server'
const ROOT = resolve(import.meta.dirname, '..')
/** Starting a process (tsx compiling the server on a busy machine) may take a while. */
const START_TIMEOUT_MS = 20_000

/** A free TCP port on 127.0.0.1 (free when asked; the caller binds it right away). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      probe.close(() =>
        typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port')),
      )
    })
  })
}

/** Resolve with the first match of `pattern` on the child's stdout, or reject if it exits or times out. */
function waitForLine(child: ChildProcess, pattern: RegExp, what: string): Promise<RegExpExecArray> {
  return new Promise((resolveLine, reject) => {
    let seen = ''
    const timer = setTimeout(
      () => fail(new Error(`${what} did not start within ${START_TIMEOUT_MS} ms:\n${seen}`)),
      START_TIMEOUT_MS,
    )
    const onData = (chunk: Buffer) => {
      seen += chunk.toString()
      const match = pattern.exec(seen)
      if (match) done(() => resolveLine(match))
    }
    const onExit = (code: number | null) =>
      fail(new Error(`${what} exited (${code}) before it was ready:\n${seen}`))
    const done = (then: () => void) => {
      clearTimeout(timer)
      child.stdout?.off('data', onData)
      child.stderr?.off('data', onData)
      child.off('exit', onExit)
      then()
    }
    const fail = (e: Error) => done(() => reject(e))
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', onExit)
  })
}

/** Wait until the process has exited (resolves at once if it already has). */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode)
  return new Promise((r) => child.once('exit', (code) => r(code)))
}

/** A redis-server of its own: no persistence, so a restart starts empty (the harder case). */
export type RedisProcess = {
  port: number
  url: string
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>
  /** Start again on the same port. */
  restart(): Promise<void>
  stop(): Promise<void>
}

/** Start redis-server on `port` (a free one if not given) and wait until it accepts connections. */
export async function startRedis(port?: number): Promise<RedisProcess> {
  port ??= await freePort()
  let child: ChildProcess | undefined
  const launch = async () => {
    const proc = spawn(
      REDIS_SERVER,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'yes',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    child = proc
    await waitForLine(proc, /Ready to accept connections/, 'redis-server')
  }
  const kill = async () => {
    const proc = child
    child = undefined
    if (!proc) return
    proc.kill('SIGKILL')
    await exited(proc)
  }
  await launch()
  return { port, url: `redis://127.0.0.1:${port}`, kill, restart: launch, stop: kill }
}

/** A signaling server in a process of its own, as `npm run serve -- --redis URL` would run it. */
export type ServerProcess = {
  url: string
  wsUrl: string
  child: ChildProcess
  /** Everything the process printed so far. */
  output(): string
  /** SIGKILL: the server dies without withdrawing its members. */
  kill(): Promise<void>
  /** SIGTERM: a graceful drain; resolves with the exit code. */
  terminate(): Promise<number | null>
}

let staticDir: string | undefined
/** A minimal app to serve (main.ts refuses to start without an index.html). */
function appDir(): string {
  if (staticDir) return staticDir
  staticDir = mkdtempSync(join(tmpdir(), 'dcmx-redis-test-'))
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>DCMX</title>\n')
  return staticDir
}

/** Remove the temporary app directory; call once after all tests. */
export function removeAppDir(): void {
  if (staticDir) rmSync(staticDir, { recursive: true, force: true })
  staticDir = undefined
}

export async function startServerProcess(
  args: string[],
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'signaling/main.ts',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--static',
      appDir(),
      ...args,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  )
  let out = ''
  child.stdout.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr.on('data', (c: Buffer) => (out += c.toString()))
  const match = await waitForLine(child, /DCMX running at (http:\/\/[^/\s]+)\//, 'signaling server')
  const url = match[1]!
  return {
    url,
    wsUrl: `${url.replace(/^http/, 'ws')}${SIGNALING_PATH}`,
    child,
    output: () => out,
    kill: async () => {
      child.kill('SIGKILL')
      await exited(child)
    },
    terminate: async () => {
      child.kill('SIGTERM')
      return exited(child)
    },
  }
}

export const NGINX = process.env.DCMX_NGINX ?? '/usr/sbin/nginx'
/** The load-balancer config the README documents, tested as written. */
export const NGINX_CONFIG = resolve(ROOT, 'docs', 'deploy', 'nginx-dcmx.conf')

/** nginx (Debian's package) in front of `backends` ("127.0.0.1:port"), with docs/deploy/nginx-dcmx.conf. */
export type NginxProcess = { url: string; wsUrl: string; stop(): Promise<void> }

export async function startNginx(backends: string[]): Promise<NginxProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'dcmx-nginx-'))
  const port = await freePort()
  const documented = readFileSync(NGINX_CONFIG, 'utf8')
  const servers = [...documented.matchAll(/^ {4}server 127\.0\.0\.1:\d+ (.*);$/gm)]
  if (servers.length !== 2 || !/^ {4}listen 8080;$/m.test(documented)) {
    throw new Error(`${NGINX_CONFIG} no longer has the two upstreams and the listen line this test swaps`)
  }
  const options = servers[0]![1]
  const config = documented
    .replace(/^ {4}server 127\.0\.0\.1:\d+ .*;\n/gm, '')
    .replace(
      /^(upstream dcmx \{\n(?:.*\n)*? {4}least_conn;\n)/m,
      (head: string) => head + backends.map((b) => `    server ${b} ${options};\n`).join(''),
    )
    .replace(/^ {4}listen 8080;$/m, `    listen 127.0.0.1:${port};`)
  writeFileSync(join(dir, 'dcmx.conf'), config)
  writeFileSync(
    join(dir, 'nginx.conf'),
    [
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      'worker_processes 1;',
      'events { worker_connections 1024; }',
      'http {',
      '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`),
      `  include ${dir}/dcmx.conf;`,
      '}',
      '',
    ].join('\n'),
  )
  const child = spawn(
    NGINX,
    ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', 'daemon off;'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let out = ''
  child.stderr.on('data', (c: Buffer) => (out += c.toString()))
  const url = `http://127.0.0.1:${port}`
  const deadline = performance.now() + START_TIMEOUT_MS
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}): ${out}`)
    const up = await fetch(`${url}/healthz`).then(
      () => true,
      () => false,
    )
    if (up) break
    if (performance.now() > deadline) throw new Error(`nginx did not start: ${out}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    url,
    wsUrl: `ws://127.0.0.1:${port}${SIGNALING_PATH}`,
    stop: async () => {
      child.kill('SIGTERM')
      await exited(child)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
