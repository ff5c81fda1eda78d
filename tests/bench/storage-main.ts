/**
 * The bulk-import part of the storage bench alone: the pipeline-only figure (bench page) and the
 * same number of files dropped through the app's UI, in one browser, then reloads:
 *
 *   npm run build && npx vite build -c vite.bench.config.ts && node scripts/netns-run.mjs -- npx tsx tests/bench/storage-main.ts
 *
 * IMPORT_FILES sets the batch (1000); IMPORT_BIG the library the reload is timed with too (10000, 0 for none).
 */
import { resolve } from 'node:path'
import { startSignaling } from '../../signaling/server.ts'
import { launchPersistent } from './browser.ts'
import { formatUiImport, measureSmallImports } from './storage.ts'

const root = resolve(import.meta.dirname, '..', '..')
const files = Number(process.env.IMPORT_FILES ?? 1000)
const bigLibrary = Number(process.env.IMPORT_BIG ?? 10_000)
const serve = (dir: string) => startSignaling({ port: 0, host: '127.0.0.1', staticDir: dir, log: () => {} })
const app = await serve(process.env.DCMX_DIST ?? resolve(root, 'dist'))
const benchPage = await serve(process.env.DCMX_DIST_BENCH ?? resolve(root, 'dist-bench'))
const browser = await launchPersistent()
try {
  const result = await measureSmallImports(
    browser.context,
    benchPage.url,
    app.url,
    { files, bigLibrary },
    console.log,
  )
  console.log(JSON.stringify(result))
  console.log(formatUiImport(result))
} finally {
  await browser.close()
  await app.close()
  await benchPage.close()
}
