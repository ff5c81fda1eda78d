import { generateKeys, loadIdentity, type Identity } from '../identity.ts'
import type { CryptoDeps } from '../peer-session.ts'

/** WebCrypto as Node provides it, in the shape the core takes. */
export const nodeCrypto: CryptoDeps = {
  subtle: globalThis.crypto.subtle,
  randomBytes: (n) => globalThis.crypto.getRandomValues(new Uint8Array(n)),
}

/** A fresh identity for a test node. */
export async function testIdentity(alg?: Identity['alg']): Promise<Identity> {
  return loadIdentity(nodeCrypto.subtle, await generateKeys(nodeCrypto.subtle, alg ? [alg] : undefined))
}
