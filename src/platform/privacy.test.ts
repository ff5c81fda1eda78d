import { describe, expect, it } from 'vitest'
import { RelayOnlySetting } from './privacy.ts'

const memory = () => {
  const map = new Map<string, string>()
  return { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v) }
}

describe('RelayOnlySetting', () => {
  it('is off by default, remembers a change, and the URL overrides what is stored', () => {
    const storage = memory()
    const plain = new RelayOnlySetting(new URL('https://dcmx.test/'), storage)
    expect(plain.value).toBe(false)
    plain.set(true)
    expect(new RelayOnlySetting(new URL('https://dcmx.test/'), storage).value).toBe(true)
    const forcedOff = new RelayOnlySetting(new URL('https://dcmx.test/?relay=0'), storage)
    expect([forcedOff.value, forcedOff.fromUrl]).toEqual([false, true])
    expect(new RelayOnlySetting(new URL('https://dcmx.test/?relay=1'), memory()).value).toBe(true)
    expect(new RelayOnlySetting(new URL('https://dcmx.test/?relay=yes'), memory()).fromUrl).toBe(false)
  })

  it('still works when storage refuses', () => {
    const broken = {
      getItem: () => {
        throw new Error('denied')
      },
      setItem: () => {
        throw new Error('denied')
      },
    }
    const setting = new RelayOnlySetting(new URL('https://dcmx.test/'), broken)
    setting.set(true)
    expect(setting.value).toBe(true)
  })
})
