/**
 * Bulk import as a user does it: many small WAVs chosen at once through the app's "Add music
 * files" input, and reloads of the page listing the library they made. Runs in a browser with an
 * on-disk profile (tests/bench/storage.ts passes its own), against the built app.
 */
import type { BrowserContext, Page } from '@playwright/test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cpuPer, pageCpu, pollPage, type PageCpu } from './browser.ts'

/** A tiny valid WAV (mono 16-bit, 400 samples) whose samples, so hash, depend on `n`: as bench-page's tinyWav. */
export function tinyWavBytes(n: number): Buffer {
  const samples = 400
  const bytes = Buffer.alloc(44 + samples * 2)
  bytes.write('RIFF', 0, 'ascii')
  bytes.writeUInt32LE(36 + samples * 2, 4)
  bytes.write('WAVEfmt ', 8, 'ascii')
  bytes.writeUInt32LE(16, 16)
  bytes.writeUInt16LE(1, 20)
  bytes.writeUInt16LE(1, 22)
  bytes.writeUInt32LE(8000, 24)
  bytes.writeUInt32LE(16000, 28)
  bytes.writeUInt16LE(2, 32)
  bytes.writeUInt16LE(16, 34)
  bytes.write('data', 36, 'ascii')
  bytes.writeUInt32LE(samples * 2, 40)
  // Distinct from bench-page's own tracks (another origin anyway) and from each other for any n < 2^31.
  bytes.writeUInt32LE(n, 44)
  for (let i = 2; i < samples; i++) bytes.writeInt16LE((n * 7919 + i * 31) % 30000, 44 + i * 2)
  return bytes
}

/** `count` distinct tiny WAVs on disk, numbered from `first`, so the browser gets disk-backed Files. */
function writeWavs(first: number, count: number): { dir: string; paths: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'dcmx-bench-wavs-'))
  const paths: string[] = []
  for (let i = first; i < first + count; i++) {
    const path = join(dir, `track-${String(i).padStart(5, '0')}.wav`)
    writeFileSync(path, tinyWavBytes(i))
    paths.push(path)
  }
  return { dir, paths }
}

/** The library's "N tracks" count, as the view shows it (the table itself may be virtualised). */
const LISTED = (n: number) =>
  `(document.querySelector('#library-heading')?.parentElement?.textContent ?? '').includes('${n} tracks')`

/**
 * The import queue's polite summary once it reads "Import finished: …" (every file has ended).
 * Found by a selector that stops at the import panel, near the top: a walk of thousands of rows
 * every poll would weigh on what is measured.
 */
const FINISHED = `(() => { const t = document.querySelector('.import [role=status]')?.textContent ?? ''; return t.startsWith('Import finished') ? t : false })()`

export type DropResult = {
  files: number
  ms: number
  perFileMs: number
  summary: string
  /** The page's CPU per file over the same span (main thread, and its renderer process with the workers). */
  cpuPerFile: PageCpu
}

/**
 * Choose `count` new files at once through "Add music files" and time it until the queue says
 * every one has ended; the library must then list `expectListed` tracks.
 */
export async function dropFiles(
  page: Page,
  first: number,
  count: number,
  expectListed: number,
  options: { timeoutMs?: number; afterChoose?: () => Promise<void> } = {},
): Promise<DropResult> {
  const { dir, paths } = writeWavs(first, count)
  try {
    await page.getByRole('tab', { name: 'My library' }).click()
    // Clear what an earlier batch left in the queue, so its summary cannot be mistaken for this one's.
    const clear = page.getByRole('button', { name: 'Clear finished' })
    if (await clear.isVisible()) await clear.click()
    const input = page.getByLabel('Add music files')
    const cpu = await pageCpu(page)
    const cpu0 = await cpu()
    const t0 = performance.now()
    // One choice, as a drop of a folder delivers one batch; thousands of paths take a while to pass.
    await input.setInputFiles(paths, { timeout: 5 * 60_000 })
    await options.afterChoose?.()
    const summary = await pollPage<string>(page, FINISHED, options.timeoutMs ?? 30 * 60_000, 50)
    const ms = performance.now() - t0
    const cpuPerFile = cpuPer(cpu0, await cpu(), count)
    await pollPage(page, LISTED(expectListed), 60_000, 50)
    return { files: count, ms, perFileMs: ms / count, summary, cpuPerFile }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Reload the app and time from the navigation's start to the library listing all `n` tracks,
 * read from the page's own clock (its time origin is the navigation's start).
 */
export async function timeReload(page: Page, n: number): Promise<number> {
  await page.reload({ waitUntil: 'commit' })
  await pollPage(page, LISTED(n), 120_000, 5)
  // performance.now() when first seen listed: polled every 5 ms from here, so at most a few ms late.
  return (await page.evaluate('performance.now()')) as number
}

export type UiImportResult = {
  drop: DropResult
  /** Drop of the files that take the library from `drop.files` to `bigLibrary` tracks. */
  bigDrop?: DropResult
  reload: { tracks: number; ms: number[] }[]
}

const RELOADS = 5

/**
 * `files` small WAVs dropped at once through the UI of a fresh app page; then reloads listing
 * them; then, when `bigLibrary` is given, enough more to reach it and reloads listing those.
 */
export async function measureUiImport(
  context: BrowserContext,
  appUrl: string,
  sizes: { files: number; bigLibrary?: number },
  log: (line: string) => void = () => {},
): Promise<UiImportResult> {
  const page = await context.newPage()
  try {
    await page.goto(`${appUrl}/`)
    await page.getByLabel('Add music files').waitFor({ state: 'attached', timeout: 60_000 })
    log(`ui import: ${sizes.files} files through "Add music files"…`)
    const drop = await dropFiles(page, 0, sizes.files, sizes.files)
    log(JSON.stringify(drop))
    const reload = [{ tracks: sizes.files, ms: [] as number[] }]
    for (let i = 0; i < RELOADS; i++) reload[0]!.ms.push(await timeReload(page, sizes.files))
    log(JSON.stringify(reload[0]))
    let bigDrop: DropResult | undefined
    if (sizes.bigLibrary && sizes.bigLibrary > sizes.files) {
      const more = sizes.bigLibrary - sizes.files
      log(`ui import: ${more} more files, for a library of ${sizes.bigLibrary}…`)
      try {
        bigDrop = await dropFiles(page, sizes.files, more, sizes.bigLibrary)
        log(JSON.stringify(bigDrop))
        const big = { tracks: sizes.bigLibrary, ms: [] as number[] }
        for (let i = 0; i < RELOADS; i++) big.ms.push(await timeReload(page, sizes.bigLibrary))
        log(JSON.stringify(big))
        reload.push(big)
      } catch (error) {
        // Seeding the big library is the slow part (the real pipeline, file by file): a timeout
        // there loses its figures, not the run's.
        log(`ui import: the ${sizes.bigLibrary}-track library was not measured: ${String(error)}`)
      }
    }
    return { drop, ...(bigDrop ? { bigDrop } : {}), reload }
  } finally {
    await page.close()
  }
}
