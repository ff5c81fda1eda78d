/**
 * Returns `chunk`, having made and dropped one peer connection while it downloads: a page's first
 * RTCPeerConnection sets up the browser's WebRTC machinery on the main thread (10-70 ms on a busy
 * two-core machine), which would otherwise delay the first link's offer until after the chunk.
 */
export function warmedUp<T>(chunk: Promise<T>): Promise<T> {
  try {
    new RTCPeerConnection().close()
  } catch {
    // No WebRTC here: making the link says so, in its own words.
  }
  return chunk
}
