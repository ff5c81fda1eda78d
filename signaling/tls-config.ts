/** The TLS flags of `npm start` (--tls-cert/--tls-key or --tls-self-signed), parsed and loaded. */
import { err, ok, type Result } from '../src/core/result.ts'
import { loadTls, selfSignedTls, type TlsIdentity } from './tls.ts'

/** Where the certificate comes from. */
export type TlsConfig =
  { kind: 'files'; cert: string; key: string } | { kind: 'self-signed'; names: string[] }

/** Check the combination of TLS flags (already picked from argv/env); pure. */
export function parseTlsConfig(
  cert: string | undefined,
  key: string | undefined,
  selfSigned: string | undefined,
): Result<TlsConfig | undefined, string> {
  if (selfSigned !== undefined) {
    if (cert !== undefined || key !== undefined)
      return err('--tls-self-signed and --tls-cert/--tls-key exclude each other')
    const names = selfSigned
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
    if (names.length === 0) return err('--tls-self-signed needs the names or addresses the LAN will use')
    return ok({ kind: 'self-signed', names })
  }
  if (cert === undefined && key === undefined) return ok(undefined)
  if (cert === undefined || key === undefined) return err('--tls-cert and --tls-key go together')
  return ok({ kind: 'files', cert, key })
}

/** Load or make the certificate a TlsConfig names. */
export function resolveTls(config: TlsConfig): Promise<TlsIdentity> {
  return config.kind === 'files' ? loadTls(config.cert, config.key) : selfSignedTls(config.names)
}
