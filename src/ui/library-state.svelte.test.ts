import { flushSync } from 'svelte'
import { describe, expect, it } from 'vitest'
import type { Track } from '../core/catalog.ts'
import { Emitter } from '../core/emitter.ts'
import type { ImportJob, LibraryEvents } from '../core/library.ts'
import type { StorageEstimate } from '../core/storage-status.ts'
import { ImportsState } from './imports-state.svelte.ts'
import { LibraryState } from './library-state.svelte.ts'
import { StorageState } from './storage-state.svelte.ts'

function track(title: string, extra: Partial<Track> = {}): Track {
  return {
    contentHash: title.toLowerCase().padEnd(64, '0').slice(0, 64),
    size: 1000,
    mime: 'audio/wav',
    container: 'WAVE',
    title,
    pieceSize: 262144,
    pieces: [],
    piecesRoot: '',
    fileName: `${title}.wav`,
    addedAt: 0,
    source: 'local',
    ...extra,
  }
}

/** The library as the state classes see it: lists, events, and calls that can be made to fail. */
class FakeLibrary {
  tracks: Track[] = []
  imports: ImportJob[] = []
  events = new Emitter<LibraryEvents>()
  failRemove = false
  removed: string[] = []
  add = () => []
  cancel() {}
  cancelAll() {}
  clearEnded() {}
  async remove(hash: string) {
    if (this.failRemove) throw new Error('The disk said no.')
    this.removed.push(hash)
    this.tracks = this.tracks.filter((t) => t.contentHash !== hash)
    this.events.emit('tracks')
  }
  async blob() {
    return new Blob(['x'])
  }
  async setPinned(hash: string, pinned: boolean) {
    this.tracks = this.tracks.map((t) => (t.contentHash === hash ? { ...t, pinned } : t))
    this.events.emit('tracks')
  }
  async played() {}
  async evict(tracks: readonly Track[]) {
    return [...tracks]
  }
}

const titles = (s: LibraryState) => s.visible.map((t) => t.title)

describe('LibraryState', () => {
  it('follows the library, searches, sorts by a header (asc, desc, back to import order) and says which tracks are here', () => {
    const source = new FakeLibrary()
    const state = new LibraryState(source, async () => undefined)
    source.tracks = [
      track('Beta', { artist: 'Zed', addedAt: 1 }),
      track('alpha', { artist: 'Ann', addedAt: 2 }),
      track('Gamma', { addedAt: 3 }),
    ]
    source.events.emit('tracks')
    expect(titles(state)).toEqual(['Beta', 'alpha', 'Gamma'])
    state.sortBy('title')
    expect(titles(state)).toEqual(['alpha', 'Beta', 'Gamma'])
    state.sortBy('title')
    expect(titles(state)).toEqual(['Gamma', 'Beta', 'alpha'])
    state.sortBy('title')
    expect([state.sortKey, titles(state)]).toEqual(['added', ['Beta', 'alpha', 'Gamma']])
    state.search = 'ann'
    expect(titles(state)).toEqual(['alpha'])
    expect(state.playable.map((t) => t.title)).toEqual(['alpha'])
    expect(state.has(track('Gamma').contentHash)).toBe(true)
    expect(state.track(track('Beta').contentHash)).toMatchObject({
      title: 'Beta',
      artist: 'Zed',
      mime: 'audio/wav',
    })
    state.dispose()
  })

  it('pins (asking once for persistent storage), removes, and says why a removal failed', async () => {
    const source = new FakeLibrary()
    let pins = 0
    let changes = 0
    const state = new LibraryState(source, async () => undefined, {
      pinned: () => pins++,
      changed: () => changes++,
    })
    source.tracks = [track('One'), track('Two')]
    source.events.emit('tracks')
    await state.togglePin(track('One').contentHash)
    expect(state.get(track('One').contentHash)?.pinned).toBe(true)
    await state.togglePin(track('One').contentHash)
    expect(pins).toBe(1)
    source.failRemove = true
    await state.remove(track('Two').contentHash)
    expect(state.error).toBe('Could not remove “Two”: The disk said no. Reload the page and try again.')
    source.failRemove = false
    await state.remove(track('Two').contentHash)
    expect(state.error).toBeUndefined()
    expect(titles(state)).toEqual(['One'])
    expect(changes).toBe(2)
  })
})

describe('StorageState and ImportsState', () => {
  it('re-reads storage when an import ends, asks for persistence once one is done, and frees space through the plan', async () => {
    const source = new FakeLibrary()
    let reads = 0
    let persists = 0
    const estimate: StorageEstimate = { usage: 5000, quota: 10_000, persisted: false }
    const storage = new StorageState(
      {
        estimate: async () => (reads++, estimate),
        persist: async () => (persists++, true),
      },
      { tracks: () => source.tracks, playing: () => undefined, evict: (t) => source.evict(t) },
    )
    const imports = new ImportsState(source, {
      ended: () => void storage.refresh(),
      done: () => storage.persistOnce(),
    })
    await storage.refresh()
    expect(storage.estimate).toEqual(estimate)
    const before = reads

    source.imports = [{ id: 1, name: 'a.wav', size: 10, bytesDone: 10, state: 'done' }]
    source.events.emit('imports')
    source.imports = [...source.imports, { id: 2, name: 'b.wav', size: 10, bytesDone: 10, state: 'done' }]
    source.events.emit('imports')
    await Promise.resolve()
    expect(imports.jobs).toHaveLength(2)
    expect(imports.progress.files).toBe(2)
    expect(reads - before).toBeGreaterThanOrEqual(2)
    expect(persists).toBe(1)
    expect(storage.persistOutcome).toBe('granted')

    source.tracks = [track('Old', { size: 3000 }), track('Kept', { size: 3000, pinned: true })]
    storage.space.open(2000)
    flushSync()
    expect(storage.space.plan.map((t) => t.title)).toEqual(['Old'])
    await storage.space.confirm()
    expect(storage.space.result).toMatch(/^Removed 1 track/)
    imports.dispose()
  })
})
