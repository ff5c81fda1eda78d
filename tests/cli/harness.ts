import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

/** The `dcmx` launcher, as `npx dcmx` runs it. */
export const DCMX_BIN = resolve(import.meta.dirname, '..', '..', 'bin', 'dcmx.mjs')

export type Run = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** A fresh home in the temp folder; `cleanup` removes it. */
export async function tempHome(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'dcmx-home-'))
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) }
}

const envFor = (home: string, extra: NodeJS.ProcessEnv = {}) => ({
  ...process.env,
  DCMX_HOME: home,
  ...extra,
})

type RunOptions = { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string }

/** Run one dcmx command to its end (bounded: killed after `timeoutMs`). */
export function dcmx(home: string, args: string[], opts: RunOptions = {}): Promise<Run> {
  return spawnDcmx(home, args, opts).done
}

/** Start one dcmx command; `done` settles when it exits (killed after `timeoutMs` at the latest). */
export function spawnDcmx(home: string, args: string[], opts: RunOptions = {}) {
  const child = spawn(process.execPath, [DCMX_BIN, ...args], {
    env: envFor(home, opts.env),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  })
  const done = new Promise<Run>((done) => {
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      done({ code, signal, stdout, stderr })
    })
  })
  return { child, done }
}

/** A running `dcmx start`: its API port, its output so far, and a way to stop (or kill) it. */
export type Started = {
  child: ChildProcessWithoutNullStreams
  api: number
  peerId: string
  output(): string
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/** Start `dcmx start` on `home` and wait until its API listens (bounded). */
export function startNode(home: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Started> {
  const child = spawn(process.execPath, [DCMX_BIN, 'start', '--api', '0', ...args], {
    env: envFor(home, env),
  })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)))
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    return exited
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`dcmx start did not come up:\n${out}`))
    }, 30_000)
    const check = () => {
      const api = /Local API on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1]
      const peerId = /dcmx node ([0-9a-f]{32})/.exec(out)?.[1]
      if (api && peerId) {
        clearTimeout(timer)
        resolve({ child, api: Number(api), peerId, output: () => out, stop })
      }
    }
    child.stdout.on('data', check)
    child.on('close', () => {
      clearTimeout(timer)
      reject(new Error(`dcmx start exited:\n${out}`))
    })
  })
}
