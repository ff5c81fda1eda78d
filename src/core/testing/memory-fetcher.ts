import type { Track } from '../catalog.ts'
import { Fetcher } from '../fetcher.ts'
import type { TrackMeta } from '../wire.ts'
import { MemoryPartialStore } from './memory-partial.ts'
import { MemoryStore } from './memory-store.ts'
import { nodeSha256, type SignedHolder } from './signed-holder.ts'
import { realClock } from './ws-socket.ts'

/**
 * A Fetcher over in-memory stores whose holders are `holders` (all linked), recording the
 * penalties it hands out and the tracks it adopts.
 */
export function memoryFetcher(holders: SignedHolder[], meta: TrackMeta) {
  const store = new MemoryStore()
  const penalties: { peerId: string; reason: string; ban: boolean }[] = []
  const adopted: Track[] = []
  const byId = new Map(holders.map((h) => [h.peerId, h]))
  const f = new Fetcher({
    clock: realClock,
    random: Math.random,
    sha256: nodeSha256,
    partials: new MemoryPartialStore(store),
    meta: () => meta,
    holders: () => holders.map((h) => h.peerId),
    descriptor: (peerId) => byId.get(peerId)?.signed,
    linked: (peerId) => byId.get(peerId),
    connect: () => {},
    readStored: (hash, start, end) => store.read(hash, start, end),
    adopt: async (track) => void adopted.push(track),
    penalise: (peerId, reason, ban) => void penalties.push({ peerId, reason, ban }),
    config: { locateTimeoutMs: 2_000 },
  })
  return { f, penalties, adopted }
}
