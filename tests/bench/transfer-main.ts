/**
 * The transfer benchmark alone (tests/bench/transfer.ts), printing its markdown section:
 *
 *   npm run build && npx vite build -c vite.bench.config.ts && \
 *     node scripts/netns-run.mjs -- npx tsx tests/bench/transfer-main.ts [--out section.md] [--json result.json]
 *
 * Serves dist/ (or DCMX_DIST) with the real signaling server on an ephemeral port.
 */
import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { startSignaling } from '../../signaling/server.ts'
import { launchChromium } from './browser.ts'
import { measureTransfer, transferMarkdown, type TransferResult } from './transfer.ts'

const root = resolve(import.meta.dirname, '..', '..')
const arg = (name: string) => {
  const at = process.argv.indexOf(name)
  return at === -1 ? undefined : process.argv[at + 1]
}

const server = await startSignaling({
  port: 0,
  host: '127.0.0.1',
  staticDir: process.env.DCMX_DIST ?? resolve(root, 'dist'),
  log: () => {},
})
const browser = await launchChromium()
let result: TransferResult
try {
  result = await measureTransfer(browser, server.url)
} finally {
  await browser.close()
  await server.close()
}
const markdown = transferMarkdown(result)
console.log(`\n${markdown}`)
const out = arg('--out')
if (out) writeFileSync(out, markdown)
const json = arg('--json')
if (json) writeFileSync(json, JSON.stringify(result, null, 2))
