import { describe, expect, it } from 'vitest'
import type { ContentStore } from './content.ts'
import { DeferredStore, deferredPartials } from './deferred-store.ts'
import { isEnded, Library } from './library.ts'
import { FakeClock, waitFor } from './testing/fake-clock.ts'
import { MemoryPartialStore } from './testing/memory-partial.ts'
import { fakeAudio, fakeTags, MemoryCatalog, memoryLocks, MemoryStore } from './testing/memory-store.ts'

/** A store choice the test makes by hand, as the OPFS probe does once the app has rendered. */
function pendingChoice() {
  let choose!: (store: ContentStore) => void
  let fail!: (error: Error) => void
  const chosen = new Promise<ContentStore>((resolve, reject) => {
    choose = resolve
    fail = reject
  })
  return { chosen, choose, fail }
}

const settled = async <T>(p: Promise<T>) => {
  let done = false
  void p.then(
    () => (done = true),
    () => (done = true),
  )
  for (let i = 0; i < 10; i++) await Promise.resolve()
  return done
}

describe('DeferredStore (the content store chosen after the first render)', () => {
  it('holds every call until the store is chosen, then sends it to the chosen store', async () => {
    const { chosen, choose } = pendingChoice()
    const store = new DeferredStore(chosen)
    expect(store.choice).toEqual({ state: 'choosing' })
    const memory = new MemoryStore()
    const listed = store.list()
    const has = store.has('a'.repeat(64))
    expect(await settled(listed)).toBe(false)
    choose(memory)
    expect(await listed).toEqual([])
    expect(await has).toBe(false)
    expect(store.choice).toEqual({ state: 'ready', kind: 'memory' })
    expect(store.kind).toBe('memory')
    expect(await store.ready).toBe(memory)
  })

  it('an import queued before the choice waits for it and lands in the chosen store, nowhere else', async () => {
    const { chosen, choose } = pendingChoice()
    const store = new DeferredStore(chosen)
    const catalog = new MemoryCatalog()
    const library = new Library({
      store,
      catalog,
      tags: fakeTags,
      clock: new FakeClock(),
      withLock: memoryLocks(),
    })
    await library.refresh()
    const [job] = library.add([fakeAudio('early.mp3', 'Early|Artist|Album|10', 300_000)])
    for (let i = 0; i < 20; i++) await Promise.resolve()
    expect(library.imports.find((j) => j.id === job!.id)!.state).not.toBe('done')
    expect(await catalog.list()).toEqual([])
    const memory = new MemoryStore()
    choose(memory)
    await waitFor(() => isEnded(library.imports.find((j) => j.id === job!.id)!))
    const done = library.imports.find((j) => j.id === job!.id)!
    expect(done.state).toBe('done')
    expect(await memory.has(done.contentHash!)).toBe(true)
    expect((await catalog.list()).map((t) => t.contentHash)).toEqual([done.contentHash])
  })

  it('a failed choice fails every call, waiting or later, with one clear sentence and stores nothing', async () => {
    const { chosen, fail } = pendingChoice()
    const store = new DeferredStore(chosen)
    const waiting = store.read('b'.repeat(64), 0, 10)
    fail(new Error('the probe crashed'))
    await expect(waiting).rejects.toMatchObject({
      code: 'UNSUPPORTED',
      message: expect.stringContaining('did not let DCMX open its storage (the probe crashed)'),
    })
    await expect(store.ingest(new Blob([new Uint8Array(10)]))).rejects.toMatchObject({ code: 'UNSUPPORTED' })
    expect(store.choice).toMatchObject({ state: 'failed', message: expect.stringContaining('probe crashed') })
  })

  it('an aborted ingest fails at once, even before the choice', async () => {
    const store = new DeferredStore(pendingChoice().chosen)
    const abort = new AbortController()
    abort.abort()
    await expect(store.ingest(new Blob([]), { signal: abort.signal })).rejects.toMatchObject({
      name: 'AbortError',
    })
  })

  it('deferredPartials opens downloads only in the partial store made for the chosen store', async () => {
    const { chosen, choose } = pendingChoice()
    const store = new DeferredStore(chosen)
    const partials = deferredPartials(store.ready.then((s) => new MemoryPartialStore(s)))
    const listed = partials.list()
    expect(await settled(listed)).toBe(false)
    choose(new MemoryStore())
    expect(await listed).toEqual([])
    const partial = await partials.open('c'.repeat(64), 100, 64)
    expect(partial.size).toBe(100)
    expect(await partials.list()).toEqual(['c'.repeat(64)])
  })
})
