/**
 * Time to first audio alone (the trials of tests/bench/transfer.ts, without its throughput part),
 * printing medians and p90s of each stage:
 *
 *   npm run build && node scripts/netns-run.mjs -- npx tsx tests/bench/ttfa-main.ts [--json result.json]
 *
 * Two nodes: A holds the tracks, B plays them with the link up; every cold trial is a fresh node.
 * DCMX_DIST serves another build than dist/; TTFA_TRIALS sets the trials of each kind (10);
 * TTFA_COMPARE=<dir> measures a second build beside it (its own server, room and nodes), the two
 * builds' trials alternating so both see the same machine load; TTFA_TRACE=<path prefix> writes a
 * Chromium trace of every cold trial (slower trials: for finding where the time goes, not figures).
 */
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { startSignaling } from '../../signaling/server.ts'
import { makeWav } from '../e2e/audio-fixtures.ts'
import { launchChromium, percentile } from './browser.ts'
import {
  coldTrial,
  DEFAULT_TRANSFER_OPTIONS,
  importFiles,
  linkedTo,
  openNode,
  PROBE,
  seesHolders,
  trial,
  warmTrial,
  type Node,
  type TtfaRun,
} from './transfer.ts'

const root = resolve(import.meta.dirname, '..', '..')
/** A second build to measure beside the first, trial for trial (an A/B under the same load). */
const compare = process.env.TTFA_COMPARE
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

/** One build under test: its own server and room, a holder A and a listener B. */
type Setup = { label: string; url: string; close(): Promise<void>; a?: Node; b?: Node }
const dists = [process.env.DCMX_DIST ?? resolve(root, 'dist'), ...(compare ? [compare] : [])]
const browser = await launchChromium()
const loadStart = loadavg()[0]!
const setups: Setup[] = []
const results = dists.map(() => ({
  warm: [] as TtfaRun[],
  cold: [] as TtfaRun[],
  warmFailed: [] as string[],
  coldFailed: [] as string[],
}))
try {
  for (const [i, staticDir] of dists.entries()) {
    const server = await startSignaling({ port: 0, host: '127.0.0.1', staticDir, log: () => {} })
    const setup: Setup = {
      label: staticDir,
      url: `${server.url}/?room=bench-ttfa-${i}-${Date.now() % 1e8}`,
      close: () => server.close(),
    }
    setups.push(setup)
    setup.a = await openNode(browser, setup.url, 'A')
    setup.b = await openNode(browser, setup.url, 'B')
    await linkedTo(setup.b, [setup.a])
    const files = [...tones, coldTrack]
    await importFiles(
      setup.a,
      files.map((f) => f.path),
      files.map((f) => f.name),
    )
    await setup.b.page.evaluate(PROBE)
    await setup.b.page.getByRole('tab', { name: 'Network', exact: true }).click()
  }
  // Trials of the builds alternate, so each sees the same machine load.
  console.log(`time to first audio, link up, 1 warm-up + ${trials} per build…`)
  for (let i = 0; i <= trials; i++)
    for (const [k, s] of setups.entries()) {
      const t = tones[i]!
      await seesHolders(s.b!, t.hash, 1)
      await trial(i, results[k]!.warm, results[k]!.warmFailed, () => warmTrial(s.b!, t.title, t.hash))
    }
  console.log(`time to first audio, link cold (fresh nodes), 1 warm-up + ${trials} per build…`)
  for (let i = 0; i <= trials; i++)
    for (const [k, s] of setups.entries())
      await trial(i, results[k]!.cold, results[k]!.coldFailed, () =>
        coldTrial(browser, s.url, coldTrack.title, s.a!),
      )
} finally {
  for (const s of setups) {
    for (const n of [s.a, s.b]) await n?.context.close().catch(() => {})
    await s.close()
  }
  await browser.close()
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
console.log(`\nload average ${loadStart.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`)
for (const [k, result] of results.entries()) {
  const { warm, cold } = result
  const marks = [...new Set(cold.flatMap((r) => Object.keys(r.marks ?? {})))].sort(
    (x, y) => percentile(mark(cold, x) as number[], 50) - percentile(mark(cold, y) as number[], 50),
  )
  console.log(`\n${dists[k]}`)
  console.log(`${'ms'.padEnd(58)}   p50   p90   min   max`)
  const lines: [string, TtfaRun[], (r: TtfaRun) => number | undefined][] = [
    ['link up: click → playing', warm, (r) => r.playingMs],
    ['link up: click → currentTime > 0', warm, (r) => r.advancedMs],
    ["link up: click → SW's first read reaches the page", warm, (r) => r.readAskedMs],
    ['link up: that read fetched and verified', warm, (r) => r.readMs],
    ...marks.map((name): [string, TtfaRun[], (r: TtfaRun) => number | undefined] => [
      `link cold: navigation → mark ${name}`,
      cold,
      (r) => r.marks?.[name],
    ]),
    ['link cold: navigation → track listed', cold, (r) => r.navToListedMs],
    ['link cold: navigation → click', cold, (r) => r.navToClickMs],
    ['link cold: click → playing', cold, (r) => r.playingMs],
    ["link cold: click → SW's first read reaches the page", cold, (r) => r.readAskedMs],
    ['link cold: that read fetched and verified', cold, (r) => r.readMs],
    ['link cold: navigation → playing', cold, (r) => r.navToPlayingMs],
  ]
  for (const [name, runs, pick] of lines) console.log(row(name, runs.map(pick)))
  console.log(
    `holder linked at click ${cold.filter((r) => r.holderLinkedAtClick).length}/${cold.length}, worker at click ${cold.filter((r) => r.workerAtClick).length}/${cold.length}`,
  )
  if (result.warmFailed.length || result.coldFailed.length)
    console.log('failed:', [...result.warmFailed, ...result.coldFailed].join('\n'))
}
const json = arg('--json')
if (json) writeFileSync(json, JSON.stringify({ dists, results }, null, 2))
