/**
 * HTTPS for `npm start`: a browser on another device only runs DCMX from a secure context
 * (WebCrypto, service workers), and a non-localhost http:// page is not one. The operator either
 * brings a certificate (--tls-cert/--tls-key) or asks for a self-signed one (--tls-self-signed
 * <names>); its SHA-256 fingerprint is printed so a user can check it before accepting it.
 */
import { createHash, X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import { generate } from 'selfsigned'

/** A certificate chain and its private key, PEM. */
export type TlsOptions = { cert: string; key: string }

/** A loaded certificate with what a user needs to recognise it. */
export type TlsIdentity = TlsOptions & {
  /** SHA-256 of the certificate, colon-separated hex (what browsers show). */
  fingerprint: string
  /** base64 SHA-256 of the public key (SPKI), as Chromium's --ignore-certificate-errors-spki-list takes it. */
  spki: string
  names: string[]
}

/** A self-signed certificate lasts this long: a LAN trial, not a deployment. */
const SELF_SIGNED_DAYS = 30

function describe(tls: TlsOptions): TlsIdentity {
  const x509 = new X509Certificate(tls.cert)
  const spkiDer = x509.publicKey.export({ type: 'spki', format: 'der' })
  const names = (x509.subjectAltName ?? '')
    .split(', ')
    .map((s) => s.replace(/^(DNS|IP Address):/, ''))
    .filter(Boolean)
  return {
    ...tls,
    fingerprint: x509.fingerprint256,
    spki: createHash('sha256').update(spkiDer).digest('base64'),
    names,
  }
}

/** Read a PEM certificate and key; rejects with a message naming the file that is wrong. */
export async function loadTls(certPath: string, keyPath: string): Promise<TlsIdentity> {
  const read = async (path: string, what: string) => {
    try {
      return await readFile(path, 'utf8')
    } catch (e) {
      throw new Error(`cannot read the TLS ${what} ${path}: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      })
    }
  }
  const tls = { cert: await read(certPath, 'certificate'), key: await read(keyPath, 'key') }
  try {
    return describe(tls)
  } catch (e) {
    throw new Error(`${certPath} is not a PEM certificate: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    })
  }
}

/** A fresh self-signed certificate for these host names and IP addresses (plus localhost). */
export async function selfSignedTls(names: string[], now = new Date()): Promise<TlsIdentity> {
  const all = [...new Set([...names, 'localhost', '127.0.0.1'])]
  const notAfterDate = new Date(now.getTime() + SELF_SIGNED_DAYS * 86_400_000)
  const pems = await generate([{ name: 'commonName', value: all[0] ?? 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: now,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: all.map((n) => (isIP(n) ? { type: 7 as const, ip: n } : { type: 2 as const, value: n })),
      },
    ],
  })
  return describe({ cert: pems.cert, key: pems.private })
}
