import { describe, expect, it } from 'vitest'
import { SKIP_S, SystemMediaSession, type MediaControls } from './media-session.ts'

/** A media session that records what the page told it and lets a test press its keys. */
function fakeSession() {
  const handlers = new Map<MediaSessionAction, MediaSessionActionHandler>()
  const positions: (MediaPositionState | undefined)[] = []
  const session = {
    metadata: null as MediaMetadata | null,
    playbackState: 'none' as MediaSessionPlaybackState,
    setActionHandler(action: MediaSessionAction, handler: MediaSessionActionHandler | null) {
      if (handler) handlers.set(action, handler)
      else handlers.delete(action)
    },
    setPositionState(state?: MediaPositionState) {
      positions.push(state)
    },
  }
  const press = (action: MediaSessionAction, details: Partial<MediaSessionActionDetails> = {}) =>
    handlers.get(action)?.({ action, ...details })
  return { session, handlers, positions, press }
}

/** The parts of an audio element the session reads and sets. */
function fakeAudio(duration: number) {
  const audio = Object.assign(new EventTarget(), {
    currentTime: 0,
    duration,
    paused: true,
    playbackRate: 1,
  })
  return audio
}

function setup(duration = 100) {
  const calls: string[] = []
  const controls: MediaControls = {
    play: async () => void calls.push('play'),
    pause: () => void calls.push('pause'),
    previous: async () => void calls.push('previous'),
    next: async () => void calls.push('next'),
  }
  const fake = fakeSession()
  const media = new SystemMediaSession(controls, {
    session: fake.session as unknown as MediaSession,
    metadata: (init) => init as MediaMetadata,
  })
  const audio = fakeAudio(duration)
  const detach = media.attach(audio as unknown as HTMLAudioElement)
  return { ...fake, media, audio, calls, detach }
}

describe('SystemMediaSession', () => {
  it('tells the browser nothing for a player that starts empty, and clears once a track was described', () => {
    const { session, positions, media } = setup()
    const writes: string[] = []
    let metadata = session.metadata
    let state = session.playbackState
    Object.defineProperties(session, {
      metadata: {
        get: () => metadata,
        set: (m: MediaMetadata | null) => void (writes.push('metadata'), (metadata = m)),
      },
      playbackState: {
        get: () => state,
        set: (s: MediaSessionPlaybackState) => void (writes.push('state'), (state = s)),
      },
    })
    media.describe(undefined)
    expect(writes).toEqual([])
    expect(positions).toEqual([])
    media.describe({ title: 'Tone' })
    media.describe(undefined)
    expect(writes).toEqual(['metadata', 'metadata', 'state'])
    expect(metadata).toBeNull()
    expect(state).toBe('none')
    expect(positions).toEqual([undefined])
  })

  it('describes the track, with the app icon when it has no cover, and clears when the player empties', () => {
    const { session, media } = setup()
    media.describe({ title: 'Tone', artist: 'Tests' })
    expect(session.metadata).toMatchObject({ title: 'Tone', artist: 'Tests', album: '' })
    expect((session.metadata as unknown as MediaMetadataInit).artwork?.[0]?.src).toBe('/icon-192.png')
    media.describe({ title: 'Tone' }, 'blob:cover')
    expect((session.metadata as unknown as MediaMetadataInit).artwork).toEqual([{ src: 'blob:cover' }])
    media.describe(undefined)
    expect(session.metadata).toBeNull()
    expect(session.playbackState).toBe('none')
  })

  it('routes play, pause, previous and next to the player', () => {
    const { press, calls } = setup()
    for (const action of ['play', 'pause', 'previoustrack', 'nexttrack'] as const) press(action)
    expect(calls).toEqual(['play', 'pause', 'previous', 'next'])
  })

  it('seeks the element, within the track, and reports the new position', () => {
    const { press, audio, positions } = setup(100)
    audio.currentTime = 50
    press('seekto', { seekTime: 80 })
    expect(audio.currentTime).toBe(80)
    expect(positions.at(-1)).toEqual({ duration: 100, playbackRate: 1, position: 80 })
    press('seekforward')
    expect(audio.currentTime).toBe(80 + SKIP_S)
    press('seekforward', { seekOffset: 30 })
    expect(audio.currentTime).toBe(100)
    press('seekbackward', { seekOffset: 5 })
    expect(audio.currentTime).toBe(95)
    audio.currentTime = 3
    press('seekbackward')
    expect(audio.currentTime).toBe(0)
  })

  it('follows playing and paused, and says no position while the duration is unknown', () => {
    const { session, media, audio, positions } = setup(Number.NaN)
    media.describe({ title: 'Tone' })
    audio.paused = false
    audio.dispatchEvent(new Event('play'))
    expect(session.playbackState).toBe('playing')
    expect(positions.at(-1)).toBeUndefined()
    audio.duration = 20
    audio.currentTime = 4
    audio.paused = true
    audio.dispatchEvent(new Event('pause'))
    expect(session.playbackState).toBe('paused')
    expect(positions.at(-1)).toEqual({ duration: 20, playbackRate: 1, position: 4 })
  })

  it('stops following a detached element and gives the keys back on dispose', () => {
    const { session, media, audio, detach, handlers, press } = setup()
    media.describe({ title: 'Tone' })
    detach()
    audio.paused = false
    audio.dispatchEvent(new Event('play'))
    expect(session.playbackState).not.toBe('playing')
    press('seekto', { seekTime: 10 })
    expect(audio.currentTime).toBe(0)
    media.dispose()
    expect(handlers.size).toBe(0)
    expect(session.metadata).toBeNull()
  })
})
