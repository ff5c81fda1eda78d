import cliProgress from 'cli-progress'
import { DcmxError } from '../core/errors.ts'
import { formatBytes } from '../core/library.ts'
import { HomeLockedError } from '../node/home-lock.ts'

/** Exit codes scripts can rely on (README "dcmx" section). */
export const EXIT = {
  OK: 0,
  /** Some of the work failed: a file refused, a damaged blob, a download that did not finish. */
  FAILED: 1,
  /** Bad flags, arguments or config. */
  USAGE: 2,
  /** Another dcmx process holds the home. */
  BUSY: 3,
  /** No such track. */
  NOT_FOUND: 4,
  /** The mesh could not deliver: no holder reachable, or none answered in time. */
  UNREACHABLE: 5,
} as const

/** The exit code and sentence for an error that ends a command. */
export function failure(error: unknown): { code: number; message: string } {
  if (error instanceof HomeLockedError) return { code: EXIT.BUSY, message: error.message }
  if (error instanceof DcmxError) {
    const code =
      error.code === 'NOT_FOUND'
        ? EXIT.NOT_FOUND
        : error.code === 'PEER_GONE' || error.code === 'TIMEOUT' || error.code === 'SIGNALING'
          ? EXIT.UNREACHABLE
          : error.code === 'BAD_MESSAGE'
            ? EXIT.USAGE
            : EXIT.FAILED
    return { code, message: error.message }
  }
  const errno = (error as NodeJS.ErrnoException)?.code
  if (errno === 'EACCES')
    return { code: EXIT.FAILED, message: `Permission denied: ${(error as Error).message}` }
  return { code: EXIT.FAILED, message: error instanceof Error ? error.message : String(error) }
}

/** A byte-progress bar on a terminal; nothing otherwise (plain lines say what happened instead). */
export function progressBar(label: string) {
  if (!process.stderr.isTTY)
    return {
      update: (_done: number, _total: number) => {},
      log: (line: string) => console.log(line),
      stop: () => {},
    }
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {done} of {size} | {file}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  )
  let started = false
  return {
    update(done: number, total: number, file = '') {
      const payload = { done: formatBytes(done), size: formatBytes(total), file: file.slice(-40) }
      if (!started) {
        bar.start(Math.max(1, total), done, payload)
        started = true
      } else {
        bar.setTotal(Math.max(1, total))
        bar.update(done, payload)
      }
    },
    /** A line above the bar (a file done or refused). */
    log(line: string) {
      if (started) {
        bar.stop()
        started = false
      }
      console.log(line)
    },
    stop() {
      if (started) bar.stop()
    },
  }
}

/** Fixed-width text table for people; `--json` prints the data instead. */
export function table(rows: string[][], headers: string[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()
  return [line(headers), ...rows.map(line)].join('\n')
}

export function duration(s: number | undefined): string {
  if (s === undefined) return ''
  const m = Math.floor(s / 60)
  return `${m}:${String(Math.round(s % 60)).padStart(2, '0')}`
}
