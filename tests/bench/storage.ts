import type { BrowserContext, Page } from '@playwright/test'
import { closeSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cpuPer, launchPersistent, pageCpu, percentile, pollPage, type PageCpu } from './browser.ts'
import { measureUiImport, type UiImportResult } from './import-ui.ts'

const MiB = 1024 * 1024

/** A file of `mib` MiB on disk (random bytes, one random MiB repeated), so the browser gets a disk-backed File. */
function makeFile(mib: number): string {
  const path = join(tmpdir(), `dcmx-bench-${mib}m-${process.pid}.bin`)
  const block = Buffer.alloc(MiB)
  for (let i = 0; i < MiB; i += 4) block.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, i)
  const fd = openSync(path, 'w')
  for (let i = 0; i < mib; i++) {
    block.writeUInt32LE(i, 0) // no two MiB alike
    writeSync(fd, block)
  }
  closeSync(fd)
  return path
}

/** A WAV file of `mib` MiB (silence), for timing a real import of a large track. */
function makeWavFile(mib: number): string {
  const path = join(tmpdir(), `dcmx-bench-${mib}m-${process.pid}.wav`)
  const dataBytes = mib * MiB - 44
  const header = Buffer.alloc(44)
  header.write('RIFF', 0)
  header.writeUInt32LE(36 + dataBytes, 4)
  header.write('WAVEfmt ', 8)
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20)
  header.writeUInt16LE(2, 22)
  header.writeUInt32LE(44100, 24)
  header.writeUInt32LE(44100 * 4, 28)
  header.writeUInt16LE(4, 32)
  header.writeUInt16LE(16, 34)
  header.write('data', 36)
  header.writeUInt32LE(dataBytes, 40)
  const fd = openSync(path, 'w')
  writeSync(fd, header)
  const block = Buffer.alloc(MiB)
  for (let written = 0; written < dataBytes; written += MiB) {
    block.writeUInt32LE(written, 0)
    writeSync(fd, block, 0, Math.min(MiB, dataBytes - written))
  }
  closeSync(fd)
  return path
}

/** Resident memory of every Chromium process on the machine (the bench's browser is the only one running). */
function chromiumRss(): number {
  let total = 0
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8')
      if (!/^Name:\s+chrom/m.test(status)) continue
      total += Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024
    } catch {
      // the process ended while we looked
    }
  }
  return total
}

async function choose(page: Page, path: string) {
  await page.getByLabel('Bench file').setInputFiles(path)
}

const run = <T>(page: Page, expr: string) => page.evaluate(expr) as Promise<T>

export type StorageResult = {
  hashMiB: number
  readMBs: number
  pipelineMBs: number
  wasmMBs: number
  subtleMBs: number
  storeWriteMBs: number
  storeReadMBs: number
  rawWriteMBs: number
  importMiB: number
  importMs: number
  importState: string
  rssBaselineMiB: number
  rssPeakMiB: number
  heapPeakMiB: number
  smallTracks: number
  smallImported: number
  perTrackMs: number
  catalogPerTrackMs: number
  /** The same number of small files chosen through the app's UI, and reloads (when an app URL was given). */
  ui?: UiImportResult
}

const MBs = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000)

const REPEATS = 3

/** One warm-up run, then REPEATS measured runs. */
async function repeat<T>(fn: () => Promise<T>): Promise<T[]> {
  await fn()
  const out: T[] = []
  for (let i = 0; i < REPEATS; i++) out.push(await fn())
  return out
}

/**
 * Storage figures, each beside its ceiling in the same browser: the hashing pipeline vs hash-wasm
 * and WebCrypto on the bytes in memory; store write/read vs a bare OPFS sync handle; memory during
 * a large import; and many small imports. Runs in its own browser with an on-disk profile.
 */
