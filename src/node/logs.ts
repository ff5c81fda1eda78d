import { appendFileSync, renameSync, statSync } from 'node:fs'
import { join } from 'node:path'

export type LogTopic = 'node' | 'network' | 'errors'

/** A log file rotates past this size: enough for days of an idle seeder, bounded on a busy one. */
export const MAX_LOG_BYTES = 1024 * 1024
/** Rotated files kept per topic (`node.log.1` … `node.log.3`): the total per topic stays ≤ 4 MiB. */
export const KEPT_LOGS = 3
/** One entry is a line, not a dump: peer-supplied text is cut here. */
const MAX_LINE = 2000

/**
 * The node's logs under `<home>/logs/`: node.log (lifecycle, imports), network.log (links,
 * signaling), errors.log (every warning and error, whatever its topic). Lines are appended
 * synchronously (they are few and short) so a crash keeps the last one; each file rotates at
 * MAX_LOG_BYTES, keeping KEPT_LOGS old ones.
 */
export class NodeLogs {
  #sizes = new Map<string, number>()

  constructor(private readonly dir: string) {}

  write(topic: LogTopic, level: 'info' | 'warn' | 'error', message: string): void {
    // eslint-disable-next-line no-control-regex -- one entry per line: newlines and control bytes go
    const text = message.replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, MAX_LINE)
    const line = `${new Date().toISOString()} ${level.toUpperCase()} ${text}\n`
    this.#append(`${topic}.log`, line)
    if (level !== 'info' && topic !== 'errors')
      this.#append('errors.log', `${line.slice(0, -1)} [${topic}]\n`)
  }

  #append(name: string, line: string) {
    const path = join(this.dir, name)
    try {
      let size = this.#sizes.get(name) ?? statSync(path, { throwIfNoEntry: false })?.size ?? 0
      if (size + line.length > MAX_LOG_BYTES) {
        this.#rotate(path)
        size = 0
      }
      appendFileSync(path, line, { mode: 0o600 })
      this.#sizes.set(name, size + Buffer.byteLength(line))
    } catch {
      // A log that cannot be written (disk full, folder gone) must not take the node down.
    }
  }

  #rotate(path: string) {
    for (let i = KEPT_LOGS - 1; i >= 1; i--) {
      try {
        renameSync(`${path}.${i}`, `${path}.${i + 1}`)
      } catch {
        // Not there yet.
      }
    }
    renameSync(path, `${path}.1`)
  }
}
