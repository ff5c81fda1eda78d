/**
 * `npm run bench:directory-memory`: what the peer directory costs in heap, and what one node holds
 * at most under a Sybil flood. Measures, never asserts. Heap is V8's `heapUsed` after two full
 * collections (the script runs with --expose-gc), so it counts live data only.
 *
 * 1. Per (peer, track) entry, per record and per tombstone: a directory filled with fresh records
 *    (simulated signatures: cheap, but checked), heap before and after, divided by what was added.
 * 2. The Sybil run: eight links, each pushing full records of 14,400 fresh tracks at the rate its
 *    quota allows, then 20,000 empty long-ttl records, into a node with the default bounds; the
 *    peak heap growth beside the bound the caps imply (1.'s figures × the caps).
 */
import { cpus, totalmem } from 'node:os'
import { DEFAULT_DIRECTORY_CONFIG, Directory } from '../../src/core/directory.ts'
import { DEFAULT_INTAKE_CONFIG } from '../../src/core/intake.ts'
import { FakeClock } from '../../src/core/testing/fake-clock.ts'
import { forgetVerdicts, simSha256, simVerifier } from '../../src/core/testing/mesh-sim.ts'
import type { RecordVerifier } from '../../src/core/records.ts'
import {
  announcement,
  floodedGossip,
  freshEntries,
  rawAnnouncement,
  silentLink,
} from '../../src/core/testing/sybil.ts'
import { ENTRY_BYTES, MAX_ANNOUNCED, type Wire } from '../../src/core/wire.ts'
import { writeBenchSection } from './doc-section.ts'

const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('run with node --expose-gc (npm run bench:directory-memory does)')
const only = process.argv.includes('--costs-only')

function heap(): number {
  gc!()
  gc!()
  return process.memoryUsage().heapUsed
}

const MiB = 2 ** 20
const SELF = 'f'.repeat(32)
/**
 * The simulator's verifier remembers every verdict process-wide (a test convenience a node does not
 * have), which would be counted here as directory memory: checked the same way, nothing kept.
 */
const verify: RecordVerifier = (rec) => simVerifier(rec).finally(forgetVerdicts)
const newDirectory = (clock: FakeClock, config = {}) =>
  new Directory({ self: SELF, clock, sha256: simSha256, verify, config })

/**
 * Heap per entry: 100 records × 1,000 fresh tracks, each made inside the measured window and
 * dropped once applied, so what stays is what the directory keeps (its own strings included).
 */
async function perEntry(record: number): Promise<number> {
  const clock = new FakeClock()
  const dir = newDirectory(clock)
  const before = heap()
  for (let i = 0; i < 100; i++) {
    const entries = freshEntries(1_000)
    const { rec } = await announcement(entries, { ver: clock.now(), ttl: 600 })
    await dir.applyFull(rec, entries)
  }
  // The records' own cost (counted once per record) is not the entries'.
  return (heap() - before - 100 * record) / dir.stats.entries
}

/** Heap per record with no tracks: 10,000 of them. */
async function perRecord(): Promise<number> {
  const clock = new FakeClock()
  const dir = newDirectory(clock)
  const before = heap()
  for (let i = 0; i < 10_000; i++)
    await dir.applyFull((await announcement([], { ver: clock.now(), ttl: 600 })).rec, [])
  return (heap() - before) / dir.size
}

/** Heap per tombstone: 10,010 records through a directory of 10 (10,000 evicted, each buried). */
async function perTombstone(record: number): Promise<number> {
  const clock = new FakeClock()
  const dir = newDirectory(clock, { maxOrigins: 10 })
  const before = heap()
  for (let i = 0; i < 10_010; i++) {
    await dir.applyFull((await announcement([], { ver: clock.now(), ttl: 600 })).rec, [])
    await clock.advance(1)
  }
  return (heap() - before - dir.size * record) / dir.stats.tombstones
}

type SybilRun = {
  peak: number
  records: number
  entries: number
  origins: number
  tombstones: number
  refused: number
}

