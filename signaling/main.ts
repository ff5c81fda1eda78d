/** Entry point of `npm start` / `npm run serve`: the built app and the signaling endpoint on one port. */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { SIGNALING_PATH } from '../src/core/signaling-protocol.ts'
import { parseConfig } from './config.ts'
import { startSignaling } from './server.ts'
import { resolveTls } from './tls-config.ts'

/** On SIGTERM, members are told to reconnect (to another server) at a random moment within this. */
const DRAIN_MS = 3_000
/** How long a graceful shutdown may take, draining included, before the process exits anyway. */
const SHUTDOWN_TIMEOUT_MS = DRAIN_MS + 5_000

const parsed = parseConfig(process.argv.slice(2), process.env)
if (!parsed.ok) {
  console.error(`dcmx: ${parsed.error}`)
  process.exit(2)
}
if (parsed.value.kind === 'help') {
  process.stdout.write(parsed.value.text)
  process.exit(0)
}
const { config } = parsed.value

if (!existsSync(join(config.staticDir, 'index.html'))) {
  console.error(
    `dcmx: no built app in ${config.staticDir} (index.html is missing).\n` +
      `Run \`npm run build\` first (\`npm start\` builds and then serves), or pass --static <dir>.`,
  )
  process.exit(1)
}

try {
  const tls = config.tls ? await resolveTls(config.tls) : undefined
  const { tls: _tlsConfig, ...rest } = config
  const server = await startSignaling({ ...rest, ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}) })
  const wsBase = server.url.replace(/^http/, 'ws')
  console.log(`DCMX running at ${server.url}/ (signaling at ${wsBase}${SIGNALING_PATH})`)
  if (tls) {
    console.log(`TLS certificate for ${tls.names.join(', ')}`)
    console.log(`  SHA-256 fingerprint: ${tls.fingerprint}`)
    if (config.tls?.kind === 'self-signed')
      console.log('  self-signed: check this fingerprint in the browser before accepting the warning')
  }

  let stopping = false
  // SIGTERM (an orchestrator replacing this server) drains; SIGINT (Ctrl-C) closes at once.
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      console.error(`dcmx: second ${signal}, exiting now`)
      process.exit(1)
    }
    stopping = true
    console.log(`dcmx: ${signal}, shutting down`)
    setTimeout(() => {
      console.error('dcmx: shutdown timed out')
      process.exit(1)
    }, SHUTDOWN_TIMEOUT_MS).unref()
    server.close({ drainMs: signal === 'SIGTERM' ? DRAIN_MS : 0 }).then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(`dcmx: error while shutting down: ${String(e)}`)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
} catch (e) {
  const code = (e as { code?: string }).code
  const hint = code === 'EADDRINUSE' ? ` (port ${config.port} is taken; try --port)` : ''
  console.error(`dcmx: could not start: ${e instanceof Error ? e.message : String(e)}${hint}`)
  process.exit(1)
}
