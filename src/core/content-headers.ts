/**
 * What every `/content/<hash>` answer carries, wherever it is served from (the tab's service
 * worker, the headless node's local API): bytes from peers are untrusted, so the response must be
 * inert — never a document, never sniffed into one, never able to run script or load anything.
 */
export const INERT_CONTENT_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': "default-src 'none'; sandbox",
  'X-Content-Type-Options': 'nosniff',
  'Content-Disposition': 'inline',
}

/** An audio media type (`audio/…`, parameters allowed): the only kind `/content` serves. */
export function isAudioMime(mime: string): boolean {
  return /^audio\/[a-z0-9!#$&^_.+-]+(\s*;.*)?$/i.test(mime)
}
