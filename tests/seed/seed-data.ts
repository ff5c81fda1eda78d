/**
 * What the big-library seed puts in a page, as pure functions of a track's number: the page-side
 * seeder (page-seed.ts) and the tests that check the page (e2e, bench) both derive it from here,
 * so a test knows the right rows for a query without reading them back from the page.
 */

/** WAV samples per library track (8 kHz mono, 8-bit): 50 ms of tone. */
const SAMPLES = 400

/** Library track n: titles, artists and albums repeat with different periods, so queries cut across. */
export function libraryTags(n: number) {
  return {
    title: `Song ${n}`,
    artist: `Artist ${n % 97}`,
    album: `Album ${n % 31}`,
    durationS: SAMPLES / 8000,
  }
}

/** Network track n (announced by origin `originOf(n)`): playable, described metadata. */
export function networkTags(n: number) {
  return {
    title: `Tune ${n}`,
    artist: `Band ${n % 499}`,
    album: `Record ${n % 53}`,
    durationS: 30 + (n % 400),
  }
}

/** Tracks per simulated origin (each one peer with its own key and signed record). */
export const TRACKS_PER_ORIGIN = 1000

/** A network track's size in bytes (what its record's descriptor signs). */
export const networkSize = (n: number): number => 100_000 + n

/** The content hash of network track n: any 64 hex digits, fixed by n (these bytes live nowhere). */
export function networkHash(n: number): string {
  // Two rounds of a 32-bit mix, eight times over: distinct for every n, spread over the hex space.
  let out = ''
  for (let i = 0; i < 8; i++) {
    let x = Math.imul(n + 1, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca77)
    x = Math.imul(x ^ (x >>> 16), 0x7feb352d)
    x = Math.imul(x ^ (x >>> 15), 0x846ca68b)
    out += ((x ^ (x >>> 16)) >>> 0).toString(16).padStart(8, '0')
  }
  return out
}

/**
 * The bytes of library track n: a short, valid WAV (8 kHz mono PCM) whose RIFF INFO tags carry
 * `libraryTags(n)`, as a tag reader finds them; the samples spell n, so no two tracks share bytes.
 */
export function libraryWav(n: number): Uint8Array<ArrayBuffer> {
  const tags = libraryTags(n)
  const enc = new TextEncoder()
  const info = (id: string, text: string) => {
    const body = enc.encode(`${text}\0`)
    const padded = body.length + (body.length % 2)
    const chunk = new Uint8Array(8 + padded)
    chunk.set(enc.encode(id))
    new DataView(chunk.buffer).setUint32(4, body.length, true)
    chunk.set(body, 8)
    return chunk
  }
  const infos = [info('INAM', tags.title), info('IART', tags.artist), info('IPRD', tags.album)]
  const listSize = 4 + infos.reduce((sum, c) => sum + c.length, 0)
  const out = new Uint8Array(12 + 24 + 8 + listSize + 8 + SAMPLES)
  const view = new DataView(out.buffer)
  let at = 0
  const ascii = (s: string) => {
    out.set(enc.encode(s), at)
    at += 4
  }
  const u32 = (v: number) => {
    view.setUint32(at, v, true)
    at += 4
  }
  const u16 = (v: number) => {
    view.setUint16(at, v, true)
    at += 2
  }
  ascii('RIFF')
  u32(out.length - 8)
  ascii('WAVE')
  ascii('fmt ')
  u32(16)
  u16(1) // PCM
  u16(1) // mono
  u32(8000)
  u32(8000)
  u16(1)
  u16(8)
  ascii('LIST')
  u32(listSize)
  ascii('INFO')
  for (const chunk of infos) {
    out.set(chunk, at)
    at += chunk.length
  }
  ascii('data')
  u32(SAMPLES)
  for (let i = 0; i < SAMPLES; i++) out[at + i] = 128 + Math.round(40 * Math.sin(i / 3))
  view.setUint32(at, n, true)
  return out
}
