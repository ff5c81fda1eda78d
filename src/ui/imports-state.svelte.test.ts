import { describe, expect, it } from 'vitest'
import { Emitter } from '../core/emitter.ts'
import type { ImportJob, LibraryEvents } from '../core/library.ts'
import { FakeClock } from '../core/testing/fake-clock.ts'
import { ENDED_EVERY_MS, ImportsState, VIEW_EVERY_MS } from './imports-state.svelte.ts'
import { overallProgress } from './library-helpers.ts'

/** The library's queue as the import view sees it: jobs changed in place, each change told with its job. */
class FakeQueue {
  imports: ImportJob[] = []
  events = new Emitter<LibraryEvents>()
  add = () => []
  cancel() {}
  cancelAll() {}
  clearEnded() {}
  queue(n: number) {
    const jobs = Array.from({ length: n }, (_, i): ImportJob => {
      const id = this.imports.length + i + 1
      return { id, name: `t${id}.wav`, size: 100, bytesDone: 0, state: 'queued' }
    })
    this.imports = [...this.imports, ...jobs]
    this.events.emit('imports')
  }
  change(job: ImportJob, patch: Partial<ImportJob>) {
    Object.assign(job, patch)
    this.events.emit('imports', job)
  }
}

function setup() {
  const clock = new FakeClock()
  const queue = new FakeQueue()
  const calls = { ended: 0, done: 0 }
  const view = new ImportsState(queue, {
    ended: () => calls.ended++,
    done: () => calls.done++,
    clock,
  })
  return { clock, queue, calls, view }
}

describe('ImportsState', () => {
  it('a job change updates its own row and the totals by difference, without rebuilding the list', async () => {
    const { clock, queue, view } = setup()
    queue.queue(500)
    const rows = view.jobs
    expect(rows).toHaveLength(500)
    for (const [i, job] of queue.imports.entries()) {
      queue.change(job, { state: 'storing', bytesDone: 50 })
      queue.change(
        job,
        i === 7
          ? { state: 'failed', message: 'This is not an audio file.', code: 'NOT_AUDIO' }
          : { state: 'done', bytesDone: 100 },
      )
      await clock.advance(10)
    }
    await clock.advance(VIEW_EVERY_MS)
    // The same row objects, in the same list: no per-change copy of the queue.
    expect(view.jobs).toBe(rows)
    expect(view.jobs[7]).toMatchObject({
      state: 'failed',
      message: 'This is not an audio file.',
      code: 'NOT_AUDIO',
    })
    expect(view.jobs[8]).toMatchObject({ state: 'done', bytesDone: 100 })
    expect(view.progress).toEqual(overallProgress(queue.imports))
    expect(view.progress).toMatchObject({ files: 500, ended: 500, added: 499, failed: 1, active: 0 })
  })

  it('keeps the failed rows, in queue order, each once, and drops them when the queue is cleared', async () => {
    const { clock, queue, view } = setup()
    queue.queue(40)
    const failAt = [3, 17, 38]
    for (const [i, job] of queue.imports.entries()) {
      queue.change(job, { state: 'storing', bytesDone: 50 })
      queue.change(
        job,
        failAt.includes(i)
          ? { state: 'failed', message: `Bad file ${i}.`, code: 'NOT_AUDIO' }
          : { state: 'done', bytesDone: 100 },
      )
      await clock.advance(i % 2 === 0 ? 10 : VIEW_EVERY_MS)
    }
    await clock.advance(VIEW_EVERY_MS)
    expect(view.failures.map((row) => row.message)).toEqual(['Bad file 3.', 'Bad file 17.', 'Bad file 38.'])
    // A failed job told again (a re-sync) is not listed twice.
    queue.change(queue.imports[3]!, { state: 'failed' })
    await clock.advance(VIEW_EVERY_MS)
    expect(view.failures).toHaveLength(3)
    queue.imports = queue.imports.filter((job) => job.state === 'done')
    queue.events.emit('imports')
    expect(view.failures).toEqual([])
  })

  it('shows changes at most once per VIEW_EVERY_MS during a batch, the first at once', async () => {
    const { clock, queue, view } = setup()
    queue.queue(3)
    const [a, b] = queue.imports
    queue.change(a!, { state: 'reading' })
    expect(view.jobs[0]!.state).toBe('reading')
    queue.change(a!, { state: 'storing' })
    queue.change(b!, { state: 'reading' })
    expect(view.jobs[0]!.state).toBe('reading')
    await clock.advance(VIEW_EVERY_MS)
    expect(view.jobs.map((j) => j.state)).toEqual(['storing', 'reading', 'queued'])
    expect(view.progress).toEqual(overallProgress(queue.imports))
  })

  it('re-reads storage once per ENDED_EVERY_MS while files end, and when the last one ends', async () => {
    const { clock, queue, calls } = setup()
    queue.queue(100)
    for (const job of queue.imports) {
      queue.change(job, { state: 'done', bytesDone: 100 })
      await clock.advance(20)
    }
    await clock.advance(VIEW_EVERY_MS)
    // 2 s of files ending every 20 ms: about one re-read a second, and the last file's.
    expect(calls.ended).toBeGreaterThanOrEqual(2)
    expect(calls.ended).toBeLessThanOrEqual(2 + Math.ceil((100 * 20) / ENDED_EVERY_MS))
    expect(calls.done).toBeGreaterThan(0)
  })
})
