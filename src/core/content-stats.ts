/**
 * Counters of the bulk path, both ways, for the node's stats (`window.dcmx.stats.content`): what
 * `content-cancel` saved, and how well the holder keeps its links busy.
 */
export type ContentStats = {
  /** Asking: pieces we cancelled (aborted, timed out, or a duplicate whose other copy won). */
  cancelsSent: number
  /** Asking: bytes of those pieces we never received (what was left of them, minus late frames). */
  savedReceiving: number
  /** Asking: bytes of cancelled pieces that arrived anyway (already on their way). */
  lateBytes: number
  /** Holding: cancels that stopped a piece queued or being sent. */
  cancelsHonoured: number
  /** Holding: bytes of cancelled pieces never read or sent. */
  savedSending: number
  /** Holding: piece frames sent, and piece reads from the store (consecutive pieces share one). */
  pieceFrames: number
  reads: number
  piecesRead: number
  /**
   * Holding: frames about to be sent while a piece was being served and the link's buffer had
   * run empty (the link idled while there was work: the pipe drained).
   */
  drains: number
  /**
   * Holding: pieces asked for while we were serving that peer nothing and its link was empty
   * (the asker's window ran out: once per transfer when its window covers the pipe).
   */
  idleStarts: number
}

export function emptyContentStats(): ContentStats {
  return {
    cancelsSent: 0,
    savedReceiving: 0,
    lateBytes: 0,
    cancelsHonoured: 0,
    savedSending: 0,
    pieceFrames: 0,
    reads: 0,
    piecesRead: 0,
    drains: 0,
    idleStarts: 0,
  }
}