/** Eight flooding links into one node with the default bounds. */
async function sybilRun(): Promise<SybilRun> {
  const clock = new FakeClock()
  const dir = newDirectory(clock)
  const gossip = floodedGossip(dir, clock)
  const links = Array.from({ length: 8 }, (_, i) => silentLink(i))
  const before = heap()
  let peak = 0
  let records = 0
  // A full set a link's quota admits per minute: 4 MiB / 921,600 B = 4 sets, rounded down.
  const perLinkPerMinute = Math.floor(
    DEFAULT_INTAKE_CONFIG.announceBytesPerMin / (MAX_ANNOUNCED * ENTRY_BYTES),
  )
  for (let minute = 0; minute < 8; minute++) {
    for (const link of links) {
      for (let k = 0; k < perLinkPerMinute; k++) {
        const { frames } = await rawAnnouncement(MAX_ANNOUNCED, { ver: clock.now(), ttl: 86_400 })
        for (const frame of frames) await gossip.receive(link, frame as Wire)
        records++
      }
    }
    peak = Math.max(peak, heap() - before)
    await clock.advance(60_000)
  }
  // Then the origin cap: empty long-ttl records, as fast as the links' quotas let them in.
  for (let minute = 0; minute < 6; minute++) {
    for (const link of links) {
      for (let k = 0; k < DEFAULT_INTAKE_CONFIG.newOriginsPerMin; k++) {
        const { frames } = await announcement([], { ver: clock.now(), ttl: 86_400 })
        await gossip.receive(link, frames[0] as Wire)
        records++
      }
    }
    peak = Math.max(peak, heap() - before)
    await clock.advance(60_000)
  }
  const { entries, origins, tombstones } = dir.stats
  const refused = gossip.refused.quota + gossip.refused.full
  return { peak, records, entries, origins, tombstones, refused }
}

const started = Date.now()
const record = await perRecord()
const entry = await perEntry(record)
const tombstone = await perTombstone(record)
if (only) {
  console.log({ record, entry, tombstone })
  process.exit(0)
}
const run = await sybilRun()
const { maxEntries, maxOrigins, maxTombstones } = DEFAULT_DIRECTORY_CONFIG
const bound = maxEntries * entry + maxOrigins * record + maxTombstones * tombstone
const f0 = (n: number) => Math.round(n).toLocaleString('en-US')
const mib = (n: number) => (n / MiB).toFixed(1)

const md = `## Directory memory

\`npm run bench:directory-memory\` (tests/bench/directory-memory.ts), ${new Date().toISOString().slice(0, 10)},
${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version};
taken while other engineers' test runs loaded the machine (heap figures do not depend on load;
the wall time, ${f0((Date.now() - started) / 1000)} s, does). Live heap after full collections.

| what | heap | beside |
| --- | --- | --- |
| one (peer, track) entry (track set + holders index) | ${f0(entry)} B | ${ENTRY_BYTES} B on the wire |
| one record (no tracks) | ${f0(record)} B | — |
| one tombstone | ${f0(tombstone)} B | — |
| bound implied by the caps (${f0(maxEntries)} entries, ${f0(maxOrigins)} origins, ${f0(maxTombstones)} tombstones) | ${mib(bound)} MiB | — |
| **Sybil run: peak growth of one node's heap** | **${mib(run.peak)} MiB** | the bound above, ${mib(bound)} MiB |

The Sybil run: 8 links, each sending full records of ${f0(MAX_ANNOUNCED)} fresh tracks as fast as its
quota admits (4 MiB of announcement bodies a minute), then empty records with a one-day ttl as fast
as its new-origin quota admits (600 a minute), ${f0(run.records)} records offered in all; at the end
the directory held ${f0(run.entries)} entries, ${f0(run.origins)} origins and ${f0(run.tombstones)}
tombstones; ${f0(run.refused)} records were refused unhashed (over quota, or no room for their
standing). Gossip's other per-node stores are bounded apart from this: partial full sets (16 at
most) and track metadata (at most 150,000 entries and 48 MiB by its own estimate of their heap
bytes: META_LIMITS in src/core/gossip.ts).
`
console.log(md)
writeBenchSection('directory-memory', md)
