/**
 * A signaling server in a child process (server-process.ts), for the adversary suite and the
 * signaling bench: a crasher shows as a dead PID instead of a dead runner, and its memory is its own.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { SIGNALING_PATH } from '../../src/core/signaling-protocol.ts'
import type { SignalingOptions } from '../../signaling/server.ts'

/** A static app with a few files, like dist/. */
export const FAVICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect/></svg>\n'
export const INDEX = '<!doctype html><title>dcmx</title>\n'

const SERVER_SCRIPT = resolve(import.meta.dirname, 'server-process.ts')
const START_TIMEOUT_MS = 15_000
/** Time for a collection asked for by signal to run before memory is read. */
const GC_SETTLE_MS = 300

export type Target = {
  pid: number
  port: number
  url: string
  wsUrl: string
  child: ChildProcess
  /** What the server process wrote to stderr (its log, and a crash's stack trace). */
  stderr(): string
  /** The process has not exited (and is the one we started). */
  alive(): boolean
  /** Resident memory of the server process, in bytes (Linux /proc), after a garbage collection. */
  rss(): Promise<number>
  stop(): Promise<void>
}

const targets: Target[] = []
const sockets: { destroy(): void }[] = []

/** Remember a socket (ws or net) so `stopAll` can destroy it. */
export function track<T extends { destroy(): void }>(socket: T): T {
  sockets.push(socket)
  return socket
}

/**
 * Start a server process with a small static app; options are passed to startSignaling.
 * `serverModule` starts another copy of signaling/server.ts (the bench's "before").
 */
export async function startTarget(options: SignalingOptions = {}, serverModule?: string): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'dcmx-adversary-'))
  writeFileSync(join(dir, 'index.html'), INDEX)
  writeFileSync(join(dir, 'favicon.svg'), FAVICON)
  const child = spawn(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      'tsx',
      SERVER_SCRIPT,
      JSON.stringify({ staticDir: dir, ...options }),
      // DCMX_ADVERSARY_SERVER runs the suite against another copy of the server (see before.ts).
      ...((serverModule ?? process.env.DCMX_ADVERSARY_SERVER)
        ? [serverModule ?? process.env.DCMX_ADVERSARY_SERVER ?? '']
        : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let err = ''
  child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20_000)))
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${err}`)), START_TIMEOUT_MS)
    let out = ''
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const line = /^(\{.*\})\n/m.exec(out)
      if (line) {
        clearTimeout(timer)
        resolvePort((JSON.parse(line[1]!) as { port: number }).port)
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${code}: ${err}`))
    })
  })
  const url = `http://127.0.0.1:${port}`
  const target: Target = {
    pid: child.pid ?? -1,
    port,
    url,
    wsUrl: `ws://127.0.0.1:${port}${SIGNALING_PATH}`,
    child,
    stderr: () => err,
    alive: () => child.exitCode === null && child.signalCode === null,
    rss: async () => {
      child.kill('SIGUSR2')
      await new Promise((r) => setTimeout(r, GC_SETTLE_MS))
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
      return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]) * 1024
    },
    stop: async () => {
      if (target.alive()) {
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
        await exited
        clearTimeout(timer)
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
  targets.push(target)
  return target
}

/** Destroy every tracked socket and stop every target; call from afterEach. */
export async function stopAll(): Promise<void> {
  for (const s of sockets.splice(0)) s.destroy()
  await Promise.all(targets.splice(0).map((t) => t.stop()))
}
