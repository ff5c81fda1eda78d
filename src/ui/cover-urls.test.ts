import { afterEach, describe, expect, it, vi } from 'vitest'
import { CoverUrls } from './cover-urls.ts'

/** A cover source whose loads resolve only when the test says so. */
function deferredCovers() {
  const pending = new Map<string, (blob: Blob | undefined) => void>()
  const calls: string[] = []
  const load = (hash: string) => {
    calls.push(hash)
    return new Promise<Blob | undefined>((resolve) => pending.set(hash, resolve))
  }
  /** Resolve a pending load with an image, or with nothing when the catalog has no such cover. */
  const settle = async (hash: string, found = true) => {
    pending.get(hash)?.(found ? new Blob([hash]) : undefined)
    await new Promise((r) => setTimeout(r, 0))
  }
  return { load, calls, settle }
}

describe('CoverUrls', () => {
  afterEach(() => vi.restoreAllMocks())

  it('loads each shown cover once, however many tracks share it', async () => {
    const covers = deferredCovers()
    const urls = new CoverUrls(covers.load)
    urls.show(['a', 'a', 'b'])
    urls.show(['a', 'b'])
    expect(covers.calls).toEqual(['a', 'b'])
    await covers.settle('a')
    expect(urls.get('a')).toMatch(/^blob:/)
    expect(urls.get('b')).toBeUndefined()
    expect(urls.get(undefined)).toBeUndefined()
  })

  it('revokes a cover once it is no longer shown, and loads it again when it returns', async () => {
    const revoke = vi.spyOn(URL, 'revokeObjectURL')
    const covers = deferredCovers()
    const urls = new CoverUrls(covers.load)
    urls.show(['a'])
    await covers.settle('a')
    const first = urls.get('a')
    urls.show([])
    expect(revoke).toHaveBeenCalledWith(first)
    expect(urls.get('a')).toBeUndefined()
    urls.show(['a'])
    expect(covers.calls).toEqual(['a', 'a'])
  })

  it('drops a cover that arrives after it left the screen, and one the source does not have', async () => {
    const create = vi.spyOn(URL, 'createObjectURL')
    const covers = deferredCovers()
    const urls = new CoverUrls(covers.load)
    urls.show(['a', 'b'])
    urls.show(['b'])
    await covers.settle('a')
    await covers.settle('b', false)
    expect(urls.get('a')).toBeUndefined()
    expect(urls.get('b')).toBeUndefined()
    expect(create).not.toHaveBeenCalled()
  })

  it('revokes everything on dispose and ignores loads that finish later', async () => {
    const revoke = vi.spyOn(URL, 'revokeObjectURL')
    const covers = deferredCovers()
    const urls = new CoverUrls(covers.load)
    urls.show(['a', 'b'])
    await covers.settle('a')
    const a = urls.get('a')
    urls.dispose()
    await covers.settle('b')
    expect(revoke).toHaveBeenCalledWith(a)
    expect(urls.get('a')).toBeUndefined()
    expect(urls.get('b')).toBeUndefined()
  })
})
