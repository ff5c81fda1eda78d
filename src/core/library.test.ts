import { describe, expect, it } from 'vitest'
import { shardPath } from './content.ts'
import { isEnded, Library, type ImportFile, type ImportJob } from './library.ts'
import { FakeClock, waitFor } from './testing/fake-clock.ts'
import {
  fakeAudio,
  fakeTags,
  MemoryCatalog,
  memoryLocks,
  MemoryStore,
  referenceDigest,
} from './testing/memory-store.ts'

function setup(config = {}) {
  const store = new MemoryStore()
  const catalog = new MemoryCatalog()
  const library = new Library({
    store,
    catalog,
    tags: fakeTags,
    clock: new FakeClock(),
    withLock: memoryLocks(),
    config,
  })
  return { store, catalog, library }
}

async function importAll(library: Library, files: ImportFile[]): Promise<ImportJob[]> {
  const jobs = library.add(files)
  await waitFor(() => jobs.every((j) => isEnded(library.imports.find((x) => x.id === j.id)!)))
  return jobs.map((j) => library.imports.find((x) => x.id === j.id)!)
}

const bytesOf = async (blob: Blob) => new Uint8Array(await blob.arrayBuffer())

describe('Library import', () => {
  it('stores bytes under content/<2 hex>/<sha256> and commits a catalog entry with tags and pieces', async () => {
    const { store, library } = setup()
    const file = fakeAudio('song.mp3', 'Song|Artist|Album|187.5', 600_000)
    const [job] = await importAll(library, [file])
    const digest = referenceDigest(await bytesOf(file))
    expect(job).toMatchObject({ state: 'done', contentHash: digest.contentHash, bytesDone: file.size })
    expect([...store.files.keys()]).toEqual([
      `content/${digest.contentHash.slice(0, 2)}/${digest.contentHash}`,
    ])
    expect(library.tracks).toEqual([
      expect.objectContaining({
        contentHash: digest.contentHash,
        title: 'Song',
        artist: 'Artist',
        album: 'Album',
        durationS: 187.5,
        size: 600_000,
        pieces: digest.pieces,
        piecesRoot: digest.piecesRoot,
        fileName: 'song.mp3',
        source: 'local',
      }),
    ])
    expect(digest.pieces).toHaveLength(3)
    expect(await store.verify(digest.contentHash)).toBe(true)
  })

  it('falls back to the file name for a track without a title', async () => {
    const { library } = setup()
    await importAll(library, [fakeAudio('01 - No Tags Here.wav', '')])
    expect(library.tracks[0]?.title).toBe('01 - No Tags Here')
  })

  it('keeps the same bytes as one track, and says so', async () => {
    const { store, library } = setup()
    const a = fakeAudio('a.mp3', 'Same|X||1')
    const b = Object.assign(new Blob([await a.arrayBuffer()]), { name: 'copy of a.mp3' })
    const jobs = await importAll(library, [a, b])
    expect(jobs.map((j) => j.state)).toEqual(['done', 'duplicate'])
    expect(jobs[1]?.message).toContain('Already in your library as “Same”')
    expect(library.tracks).toHaveLength(1)
    expect((await store.usage()).blobs).toBe(1)
    expect([...store.files.keys()].filter((k) => k.startsWith('tmp/'))).toEqual([])
  })

  it('refuses non-audio, damaged, empty and oversized files with a sentence, and imports the rest', async () => {
    const { store, library } = setup({ maxFileBytes: 5_000 })
    const text = Object.assign(new Blob(['just some notes, not music']), { name: 'notes.mp3' })
    const broken = Object.assign(new Blob(['BROKEN header']), { name: 'cut.mp3' })
    const empty = Object.assign(new Blob([]), { name: 'empty.flac' })
    const huge = fakeAudio('huge.wav', 'Huge|||1', 6_000)
    const good = fakeAudio('good.ogg', 'Good|||1')
    const jobs = await importAll(library, [text, broken, empty, huge, good])
    expect(jobs.map((j) => j.state)).toEqual(['failed', 'failed', 'failed', 'failed', 'done'])
    expect(jobs[0]?.message).toBe('This is not an audio file.')
    expect(jobs[1]?.message).toBe('This audio file looks damaged.')
    expect(jobs[2]?.message).toBe('The file is empty.')
    expect(jobs[3]?.message).toBe('The file is 6.0 KB; the limit is 5.0 KB.')
    expect(library.tracks.map((t) => t.title)).toEqual(['Good'])
    expect([...store.files.keys()]).toHaveLength(1)
  })

  it('fails a file cleanly when the disk is full, leaving store and catalog consistent', async () => {
    const { store, catalog, library } = setup()
    await importAll(library, [fakeAudio('first.mp3', 'First|||1', 100_000)])
    store.quotaBytes = 150_000
    const [job] = await importAll(library, [fakeAudio('second.mp3', 'Second|||1', 100_000)])
    expect(job?.state).toBe('failed')
    expect(job?.message).toMatch(/^Not enough storage space for this file \(100 KB\)/)
    expect(library.tracks.map((t) => t.title)).toEqual(['First'])
    expect(catalog.tracks.size).toBe(1)
    expect([...store.files.keys()].every((k) => k.startsWith('content/'))).toBe(true)
    // Space freed: the same file now imports.
    store.quotaBytes = Infinity
    const [again] = await importAll(library, [fakeAudio('second.mp3', 'Second|||1', 100_000)])
    expect(again?.state).toBe('done')
  })

  it('an import interrupted mid-write leaves nothing visible, and the leftover is swept on load', async () => {
    const { store, catalog, library } = setup()
    store.failAfterBytes = 100_000
    const [job] = await importAll(library, [fakeAudio('crash.mp3', 'Crash|||1', 300_000)])
    expect(job?.state).toBe('failed')
    expect(catalog.tracks.size).toBe(0)
    expect(await store.list()).toEqual([])
    const leftovers = [...store.files.keys()].filter((k) => k.startsWith('tmp/'))
    expect(leftovers.length).toBeLessThanOrEqual(1)
    await library.load()
    expect([...store.files.keys()]).toEqual([])
  })

  it('cancels a queued or running import without storing anything of it', async () => {
    const { store, library } = setup()
    let release = () => {}
    store.pause = new Promise((resolve) => (release = resolve))
    const [first, second] = library.add([fakeAudio('a.mp3', 'A|||1', 2_000_000), fakeAudio('b.mp3', 'B|||1')])
    await waitFor(() => library.imports[0]!.state === 'storing')
    library.cancel(first!.id)
    library.cancel(second!.id)
    release()
    await waitFor(() => library.imports.every(isEnded))
    expect(library.imports.map((j) => j.state)).toEqual(['cancelled', 'cancelled'])
    expect(store.files.size).toBe(0)
    expect(library.tracks).toEqual([])
  })

  it('reports progress while storing', async () => {
    const { library } = setup()
    const seen: number[] = []
    library.events.on('imports', () => seen.push(library.imports[0]!.bytesDone))
    await importAll(library, [fakeAudio('p.mp3', 'P|||1', 300_000)])
    expect(new Set(seen).size).toBeGreaterThan(3)
    expect(seen.at(-1)).toBe(300_000)
  })

  it('stores a shared cover once and keeps it until its last track goes', async () => {
    const { catalog, library } = setup()
    const jobs = await importAll(library, [
      fakeAudio('1.mp3', 'One|A|Album|1|ART'),
      fakeAudio('2.mp3', 'Two|A|Album|1|ART'),
    ])
    expect(catalog.covers.size).toBe(1)
    const coverHash = library.tracks[0]?.coverHash
    expect(coverHash).toBeDefined()
    expect(library.tracks.map((t) => t.coverHash)).toEqual([coverHash, coverHash])
    await library.remove(jobs[0]!.contentHash!)
    expect(catalog.covers.has(coverHash!)).toBe(true)
    await library.remove(jobs[1]!.contentHash!)
    expect(catalog.covers.size).toBe(0)
  })

  it('removes a track: catalog entry, bytes and its unused cover', async () => {
    const { store, catalog, library } = setup()
    const [job] = await importAll(library, [fakeAudio('r.mp3', 'R|||1')])
    const hash = job!.contentHash!
    catalog.covers.set('c'.repeat(64), { hash: 'c'.repeat(64), mime: 'image/png', data: new Blob([]) })
    catalog.tracks.set(hash, { ...catalog.tracks.get(hash)!, coverHash: 'c'.repeat(64) })
    await library.remove(hash)
    expect(library.tracks).toEqual([])
    expect(store.files.has(shardPath(hash))).toBe(false)
    expect(catalog.covers.size).toBe(0)
  })

  it('two libraries sharing one store and catalog (two tabs) importing the same file store it once', async () => {
    const store = new MemoryStore()
    const catalog = new MemoryCatalog()
    const withLock = memoryLocks()
    const tab = () => new Library({ store, catalog, tags: fakeTags, clock: new FakeClock(), withLock })
    const [one, two] = [tab(), tab()]
    const file = fakeAudio('shared.mp3', 'Shared|||1', 500_000)
    const [a, b] = await Promise.all([importAll(one, [file]), importAll(two, [file])])
    expect([a[0]?.state, b[0]?.state].sort()).toEqual(['done', 'duplicate'])
    expect(catalog.tracks.size).toBe(1)
    expect([...store.files.keys()]).toHaveLength(1)
  })
})
