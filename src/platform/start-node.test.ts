import { afterEach, describe, expect, it, vi } from 'vitest'
import { warmedUp } from './start-node.ts'

describe('warmedUp', () => {
  afterEach(() => vi.unstubAllGlobals())

  it('makes and drops one peer connection while the WebRTC chunk is still loading', async () => {
    const events: string[] = []
    vi.stubGlobal(
      'RTCPeerConnection',
      class {
        constructor() {
          events.push('made')
        }
        close() {
          events.push('closed')
        }
      },
    )
    let loaded!: (module: string) => void
    const chunk = new Promise<string>((resolve) => (loaded = resolve))
    const warmed = warmedUp(chunk)
    // Before the chunk is in: the browser's WebRTC set-up no longer waits for it.
    expect(events).toEqual(['made', 'closed'])
    loaded('module')
    expect(await warmed).toBe('module')
  })

  it('passes the chunk on where the browser has no WebRTC', async () => {
    vi.stubGlobal('RTCPeerConnection', undefined)
    expect(await warmedUp(Promise.resolve('module'))).toBe('module')
  })
})
