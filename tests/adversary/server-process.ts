/**
 * A signaling server in a process of its own, for the adversary suite (an attack that kills the
 * process must not take the test runner with it) and the signaling bench (which measures its
 * memory). Options arrive as JSON in argv[2]; argv[3], if given, is another copy of server.ts to
 * start (the bench's "before"). Prints one line `{"port":…}` once listening, logs to stderr, and
 * exits on SIGTERM.
 */
import { pathToFileURL } from 'node:url'
import type { SignalingOptions, startSignaling as Start } from '../../signaling/server.ts'

const options = JSON.parse(process.argv[2] ?? '{}') as SignalingOptions
const module = process.argv[3] ? pathToFileURL(process.argv[3]).href : '../../signaling/server.ts'
const { startSignaling } = (await import(module)) as { startSignaling: typeof Start }
const server = await startSignaling({
  host: '127.0.0.1',
  port: 0,
  ...options,
  log: (line) => process.stderr.write(`${line}\n`),
})
process.stdout.write(`${JSON.stringify({ port: server.port })}\n`)
// The bench collects garbage before it reads the process's memory (the process runs with --expose-gc).
process.on('SIGUSR2', () => (globalThis as { gc?: () => void }).gc?.())
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0))
})