export async function measureStorage(
  baseUrl: string,
  sizes: { hashMiB: number; importMiB: number; smallTracks: number; bigLibrary?: number } = {
    hashMiB: 512,
    importMiB: 1024,
    smallTracks: 1000,
  },
  appUrl?: string,
  log: (line: string) => void = () => {},
): Promise<StorageResult> {
  const browser = await launchPersistent()
  const { context } = browser
  const page = context.pages()[0] ?? (await context.newPage())
  await page.goto(`${baseUrl}/`)
  await pollPage(page, 'window.bench !== undefined')
  const big = makeFile(sizes.hashMiB)
  const wav = makeWavFile(sizes.importMiB)
  try {
    await choose(page, big)
    const bytes = sizes.hashMiB * MiB
    // Each figure is the median of REPEATS runs, after one warm-up run (worker start, WASM compile).
    const reads = await repeat(() => run<{ ms: number }>(page, 'bench.readOnly()'))
    const pipeline = await repeat(() => run<{ ms: number; hash: string }>(page, 'bench.hashPipeline()'))
    const memory = await repeat(() =>
      run<{ wasmMs: number; subtleMs: number; hash: string }>(page, 'bench.hashInMemory()'),
    )
    if (memory.every((m) => m.hash !== pipeline[0]!.hash))
      throw new Error('pipeline and in-memory hashes differ')
    const store = await repeat(() => run<{ writeMs: number; readMs: number }>(page, 'bench.store()'))
    const raw = await repeat(() => run<{ writeMs: number }>(page, 'bench.rawOpfs()'))
    const med = <T>(xs: T[], key: keyof T) =>
      percentile(
        xs.map((x) => x[key] as number),
        50,
      )

    // Memory while importing a large track: sample the browser's RSS and the page's JS heap.
    await page.reload()
    await pollPage(page, 'window.bench !== undefined')
    await choose(page, wav)
    const cdp = await context.newCDPSession(page)
    await cdp.send('Performance.enable')
    const rssBaseline = chromiumRss()
    let rssPeak = rssBaseline
    let heapPeak = 0
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        rssPeak = Math.max(rssPeak, chromiumRss())
        const { metrics } = await cdp.send('Performance.getMetrics')
        heapPeak = Math.max(heapPeak, metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0)
        await new Promise((r) => setTimeout(r, 100))
      }
    })()
    const imported = await run<{ ms: number; state: string }>(page, 'bench.importChosen()')
    sampling = false
    await sampler

    const many = await run<{ ms: number; done: number; catalogMs: number; n: number }>(
      page,
      `bench.importMany(${sizes.smallTracks})`,
    )
    // The same number of files through the app's UI, right after, in the same browser.
    const ui = appUrl
      ? await measureUiImport(
          context,
          appUrl,
          { files: sizes.smallTracks, ...(sizes.bigLibrary ? { bigLibrary: sizes.bigLibrary } : {}) },
          log,
        )
      : undefined
    return {
      hashMiB: sizes.hashMiB,
      readMBs: MBs(bytes, med(reads, 'ms')),
      pipelineMBs: MBs(bytes, med(pipeline, 'ms')),
      wasmMBs: MBs(bytes, med(memory, 'wasmMs')),
      subtleMBs: MBs(bytes, med(memory, 'subtleMs')),
      storeWriteMBs: MBs(bytes, med(store, 'writeMs')),
      storeReadMBs: MBs(bytes, med(store, 'readMs')),
      rawWriteMBs: MBs(bytes, med(raw, 'writeMs')),
      importMiB: sizes.importMiB,
      importMs: imported.ms,
      importState: imported.state,
      rssBaselineMiB: rssBaseline / MiB,
      rssPeakMiB: rssPeak / MiB,
      heapPeakMiB: heapPeak / MiB,
      smallTracks: many.n,
      smallImported: many.done,
      perTrackMs: many.ms / many.n,
      catalogPerTrackMs: many.catalogMs / many.n,
      ...(ui ? { ui } : {}),
    }
  } finally {
    rmSync(big, { force: true })
    rmSync(wav, { force: true })
    await browser.close()
  }
}

export type SmallImportsResult = {
  /** The pipeline alone (Library on the real store and catalog, no app around it): ms per track. */
  pipelinePerTrackMs: number
  pipelineImported: number
  /** The bench page's CPU per track over the pipeline's run. */
  pipelineCpuPerTrack: PageCpu
  ui: UiImportResult
}

