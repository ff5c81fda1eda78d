import { generateKeys, loadIdentity, type Identity } from '../core/identity.ts'
import { openDcmxDb } from './db.ts'

/** More concurrently open tabs than this share the last slot's fallback: a fresh, unsaved identity. */
const MAX_SLOTS = 32
const SLOT_KEY = 'dcmx.identity-slot'

/**
 * This tab's identity. Tabs of one origin share IndexedDB but must be distinct nodes, so keys
 * live in numbered slots and each tab holds a Web Lock on the slot it uses for as long as it is
 * open. A reload takes the slot it had (remembered in sessionStorage), so the peer id survives it.
 */
export async function loadTabIdentity(subtle: SubtleCrypto = crypto.subtle): Promise<Identity> {
  const slot = await claimSlot()
  if (slot === undefined) return loadIdentity(subtle, await generateKeys(subtle))
  const db = await openDcmxDb()
  try {
    let stored = await db.get('identities', slot)
    if (!stored) {
      stored = await generateKeys(subtle)
      await db.put('identities', stored, slot)
    }
    return await loadIdentity(subtle, stored)
  } finally {
    db.close()
  }
}

async function claimSlot(): Promise<number | undefined> {
  if (!('locks' in navigator)) return 0
  const remembered = Number(sessionStorage.getItem(SLOT_KEY) ?? 0)
  const order = [
    remembered,
    ...Array.from({ length: MAX_SLOTS }, (_, i) => i).filter((i) => i !== remembered),
  ]
  for (const slot of order) {
    if (await holdLock(`dcmx-identity-${slot}`)) {
      sessionStorage.setItem(SLOT_KEY, String(slot))
      return slot
    }
  }
  return undefined
}

/** Take the named lock if free and keep it until the page goes away. */
function holdLock(name: string): Promise<boolean> {
  return new Promise((resolve) => {
    navigator.locks
      .request(name, { ifAvailable: true }, (lock) => {
        resolve(lock !== null)
        // Returning a never-settling promise holds the lock for the page's lifetime.
        return lock ? new Promise<void>(() => {}) : undefined
      })
      .catch(() => resolve(false))
  })
}
