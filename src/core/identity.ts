import { concatBytes, toHex } from './bytes.ts'
import type { KeyAlg } from './wire.ts'

/**
 * A node's identity: a WebCrypto key pair whose public key determines the peer id, so an id
 * cannot be claimed without the private key. Pure WebCrypto (`SubtleCrypto` is passed in), so the
 * same code runs in browsers and under Vitest; persistence lives in src/platform.
 */

/** A key pair plus what the rest of the node needs to know about it. */
export interface Identity {
  readonly peerId: string
  readonly alg: KeyAlg
  /** SubjectPublicKeyInfo (DER) of the public key. */
  readonly publicKey: Uint8Array
  sign(data: Uint8Array): Promise<Uint8Array>
}

/** The key material that platform code persists (a non-extractable private key stays a CryptoKey). */
export type StoredKeys = { alg: KeyAlg; keys: CryptoKeyPair }

const ALGORITHMS: Record<KeyAlg, { generate: EcKeyGenParams | Algorithm; sign: Algorithm | EcdsaParams }> = {
  Ed25519: { generate: { name: 'Ed25519' }, sign: { name: 'Ed25519' } },
  'ECDSA-P256': {
    generate: { name: 'ECDSA', namedCurve: 'P-256' } as EcKeyGenParams,
    sign: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
  },
}

/** Peer ids are the first 16 bytes of SHA-256 over the SPKI public key, in lower-case hex. */
export async function peerIdOf(subtle: SubtleCrypto, publicKey: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await subtle.digest('SHA-256', publicKey as BufferSource))
  return toHex(digest.subarray(0, 16))
}

/** Make a fresh key pair: Ed25519 where the platform has it, ECDSA P-256 otherwise. */
export async function generateKeys(subtle: SubtleCrypto, prefer: KeyAlg[] = ['Ed25519', 'ECDSA-P256']) {
  let lastError: unknown
  for (const alg of prefer) {
    try {
      // The private key is not extractable: not even this page's scripts can read it out later.
      const keys = (await subtle.generateKey(ALGORITHMS[alg].generate, false, [
        'sign',
        'verify',
      ])) as CryptoKeyPair
      return { alg, keys } satisfies StoredKeys
    } catch (error) {
      lastError = error
    }
  }
  throw new Error(`no supported signature algorithm: ${String(lastError)}`)
}

/** Wrap stored keys as an Identity. */
export async function loadIdentity(subtle: SubtleCrypto, stored: StoredKeys): Promise<Identity> {
  const publicKey = new Uint8Array(await subtle.exportKey('spki', stored.keys.publicKey))
  const peerId = await peerIdOf(subtle, publicKey)
  return {
    peerId,
    alg: stored.alg,
    publicKey,
    async sign(data) {
      return new Uint8Array(
        await subtle.sign(ALGORITHMS[stored.alg].sign, stored.keys.privateKey, data as BufferSource),
      )
    },
  }
}

/** Check a signature made by `publicKey` (SPKI); false for any malformed key or signature. */
export async function verifySignature(
  subtle: SubtleCrypto,
  alg: KeyAlg,
  publicKey: Uint8Array,
  data: Uint8Array,
  sig: Uint8Array,
): Promise<boolean> {
  try {
    const key = await subtle.importKey('spki', publicKey as BufferSource, ALGORITHMS[alg].generate, false, [
      'verify',
    ])
    return await subtle.verify(ALGORITHMS[alg].sign, key, sig as BufferSource, data as BufferSource)
  } catch {
    return false
  }
}

// v2: the transcript binds the DTLS fingerprints of the link (v1 nodes fail the proof, clearly).
const CONTEXT = new TextEncoder().encode('dcmx link proof v2\0')

/** The DTLS certificate fingerprints of a link's two ends, as their session descriptions carry them. */
export type LinkFingerprints = { prover: string; verifier: string }

/**
 * What a prover signs: a context string, both peer ids (so a proof made for one verifier is
 * worthless to any other), the verifier's fresh nonce (so it cannot be replayed) and the DTLS
 * fingerprints of both ends of the link it travels on (so a relay that terminates two links, one
 * to each side, cannot pass a proof from one to the other: each side sees the relay's certificate).
 */
export function proofTranscript(
  proverId: string,
  verifierId: string,
  verifierNonce: Uint8Array,
  fingerprints: LinkFingerprints = { prover: '', verifier: '' },
): Uint8Array {
  const ids = new TextEncoder().encode(`${proverId}\0${verifierId}\0`)
  const dtls = new TextEncoder().encode(`\0${fingerprints.prover}\0${fingerprints.verifier}`)
  return concatBytes(CONTEXT, ids, verifierNonce, dtls)
}
