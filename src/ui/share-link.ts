/** The fragment key of a shared track: `#track=<hash>` (a fragment never reaches the server's logs). */
const TRACK_KEY = 'track'
const HASH = /^[0-9a-f]{64}$/

/**
 * A link that opens the app in `room` and plays the track with `hash` from the mesh:
 * `<origin>/?room=<room>#track=<hash>`. Other query settings of the page are not carried over.
 */
export function shareLink(origin: string, room: string, hash: string): string {
  const url = new URL('/', origin)
  url.searchParams.set('room', room)
  url.hash = `${TRACK_KEY}=${hash}`
  return url.href
}

/** The content hash a page was opened to play (`#track=<hash>`), if its fragment names a valid one. */
export function sharedTrack(url: URL): string | undefined {
  const params = new URLSearchParams(url.hash.replace(/^#/, ''))
  const hash = params.get(TRACK_KEY)?.toLowerCase()
  return hash && HASH.test(hash) ? hash : undefined
}

/** The same URL without its `#track=` fragment, so a reload does not start the shared track again. */
export function withoutSharedTrack(url: URL): string {
  const params = new URLSearchParams(url.hash.replace(/^#/, ''))
  params.delete(TRACK_KEY)
  const rest = params.toString()
  return `${url.pathname}${url.search}${rest ? `#${rest}` : ''}`
}
