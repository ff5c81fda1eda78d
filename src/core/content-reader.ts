/**
 * What the player needs to stream a track, local or remote: its size and type, and any byte range.
 * The service worker answers `/content/<hash>` Range requests through this (via the page, which
 * holds the store and the links); a remote track's missing pieces are fetched from peers first.
 */
export interface ContentReader {
  /** Size and media type of a track this node holds or can fetch; undefined if it knows no such track. */
  describe(hash: string): Promise<{ size: number; mime: string } | undefined>
  /**
   * Bytes [start, end) of the track. For a remote track, waits until the pieces covering the range
   * are fetched and verified. Rejects with a DcmxError: NOT_FOUND (unknown track), PEER_GONE (no
   * holder reachable), TIMEOUT, ABORTED.
   */
  read(hash: string, start: number, end: number, signal?: AbortSignal): Promise<Uint8Array>
}
