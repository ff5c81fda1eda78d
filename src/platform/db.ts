import { openDB, type DBSchema, type IDBPDatabase } from 'idb'
import type { StoredKeys } from '../core/identity.ts'

/** The node's metadata database. Each version's upgrade step is kept, so any old database migrates. */
export interface DcmxDb extends DBSchema {
  /** Key pairs by slot: one per concurrently open tab, so two tabs are two nodes. */
  identities: { key: number; value: StoredKeys }
}

export const DB_NAME = 'dcmx'
export const DB_VERSION = 1

export async function openDcmxDb(): Promise<IDBPDatabase<DcmxDb>> {
  const db: IDBPDatabase<DcmxDb> = await openDB<DcmxDb>(DB_NAME, DB_VERSION, {
    upgrade(database, oldVersion) {
      if (oldVersion < 1) database.createObjectStore('identities')
    },
    // A newer version opened in another tab: step aside so its upgrade can run.
    blocking: () => db.close(),
  })
  return db
}
