/**
 * Time to first audio alone (the trials of tests/bench/transfer.ts, without its throughput part),
 * printing medians and p90s of each stage:
 *
 *   npm run build && node scripts/netns-run.mjs -- npx tsx tests/bench/ttfa-main.ts [--json result.json]
 *
 * Two nodes: A holds the tracks, B plays them with the link up; every cold trial is a fresh node.
 * DCMX_DIST serves another build than dist/; TTFA_TRIALS sets the trials of each kind (10).
 */
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { startSignaling } from '../../signaling/server.ts'
import { makeWav } from '../e2e/audio-fixtures.ts'
import { launchChromium, percentile } from './browser.ts'
import {
  DEFAULT_TRANSFER_OPTIONS,
  importFiles,
  linkedTo,
  measureTtfa,
  openNode,
  type Node,
  type TtfaRun,
} from './transfer.ts'

const root = resolve(import.meta.dirname, '..', '..')
const trials = Number(process.env.TTFA_TRIALS ?? DEFAULT_TRANSFER_OPTIONS.ttfaTrials)
const seconds = DEFAULT_TRANSFER_OPTIONS.ttfaSeconds
const arg = (name: string) => {
  const at = process.argv.indexOf(name)
  return at === -1 ? undefined : process.argv[at + 1]
}

const dir = mkdtempSync(join(tmpdir(), 'dcmx-bench-ttfa-'))
const wav = (i: number, title: string, name: string) => {
  const made = makeWav({ name, seconds, sampleRate: 44_100, hz: 220 + 20 * i, title })
  const path = join(dir, made.name)
  writeFileSync(path, made.buffer)
  return { title, path, name: made.name, hash: createHash('sha256').update(made.buffer).digest('hex') }
}
const tones = Array.from({ length: trials + 1 }, (_, i) => wav(i, `Bench Tone ${i}`, `tone-${i}.wav`))
const coldTrack = wav(trials + 1, 'Bench Cold Tone', 'cold.wav')

const server = await startSignaling({
  port: 0,
  host: '127.0.0.1',
  staticDir: process.env.DCMX_DIST ?? resolve(root, 'dist'),
  log: () => {},
})
const browser = await launchChromium()
const loadStart = loadavg()[0]!
const nodes: Node[] = []
let result: Awaited<ReturnType<typeof measureTtfa>>
try {
  const url = `${server.url}/?room=bench-ttfa-${Date.now() % 1e8}`
  for (const name of ['A', 'B']) nodes.push(await openNode(browser, url, name))
  const [a, b] = nodes as [Node, Node]
  await linkedTo(b, [a])
  const files = [...tones, coldTrack]
  await importFiles(
    a,
    files.map((f) => f.path),
    files.map((f) => f.name),
  )
  result = await measureTtfa(browser, url, {
    listener: b,
    holder: a,
    tones,
    coldTrack,
    trials,
    log: console.log,
  })
} finally {
  for (const n of nodes) await n.context.close().catch(() => {})
  await browser.close()
  await server.close()
  rmSync(dir, { recursive: true, force: true })
}

const row = (name: string, xs: (number | undefined)[]) => {
  const v = xs.filter((x): x is number => x !== undefined && !Number.isNaN(x))
  const f = (x: number) => x.toFixed(0).padStart(6)
  return v.length === 0
    ? `${name.padEnd(58)}     —`
    : `${name.padEnd(58)}${f(percentile(v, 50))}${f(percentile(v, 90))}${f(Math.min(...v))}${f(Math.max(...v))}  n=${v.length}`
}
const mark = (runs: TtfaRun[], name: string) => runs.map((r) => r.marks?.[name])
const { warm, cold } = result
const marks = [...new Set(cold.flatMap((r) => Object.keys(r.marks ?? {})))].sort(
  (x, y) => percentile(mark(cold, x) as number[], 50) - percentile(mark(cold, y) as number[], 50),
)
console.log(`\nload average ${loadStart.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`)
console.log(`${'ms'.padEnd(58)}   p50   p90   min   max`)
console.log(
  row(
    'link up: click → playing',
    warm.map((r) => r.playingMs),
  ),
)
console.log(
  row(
    'link up: click → currentTime > 0',
    warm.map((r) => r.advancedMs),
  ),
)
console.log(
  row(
    "link up: click → SW's first read reaches the page",
    warm.map((r) => r.readAskedMs),
  ),
)
console.log(
  row(
    'link up: that read fetched and verified',
    warm.map((r) => r.readMs),
  ),
)
for (const name of marks) console.log(row(`link cold: navigation → mark ${name}`, mark(cold, name)))
console.log(
  row(
    'link cold: navigation → first open data channel',
    cold.map((r) => r.linkOpenMs),
  ),
)
console.log(
  row(
    'link cold: navigation → click',
    cold.map((r) => r.navToClickMs),
  ),
)
console.log(
  row(
    'link cold: click → playing',
    cold.map((r) => r.playingMs),
  ),
)
console.log(
  row(
    "link cold: click → SW's first read reaches the page",
    cold.map((r) => r.readAskedMs),
  ),
)
console.log(
  row(
    'link cold: that read fetched and verified',
    cold.map((r) => r.readMs),
  ),
)
console.log(
  row(
    'link cold: navigation → playing',
    cold.map((r) => r.navToPlayingMs),
  ),
)
console.log(
  `holder linked at click ${cold.filter((r) => r.holderLinkedAtClick).length}/${cold.length}, worker at click ${cold.filter((r) => r.workerAtClick).length}/${cold.length}`,
)
if (result.warmFailed.length || result.coldFailed.length)
  console.log('failed:', [...result.warmFailed, ...result.coldFailed].join('\n'))
const json = arg('--json')
if (json) writeFileSync(json, JSON.stringify(result, null, 2))
