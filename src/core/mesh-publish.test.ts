import { describe, expect, it } from 'vitest'
import type { Track } from './catalog.ts'
import { FakeClock } from './testing/fake-clock.ts'
import { lonelyMesh, SimLibrary, simHash, simTrack } from './testing/mesh-sim.ts'

/** A track whose title counts its reads: how often a publish looked at it. */
function counted(label: string): { track: Track; reads: () => number } {
  const base = simTrack(simHash(label))
  let reads = 0
  const track = Object.defineProperty({ ...base }, 'title', {
    enumerable: true,
    get: () => (reads++, base.title),
  })
  return { track, reads: () => reads }
}

describe('Mesh publish', () => {
  it('checks only the tracks it has not seen: a batch that publishes as it goes costs O(new tracks) per publish', async () => {
    const clock = new FakeClock()
    const local = new SimLibrary()
    const mesh = lonelyMesh(clock, local)
    const old = Array.from({ length: 50 }, (_, i) => counted(`old-${i}`))
    local.tracks = old.map((t) => t.track)
    await mesh.start('manual')
    const readsAfterFirst = old.map((t) => t.reads())
    expect(readsAfterFirst.every((n) => n > 0)).toBe(true)

    // The batch goes on: one more track, the same objects for the rest.
    const added = counted('new')
    local.tracks = [...local.tracks, added.track]
    await mesh.publish()
    expect(old.map((t) => t.reads())).toEqual(readsAfterFirst)
    expect(added.reads()).toBeGreaterThan(0)
    expect(mesh.own?.tracks.size).toBe(51)

    // A changed track is a new object (tracks are replaced, never changed in place): checked again.
    const renamed = { ...simTrack(simHash('old-0')), title: 'Renamed' }
    local.tracks = [renamed, ...local.tracks.slice(1)]
    await mesh.publish()
    expect(mesh.networkTrack(renamed.contentHash)?.title).toBe('Renamed')
    await mesh.stop()
  })
})
