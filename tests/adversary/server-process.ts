/**
 * A signaling server in a process of its own, for the adversary suite: an attack that kills the
 * process must not take the test runner with it. Options arrive as JSON in argv[2]; the process
 * prints one line `{"port":…}` once listening, logs to stderr, and exits on SIGTERM.
 */
import { startSignaling, type SignalingOptions } from '../../signaling/server.ts'

const options = JSON.parse(process.argv[2] ?? '{}') as SignalingOptions
const server = await startSignaling({
  host: '127.0.0.1',
  port: 0,
  ...options,
  log: (line) => process.stderr.write(`${line}\n`),
})
process.stdout.write(`${JSON.stringify({ port: server.port })}\n`)
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0))
})