/**
 * `files` small WAVs through the pipeline alone (the bench page), then as many dropped at once
 * through the app's UI, in the same browser one after the other; then reloads of the app listing
 * them (and `bigLibrary` tracks, seeded by dropping the rest through the UI).
 */
export async function measureSmallImports(
  context: BrowserContext,
  benchUrl: string,
  appUrl: string,
  sizes: { files: number; bigLibrary?: number },
  log: (line: string) => void = () => {},
): Promise<SmallImportsResult> {
  const page = await context.newPage()
  let many
  let pipelineCpuPerTrack
  try {
    await page.goto(`${benchUrl}/`)
    await pollPage(page, 'window.bench !== undefined')
    log(`pipeline only: ${sizes.files} small tracks…`)
    const cpu = await pageCpu(page)
    const cpu0 = await cpu()
    many = await run<{ ms: number; done: number; n: number }>(page, `bench.importMany(${sizes.files}, false)`)
    pipelineCpuPerTrack = cpuPer(cpu0, await cpu(), many.n)
    log(`pipeline only: ${(many.ms / many.n).toFixed(1)} ms per track (${many.done} imported)`)
  } finally {
    await page.close()
  }
  const ui = await measureUiImport(context, appUrl, sizes, log)
  return { pipelinePerTrackMs: many.ms / many.n, pipelineImported: many.done, pipelineCpuPerTrack, ui }
}

const median = (xs: number[]) => percentile(xs, 50)

/** The markdown table of bulk import through the UI and reloads, beside the pipeline alone. */
export function formatUiImport(
  r: Pick<SmallImportsResult, 'pipelinePerTrackMs' | 'ui'> &
    Partial<Pick<SmallImportsResult, 'pipelineCpuPerTrack'>>,
): string {
  const { drop, bigDrop, reload } = r.ui
  const ratio = drop.perFileMs / r.pipelinePerTrackMs
  const lines = [
    `| measure | figure | ceiling (same run) |`,
    `|---|---|---|`,
    `| ${drop.files} small WAVs chosen at once through "Add music files", until the queue says all ended | ${drop.perFileMs.toFixed(1)} ms per file (${(drop.ms / 1000).toFixed(1)} s) | pipeline alone ${r.pipelinePerTrackMs.toFixed(1)} ms per track: ${ratio.toFixed(2)}× (goal ≤ 1.3×) |`,
  ]
  const cpu = r.pipelineCpuPerTrack
  // CPU is steadier than wall time on a shared machine: what the page itself spent, per file.
  if (cpu && drop.cpuPerFile)
    lines.push(
      `| its main-thread CPU (CDP ThreadTime) | ${drop.cpuPerFile.mainMs.toFixed(2)} ms per file | pipeline alone ${cpu.mainMs.toFixed(2)} ms: ${(drop.cpuPerFile.mainMs / cpu.mainMs).toFixed(2)}× |`,
      `| its renderer process CPU, workers included (CDP ProcessTime) | ${drop.cpuPerFile.processMs.toFixed(2)} ms per file | pipeline alone ${cpu.processMs.toFixed(2)} ms: ${(drop.cpuPerFile.processMs / cpu.processMs).toFixed(2)}× |`,
    )
  if (bigDrop)
    lines.push(
      `| ${bigDrop.files} more dropped onto that library (to ${bigDrop.files + drop.files} tracks) | ${bigDrop.perFileMs.toFixed(1)} ms per file (${(bigDrop.ms / 1000).toFixed(1)} s) | ${(bigDrop.perFileMs / r.pipelinePerTrackMs).toFixed(2)}× the pipeline alone |`,
    )
  for (const { tracks, ms } of reload)
    lines.push(
      `| reload → library lists all ${tracks} tracks (median of ${ms.length}) | ${median(ms).toFixed(0)} ms | — |`,
    )
  return `${lines.join('\n')}\n\nQueue summaries: “${drop.summary}”${bigDrop ? `, “${bigDrop.summary}”` : ''}`
}
