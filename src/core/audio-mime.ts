/**
 * Which media types a track may be served as. A track's type comes from metadata a peer sent, and
 * `/content/<hash>` is in the app's origin, so a type that a browser renders (text/html, image/svg+xml,
 * XML) would let a peer put a page, and its script, in that origin. Only audio passes: any `audio/*`
 * subtype (the importer's, src/workers/tags.ts, are all of this form) and `application/ogg`, the Ogg
 * container's registered type (RFC 5334), which some tools label Ogg audio with.
 */

/** A media type's essence (`type/subtype`, RFC 6838 restricted names, no parameters) that is audio. */
export const AUDIO_ESSENCE = /^(?:audio\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}|application\/ogg)$/i

/** `type/subtype` with optional parameters, and nothing that could break a header. */
const HEADER_SAFE_MIME =
  /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+(\s*;\s*[a-z0-9!#$&^_.+-]+=("[^"\\\r\n]*"|[a-z0-9!#$&^_.+-]+))*$/i

/** What a response of unknown or refused type is served as: bytes no browser renders. */
export const OPAQUE_MIME = 'application/octet-stream'

/** Whether `mime` (with or without parameters) is an audio type we serve. */
export function isAudioMime(mime: string): boolean {
  if (mime.length > 255 || !HEADER_SAFE_MIME.test(mime)) return false
  return AUDIO_ESSENCE.test(mime.split(';', 1)[0]?.trim() ?? '')
}

/** `mime` if it is an audio type we serve, else application/octet-stream. */
export const servedMime = (mime: string): string => (isAudioMime(mime) ? mime : OPAQUE_MIME)
