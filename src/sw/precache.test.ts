import { describe, expect, it } from 'vitest'
import { eachBounded } from './precache.ts'

/** A step that records how many steps run at once, each finishing when its turn is released. */
function tracked() {
  let running = 0
  const seen = { peak: 0, started: [] as number[], done: [] as number[] }
  const gates = new Map<number, () => void>()
  const step = (item: number) =>
    new Promise<void>((resolve, reject) => {
      running++
      seen.peak = Math.max(seen.peak, running)
      seen.started.push(item)
      gates.set(item, () => {
        running--
        seen.done.push(item)
        if (item < 0) reject(new Error(`item ${item} failed`))
        else resolve()
      })
    })
  const release = async (item: number) => {
    await new Promise((resolve) => setTimeout(resolve, 0))
    gates.get(item)!()
  }
  return { seen, step, release }
}

describe('eachBounded', () => {
  it('runs every item with at most `concurrency` in flight, starting the next as one ends', async () => {
    const { seen, step, release } = tracked()
    const items = Array.from({ length: 12 }, (_, i) => i)
    const all = eachBounded(items, 4, step)
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(seen.started).toEqual([0, 1, 2, 3])
    for (const item of items) await release(item)
    await all
    expect(seen.peak).toBe(4)
    expect(seen.done.sort((a, b) => a - b)).toEqual(items)
  })

  it('starts them all at once when there are fewer than `concurrency`, and is done at once for none', async () => {
    const { seen, step, release } = tracked()
    const all = eachBounded([0, 1], 4, step)
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(seen.started).toEqual([0, 1])
    await release(1)
    await release(0)
    await all
    await eachBounded([], 4, step)
    expect(seen.started).toEqual([0, 1])
  })

  it('rejects with the first failure and starts nothing after it', async () => {
    const { seen, step, release } = tracked()
    const all = eachBounded([0, -1, 2, 3, 4, 5], 2, step)
    const outcome = all.then(
      () => 'resolved',
      (error: Error) => error.message,
    )
    await release(-1)
    await release(0)
    expect(await outcome).toBe('item -1 failed')
    expect(seen.started).toEqual([0, -1])
  })
})
