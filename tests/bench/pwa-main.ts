/**
 * The app-shell benchmark alone (tests/bench/pwa.ts), printing its markdown section:
 *
 *   npm run build && node scripts/netns-run.mjs -- npx tsx tests/bench/pwa-main.ts
 *
 * DCMX_DIST measures another build than dist/; PWA_RUNS sets the runs per scenario (10).
 */
import { measurePwa, formatPwa } from './pwa.ts'

const runs = Number(process.env.PWA_RUNS ?? 10)
const started = performance.now()
console.log(`app shell: ${runs} runs of cold, warm and offline loads…`)
const result = await measurePwa({
  ...(process.env.DCMX_DIST ? { staticDir: process.env.DCMX_DIST } : {}),
  runs,
  log: (line) => console.log(line),
})
console.log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s\n`)
console.log(formatPwa(result))
