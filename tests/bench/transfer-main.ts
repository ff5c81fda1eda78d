/**
 * The transfer benchmark alone (tests/bench/transfer.ts), printing its markdown section:
 *
 *   npm run build && npx vite build -c vite.bench.config.ts && \
 *     node scripts/netns-run.mjs -- npx tsx tests/bench/transfer-main.ts [--out section.md] [--json result.json]
 *
 * Serves dist/ (or DCMX_DIST) with the real signaling server on an ephemeral port.
 * TRANSFER_PROFILE=memory puts the four nodes in off-the-record contexts instead of pages of one
 * browser with a profile on disk (the default, as a user's browser is).
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

// On every address of the (private) namespace: the nodes of a disk profile are on 127.0.0.1–4.
const server = await startSignaling({
  port: 0,
  host: '0.0.0.0',
  staticDir: process.env.DCMX_DIST ?? resolve(root, 'dist'),
  log: () => {},
})
const browser = await launchChromium()
let result: TransferResult
try {
  const profile = process.env.TRANSFER_PROFILE
  if (profile !== undefined && profile !== 'disk' && profile !== 'memory')
    throw new Error(`TRANSFER_PROFILE: expected disk or memory, not ${profile}`)
  const url = `http://127.0.0.1:${new URL(server.url).port}`
  result = await measureTransfer(browser, url, profile ? { profile } : {})
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
