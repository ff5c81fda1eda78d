import { describe, expect, it } from 'vitest'
import { eachBounded, fillPrecache } from './precache.ts'

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

describe('fillPrecache', () => {
  const base = 'https://dcmx.test/sw.js'
  const manifest = [
    { url: '/index.html', revision: 'r1' },
    '/assets/app-abc123.js',
    { url: '/assets/style-def456.css', revision: null },
  ]
  // Workbox keys a revisioned entry by its URL with the revision in the query, a hashed name by itself.
  const keyOf = (href: string) => (href.endsWith('/index.html') ? `${href}?__WB_REVISION__=r1` : href)
  const controller = {
    getCacheKeyForURL: (href: string) => (href.startsWith('https://dcmx.test/') ? keyOf(href) : undefined),
    getIntegrityForCacheKey: () => undefined,
    strategy: {
      cacheName: 'precache-test',
      handleAll: () => [Promise.resolve(new Response()), Promise.resolve()],
    },
  } as unknown as Parameters<typeof fillPrecache>[0]

  function fakes(answer: (url: string) => Response = (url) => new Response(`body of ${url}`)) {
    const stored = new Map<string, Response>()
    const opened: string[] = []
    const fetched: Request[] = []
    const cache = {
      match: async (key: string) => stored.get(key),
      put: async (key: string, response: Response) => void stored.set(key, response),
    }
    const deps = {
      caches: { open: async (name: string) => (opened.push(name), cache as unknown as Cache) },
      fetch: async (request: Request) => (fetched.push(request), answer(new URL(request.url).pathname)),
    }
    return { stored, opened, fetched, deps }
  }

  it('caches every entry under the key the precache route looks it up by, in the strategy’s cache', async () => {
    const { stored, opened, fetched, deps } = fakes()
    await fillPrecache(controller, manifest, base, deps)
    expect(opened).toEqual(['precache-test'])
    expect([...stored.keys()].sort()).toEqual([
      'https://dcmx.test/assets/app-abc123.js',
      'https://dcmx.test/assets/style-def456.css',
      'https://dcmx.test/index.html?__WB_REVISION__=r1',
    ])
    expect(await stored.get('https://dcmx.test/index.html?__WB_REVISION__=r1')!.text()).toBe(
      'body of /index.html',
    )
    // A revisioned entry bypasses the HTTP cache; a hashed name may use it.
    const modes = Object.fromEntries(fetched.map((r) => [new URL(r.url).pathname, r.cache]))
    expect(modes).toEqual({
      '/index.html': 'reload',
      '/assets/app-abc123.js': 'default',
      '/assets/style-def456.css': 'default',
    })
  })

  it('fetches only what is missing, so asking again costs lookups, not downloads', async () => {
    const { stored, fetched, deps } = fakes()
    stored.set('https://dcmx.test/assets/app-abc123.js', new Response('cached'))
    await fillPrecache(controller, manifest, base, deps)
    expect(fetched.map((r) => new URL(r.url).pathname).sort()).toEqual([
      '/assets/style-def456.css',
      '/index.html',
    ])
    expect(await stored.get('https://dcmx.test/assets/app-abc123.js')!.text()).toBe('cached')
    fetched.length = 0
    await fillPrecache(controller, manifest, base, deps)
    expect(fetched).toEqual([])
  })

  it('rejects, naming the entry, when one cannot be fetched, and never caches an error response', async () => {
    const { stored, deps } = fakes((url) =>
      url.endsWith('.css') ? new Response('gone', { status: 404 }) : new Response(`body of ${url}`),
    )
    await expect(fillPrecache(controller, manifest, base, deps, 1)).rejects.toThrow(
      '/assets/style-def456.css answered HTTP 404',
    )
    expect([...stored.keys()].some((k) => k.endsWith('.css'))).toBe(false)
  })

  it('rejects an entry the controller does not list, fetching nothing', async () => {
    const { fetched, deps } = fakes()
    await expect(fillPrecache(controller, ['https://elsewhere.test/x.js'], base, deps)).rejects.toThrow(
      'is not in the precache list',
    )
    expect(fetched).toEqual([])
  })
})
