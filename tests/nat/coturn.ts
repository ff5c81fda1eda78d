/**
 * A real coturn (Debian's `turnserver`) for tests: started on a free port with the TURN REST
 * shared secret, stopped by `close()`. Optionally inside a network namespace (`netns`).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { once } from 'node:events'

export type Coturn = {
  port: number
  /** coturn's log so far (for diagnosing a failed test). */
  log(): string
  close(): Promise<void>
}

export type CoturnOptions = {
  /** Address coturn listens and relays on. */
  ip: string
  secret: string
  realm: string
  port?: number
  /** Run it inside this network namespace. */
  netns?: string
  /** UDP ports for relayed allocations. */
  relayPorts?: [number, number]
  extraArgs?: string[]
}

/** How long coturn may take to answer its first STUN binding before the start counts as failed. */
const START_TIMEOUT_MS = 5_000

/** A free UDP port on 127.0.0.1, chosen by the kernel. */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4')
  socket.bind(0, '127.0.0.1')
  await once(socket, 'listening')
  const { port } = socket.address()
  socket.close()
  return port
}

export async function startCoturn(opts: CoturnOptions): Promise<Coturn> {
  const port = opts.port ?? (await freeUdpPort())
  const [minPort, maxPort] = opts.relayPorts ?? [49_152, 49_407]
  const args = [
    '-n', // no configuration file
    `--listening-ip=${opts.ip}`,
    `--relay-ip=${opts.ip}`,
    `--listening-port=${port}`,
    `--min-port=${minPort}`,
    `--max-port=${maxPort}`,
    '--use-auth-secret',
    `--static-auth-secret=${opts.secret}`,
    `--realm=${opts.realm}`,
    '--fingerprint',
    '--no-cli',
    '--no-tls',
    '--no-dtls',
    '--no-software-attribute',
    '--log-file=stdout',
    '--simple-log',
    '--pidfile=/dev/null',
    ...(opts.extraArgs ?? []),
  ]
  const argv = opts.netns
    ? ['ip', 'netns', 'exec', opts.netns, 'turnserver', ...args]
    : ['turnserver', ...args]
  const child: ChildProcess = spawn(argv[0] ?? 'turnserver', argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()))
  const exited = once(child, 'exit')
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 2_000)
      await exited
      clearTimeout(timer)
    }
  }
  const started = Date.now()
  while (!/listener opened on|Total General servers/.test(output)) {
    if (child.exitCode !== null) throw new Error(`coturn exited at start:\n${output}`)
    if (Date.now() - started > START_TIMEOUT_MS) {
      await close()
      throw new Error(`coturn did not start within ${START_TIMEOUT_MS} ms:\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return { port, log: () => output, close }
}
