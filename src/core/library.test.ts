import { describe, expect, it } from 'vitest'
import type { Track } from './catalog.ts'
import { shardPath } from './content.ts'
import {
  BATCH_TRACKS_EVENT_MS,
  isEnded,
  Library,
  planEviction,
  SMALL_FILE_BYTES,
  type ImportFile,
  type ImportJob,
} from './library.ts'
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
  const clock = new FakeClock()
  const library = new Library({ store, catalog, tags: fakeTags, clock, withLock: memoryLocks(), config })
  return { store, catalog, clock, library }
}

async function importAll(library: Library, files: ImportFile[]): Promise<ImportJob[]> {
  const jobs = library.add(files)
  await waitFor(() => jobs.every((j) => isEnded(library.imports.find((x) => x.id === j.id)!)))
  return jobs.map((j) => library.imports.find((x) => x.id === j.id)!)
}

/** A file that counts the reads made of it: a disk-backed File's each go back to the disk. */
function counted(file: Blob & { name: string }) {
  const reads = { n: 0 }
  const count =
    <A extends unknown[], R>(fn: (...args: A) => R) =>
    (...args: A) => (reads.n++, fn(...args))
  return Object.assign(file, {
    reads,
    slice: count(file.slice.bind(file)),
    stream: count(file.stream.bind(file)),
    arrayBuffer: count(file.arrayBuffer.bind(file)),
    text: count(file.text.bind(file)),
  })
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

  it('finds a track by its hash once imported, and not once removed (track(hash), no catalog read)', async () => {
    const { library, catalog } = setup()
    const [a, b] = await importAll(library, [fakeAudio('a.mp3', 'A|X||1'), fakeAudio('b.mp3', 'B|X||1')])
    expect(library.track(a!.contentHash!)?.title).toBe('A')
    const [c] = await importAll(library, [fakeAudio('c.mp3', 'C|X||1')])
    expect(library.track(c!.contentHash!)?.title).toBe('C')
    await library.remove(b!.contentHash!)
    expect(library.track(b!.contentHash!)).toBeUndefined()
    expect(library.track(a!.contentHash!)?.title).toBe('A')
    // Another tab's change, read back with refresh: the index follows the list.
    await catalog.remove(a!.contentHash!)
    await library.refresh()
    expect(library.track(a!.contentHash!)).toBeUndefined()
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

  it('reads the next small file while the current one is stored, once; a cancelled one is never stored', async () => {
    const { store, library } = setup()
    let release = () => {}
    store.pause = new Promise((resolve) => (release = resolve))
    const [a, b, c] = [1, 2, 3].map((n) => counted(fakeAudio(`${n}.wav`, `T${n}|X||1`, 900)))
    const [, second] = library.add([a!, b!, c!])
    await waitFor(() => library.imports[0]!.state === 'storing')
    // The second file's bytes are read while the first is stored; the third waits its turn.
    await waitFor(() => b!.reads.n === 1)
    expect(library.imports.map((j) => j.state)).toEqual(['storing', 'queued', 'queued'])
    expect(c!.reads.n).toBe(0)
    // Cancelled after its read ahead: it is never stored, and the third is read ahead instead.
    library.cancel(second!.id)
    release()
    await waitFor(() => library.imports.every(isEnded))
    expect(library.imports.map((j) => j.state)).toEqual(['done', 'cancelled', 'done'])
    expect([a, b, c].map((f) => f!.reads.n)).toEqual([1, 1, 1])
    expect(library.tracks.map((t) => t.title)).toEqual(['T1', 'T3'])
    expect(store.files.size).toBe(2)
  })

  it('reads a small file from its source once (tags and bytes both come from that read); a big one is streamed', async () => {
    const { store, library } = setup()
    const ingested: Blob[] = []
    const ingest = store.ingest.bind(store)
    store.ingest = (source, options) => (ingested.push(source), ingest(source, options))
    const small = counted(fakeAudio('small.wav', 'Small|X||1', 900))
    const big = counted(fakeAudio('big.wav', 'Big|X||1', SMALL_FILE_BYTES + 1))
    const jobs = await importAll(library, [small, big])
    expect(jobs.map((j) => j.state)).toEqual(['done', 'done'])
    expect(small.reads.n).toBe(1)
    expect(await bytesOf(ingested[0]!)).toEqual(await bytesOf(fakeAudio('small.wav', 'Small|X||1', 900)))
    // The big file is never held whole by the library: the store reads it as it goes.
    expect(ingested[1]).toBe(big)
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

  it('a batch of n files costs O(1) per file: listeners of the track list hear it per batch, each job change names its job', async () => {
    const { catalog, library } = setup()
    const n = 60
    const files = Array.from({ length: n }, (_, i) => fakeAudio(`t${i}.mp3`, `T${i}|||1`))
    // A broken file ends the batch: its own error, and the tracks before it are still told.
    files.push(Object.assign(new Blob(['BROKEN header']), { name: 'cut.mp3' }))
    let tracksEvents = 0
    let committed = 0
    let listReads = 0
    const list = catalog.list.bind(catalog)
    catalog.list = () => (listReads++, list())
    let jobEvents = 0
    let unnamed = 0
    library.events.on('tracks', () => tracksEvents++)
    library.events.on('committed', () => committed++)
    library.events.on('imports', (job) => {
      if (!job) return unnamed++
      jobEvents++
      // Nothing half-imported is visible, and a done job's track is listed at once.
      if (job.state === 'done')
        expect(library.tracks.some((t) => t.contentHash === job.contentHash)).toBe(true)
      else expect(library.tracks.some((t) => t.contentHash === job.contentHash)).toBe(false)
    })
    const jobs = await importAll(library, files)
    expect(jobs.filter((j) => j.state === 'done')).toHaveLength(n)
    expect(jobs.at(-1)).toMatchObject({
      state: 'failed',
      message: expect.stringMatching(/not an audio file|damaged/),
    })
    expect(library.tracks).toHaveLength(n)
    // The clock never moved: the batch's first track is told at once, the rest when it ends.
    expect(tracksEvents).toBe(2)
    expect(committed).toBe(2)
    expect(listReads).toBe(0)
    expect(unnamed).toBe(1)
    expect(jobEvents).toBeLessThanOrEqual(6 * (n + 1))
  })

  it('during a long batch, listeners hear once per BATCH_TRACKS_EVENT_MS at most', async () => {
    const { clock, library } = setup()
    let tracksEvents = 0
    library.events.on('tracks', () => tracksEvents++)
    const jobs = library.add(Array.from({ length: 40 }, (_, i) => fakeAudio(`t${i}.mp3`, `T${i}|||1`)))
    // The clock moves 100 ms at each step while the batch runs.
    while (!jobs.every(isEnded)) await clock.advance(100)
    expect(library.tracks).toHaveLength(40)
    expect(tracksEvents).toBeGreaterThanOrEqual(2)
    expect(tracksEvents).toBeLessThanOrEqual(2 + Math.ceil((40 * 100) / BATCH_TRACKS_EVENT_MS))
    expect(clock.pending).toBe(0)
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

const hashOf = (n: number) => n.toString(16).padStart(64, '0')
/** A catalog entry for planning: `n` names it, `size` in bytes, times in clock ms. */
function entry(n: number, size: number, addedAt: number, extra: Partial<Track> = {}): Track {
  return {
    contentHash: hashOf(n),
    size,
    mime: 'audio/x-fake',
    container: 'FAKE',
    title: `T${n}`,
    pieceSize: 262144,
    pieces: [],
    piecesRoot: '',
    fileName: `t${n}.mp3`,
    addedAt,
    source: 'local',
    ...extra,
  }
}

describe('planEviction', () => {
  // Added at 1..4; T2 played at 50, T4 at 40; T1 and T3 never played (they count from 1 and 3).
  const t1 = entry(1, 100, 1)
  const t2 = entry(2, 200, 2, { lastPlayedAt: 50 })
  const t3 = entry(3, 300, 3)
  const t4 = entry(4, 400, 4, { lastPlayedAt: 40 })
  const all = [t4, t2, t3, t1]
  const titles = (plan: Track[]) => plan.map((t) => t.title)

  it.each<[string, number, Track[], string[], string[]]>([
    ['takes the least recently played first', 1, all, [], ['T1']],
    ['counts a never-played track as played when added', 350, all, [], ['T1', 'T3']],
    ['stops as soon as enough is planned', 400, all, [], ['T1', 'T3']],
    ['goes on to played tracks in the order they were played', 401, all, [], ['T1', 'T3', 'T4']],
    ['plans everything that may go when that is not enough', 10_000, all, [], ['T1', 'T3', 'T4', 'T2']],
    ['skips pinned tracks', 350, [t4, t2, t3, { ...t1, pinned: true }], [], ['T3', 'T4']],
    ['skips the tracks it is told to keep (the one playing)', 350, all, [t3.contentHash], ['T1', 'T4']],
    ['plans nothing for nothing to free', 0, all, [], []],
    ['plans nothing for a negative amount', -5, all, [], []],
    ['plans nothing for NaN', Number.NaN, all, [], []],
    ['plans nothing when every track is pinned', 1, all.map((t) => ({ ...t, pinned: true })), [], []],
  ])('%s', (_, bytes, tracks, keep, expected) => {
    expect(titles(planEviction(tracks, bytes, keep))).toEqual(expected)
  })

  it('breaks ties by when tracks were added, then by hash, so a plan is stable', () => {
    const same = [entry(9, 10, 5, { lastPlayedAt: 7 }), entry(8, 10, 7), entry(7, 10, 5, { lastPlayedAt: 7 })]
    expect(titles(planEviction(same, 30))).toEqual(['T7', 'T9', 'T8'])
  })
})

describe('Library storage care', () => {
  /** Import files one by one, a minute apart, so each has its own addedAt. */
  async function importSpaced(library: Library, clock: FakeClock, files: ImportFile[]) {
    const hashes: string[] = []
    for (const file of files) {
      const [job] = await importAll(library, [file])
      hashes.push(job!.contentHash!)
      await clock.advance(60_000)
    }
    return hashes
  }

  it('pins and records plays in the catalog, where a reloaded library finds them', async () => {
    const { catalog, clock, library } = setup()
    const [a, b] = await importSpaced(library, clock, [
      fakeAudio('a.mp3', 'A|||1'),
      fakeAudio('b.mp3', 'B|||1'),
    ])
    let changes = 0
    library.events.on('committed', () => changes++)
    await library.setPinned(a!, true)
    await library.played(b!)
    expect(changes).toBe(2)
    const reloaded = new Library({
      store: new MemoryStore(),
      catalog,
      tags: fakeTags,
      clock,
      withLock: memoryLocks(),
    })
    await reloaded.refresh()
    expect(reloaded.tracks.map((t) => [t.title, t.pinned, t.lastPlayedAt])).toEqual([
      ['A', true, undefined],
      ['B', undefined, clock.now()],
    ])
    await library.setPinned(a!, false)
    expect((await catalog.get(a!))?.pinned).toBe(false)
    // Playing a track that is not (or no longer) listed changes nothing.
    await library.played(hashOf(77))
    expect(catalog.tracks.size).toBe(2)
  })

  it('frees space in least-recently-played order and never touches pinned tracks', async () => {
    const { store, catalog, clock, library } = setup()
    const size = 100_000
    const [one, two, three, four] = await importSpaced(
      library,
      clock,
      ['One', 'Two', 'Three', 'Four'].map((t) => fakeAudio(`${t}.mp3`, `${t}|||1`, size)),
    )
    // Played: Three, then One. Never played: Two (oldest import), Four. Pinned: Two.
    await library.played(three!)
    await clock.advance(1000)
    await library.played(one!)
    await library.setPinned(two!, true)
    const before = (await store.usage()).bytes

    const plan = library.planEviction(size + 1)
    expect(plan.map((t) => t.title)).toEqual(['Four', 'Three'])
    const removed = await library.evict(plan)
    expect(removed.map((t) => t.title)).toEqual(['Four', 'Three'])
    expect(before - (await store.usage()).bytes).toBe(2 * size)
    expect(await store.has(four!)).toBe(false)
    expect(await store.has(three!)).toBe(false)
    expect(library.tracks.map((t) => t.title)).toEqual(['One', 'Two'])
    expect([...catalog.tracks.values()].map((t) => t.title).sort()).toEqual(['One', 'Two'])

    // Asked for more than may go: only the unpinned track goes; the pinned one stays.
    const rest = await library.evict(library.planEviction(10 * size))
    expect(rest.map((t) => t.title)).toEqual(['One'])
    expect(library.tracks.map((t) => t.title)).toEqual(['Two'])
    expect(await store.has(two!)).toBe(true)
    expect(library.planEviction(10 * size)).toEqual([])
  })

  it('keeps the track it is told to keep (the one playing now)', async () => {
    const { clock, library } = setup()
    const [a] = await importSpaced(library, clock, [fakeAudio('a.mp3', 'A|||1'), fakeAudio('b.mp3', 'B|||1')])
    expect(library.planEviction(Infinity, [a!]).map((t) => t.title)).toEqual(['B'])
  })

  it('a track pinned after the plan was made (here or in another tab) is not evicted', async () => {
    const { store, catalog, clock, library } = setup()
    const [a, b] = await importSpaced(library, clock, [
      fakeAudio('a.mp3', 'A|||1'),
      fakeAudio('b.mp3', 'B|||1'),
    ])
    const plan = library.planEviction(Infinity)
    expect(plan).toHaveLength(2)
    const otherTab = new Library({ store, catalog, tags: fakeTags, clock, withLock: memoryLocks() })
    await otherTab.refresh()
    await otherTab.setPinned(a!, true)
    const removed = await library.evict(plan)
    expect(removed.map((t) => t.contentHash)).toEqual([b])
    expect(await store.has(a!)).toBe(true)
    expect(library.tracks.map((t) => t.title)).toEqual(['A'])
  })

  it('a failed write for lack of space is filed as QUOTA; freeing the planned space lets it in', async () => {
    const { store, clock, library } = setup()
    await importSpaced(library, clock, [
      fakeAudio('old.mp3', 'Old|||1', 100_000),
      fakeAudio('kept.mp3', 'Kept|||1', 100_000),
    ])
    await library.setPinned(library.tracks[1]!.contentHash, true)
    store.quotaBytes = 250_000
    const big = fakeAudio('new.mp3', 'New|||1', 120_000)
    const [failed] = await importAll(library, [big])
    expect(failed).toMatchObject({ state: 'failed', code: 'QUOTA' })
    expect(failed?.message).toMatch(/^Not enough storage space for this file \(120 KB\)\. Free space/)

    const removed = await library.evict(library.planEviction(failed!.size))
    expect(removed.map((t) => t.title)).toEqual(['Old'])
    const [again] = await importAll(library, [big])
    expect(again?.state).toBe('done')
    expect(library.tracks.map((t) => t.title)).toEqual(['Kept', 'New'])
  })

  it('files other failures under their own code, and successes under none', async () => {
    const { library } = setup()
    const text = Object.assign(new Blob(['not music']), { name: 'notes.mp3' })
    const jobs = await importAll(library, [text, fakeAudio('ok.mp3', 'Ok|||1')])
    expect(jobs.map((j) => j.code)).toEqual(['NOT_AUDIO', undefined])
  })
})
