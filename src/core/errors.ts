/** Error codes a user or the log can act on. */
export type DcmxErrorCode =
  | 'IDENTITY'
  | 'LINK_CLOSED'
  | 'TIMEOUT'
  | 'PEER_GONE'
  | 'BAD_MESSAGE'
  | 'SIGNALING'
  | 'UNSUPPORTED'
  | 'NOT_AUDIO'
  | 'UNREADABLE'
  | 'TOO_BIG'
  | 'QUOTA'
  | 'NOT_FOUND'
  | 'HASH_MISMATCH'
  | 'ABORTED'

/** An error with a machine-readable code; the message is a sentence for people. */
export class DcmxError extends Error {
  constructor(
    readonly code: DcmxErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'DcmxError'
  }
}
