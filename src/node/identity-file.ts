import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { DcmxError } from '../core/errors.ts'
import { loadIdentity, type Identity } from '../core/identity.ts'
import { writeFileAtomic } from './atomic.ts'

const subtle = globalThis.crypto.subtle

/**
 * This node's identity from its key file (PKCS#8 PEM, Ed25519, mode 0600), made on first start.
 * The peer id is derived from the public key exactly as a tab derives it (core/identity.ts).
 */
export async function loadKeyFile(path: string): Promise<Identity> {
  let pem: string
  try {
    const info = await stat(path)
    if ((info.mode & 0o077) !== 0)
      throw new DcmxError(
        'IDENTITY',
        `The key file ${path} can be read by other users (mode ${(info.mode & 0o777).toString(8)}); run "chmod 600 ${path}" and start again.`,
      )
    pem = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    const { privateKey } = generateKeyPairSync('ed25519')
    pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
    await writeFileAtomic(path, pem, 0o600)
  }
  let privateDer: Buffer
  let publicDer: Buffer
  try {
    const key = createPrivateKey(pem)
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType} key`)
    privateDer = key.export({ type: 'pkcs8', format: 'der' })
    publicDer = createPublicKey(key).export({ type: 'spki', format: 'der' })
  } catch (error) {
    throw new DcmxError(
      'IDENTITY',
      `The key file ${path} is not an Ed25519 private key (${(error as Error).message}); move it away to make a new identity.`,
    )
  }
  const privateKey = await subtle.importKey('pkcs8', new Uint8Array(privateDer), { name: 'Ed25519' }, false, [
    'sign',
  ])
  const publicKey = await subtle.importKey('spki', new Uint8Array(publicDer), { name: 'Ed25519' }, true, [
    'verify',
  ])
  return loadIdentity(subtle, { alg: 'Ed25519', keys: { privateKey, publicKey } })
}
