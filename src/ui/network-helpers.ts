import type { DownloadView } from '../core/fetcher.ts'
import type { KnownPeer, MeshStats, NetworkTrack, TypeCount } from '../core/mesh-types.ts'
import { compareText, matches } from './library-helpers.ts'

/** Stats before the first reading. */
export const EMPTY_STATS: MeshStats = {
  sent: {},
  received: {},
  rejected: 0,
  gossipRounds: 0,
  knownPeers: 0,
  knownTracks: 0,
}

/** "1 track", "12 tracks". */
export const countLabel = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`

/** Where a network track can be played from. */
export type Availability = 'local' | 'remote' | 'unavailable'

export function availability(track: NetworkTrack): Availability {
  return track.local ? 'local' : track.holders > 0 ? 'remote' : 'unavailable'
}

/** "3 peers", "1 peer", "Unavailable". This node counts for its own tracks even before its announcement does. */
export function holdersLabel(track: NetworkTrack): string {
  const holders = track.local ? Math.max(1, track.holders) : track.holders
  return holders === 0 ? 'Unavailable' : countLabel(holders, 'peer')
}

/** A download still under way: its row shows a progress bar. */
export function isDownloading(download: DownloadView | undefined): download is DownloadView {
  return download?.state === 'locating' || download?.state === 'fetching' || download?.state === 'verifying'
}

/** Downloads by content hash, for a row to find its own; a new map each time, never changed after. */
export function byHash(downloads: readonly DownloadView[]): ReadonlyMap<string, DownloadView> {
  return new Map(downloads.map((d) => [d.hash, d]))
}

/** "42 %": whole percent, rounded down so 100 % means every byte; "0 %" while the total is unknown. */
export function formatPercent(done: number, total: number): string {
  if (!(total > 0) || !Number.isFinite(done)) return '0 %'
  return `${Math.min(100, Math.max(0, Math.floor((done / total) * 100)))} %`
}

/** What a track's download is doing, as its row says it: "42 % from 2 peers", "Checking…", or why it failed. */
export function downloadStatus(download: DownloadView): string {
  switch (download.state) {
    case 'locating':
      return 'Finding peers…'
    case 'fetching': {
      const percent = formatPercent(download.bytes, download.size)
      // Sources are the peers that have served a piece: none yet means the first requests are out.
      if (download.sources > 0) return `${percent} from ${countLabel(download.sources, 'peer')}`
      return download.bytes > 0 ? percent : 'Starting…'
    }
    case 'verifying':
      return 'Checking…'
    case 'done':
      return 'Downloaded'
    case 'failed':
      return download.error ?? 'The download failed. Press Play to try again.'
  }
}

/** Playable tracks first, then those still waiting for their details, then those nobody holds now. */
function rank(track: NetworkTrack): number {
  if (availability(track) === 'unavailable') return 2
  return track.described ? 0 : 1
}

/** Tracks without an artist go after those with one. */
const missingLast = (a: string | undefined, b: string | undefined) => Number(!a) - Number(!b)

/** The network's order: by availability, then artist, album and title (natural, case-insensitive). */
export function compareNetworkTracks(a: NetworkTrack, b: NetworkTrack): number {
  return (
    rank(a) - rank(b) ||
    missingLast(a.artist, b.artist) ||
    compareText(a.artist, b.artist) ||
    compareText(a.album, b.album) ||
    compareText(a.title, b.title) ||
    (a.contentHash < b.contentHash ? -1 : a.contentHash > b.contentHash ? 1 : 0)
  )
}

/** The tracks matching `query` (as the library's search matches), in the network's order. */
export function visibleNetwork(tracks: readonly NetworkTrack[], query: string): NetworkTrack[] {
  return tracks.filter((t) => matches(t, query)).sort(compareNetworkTracks)
}

/** Direct links (in the node's order) and the peers known only through gossip, one entry per peer. */
export function splitPeers(peers: readonly KnownPeer[]): { linked: KnownPeer[]; known: KnownPeer[] } {
  const seen = new Set<string>()
  const linked: KnownPeer[] = []
  const known: KnownPeer[] = []
  // Linked entries first, so a peer listed twice is shown by its link.
  for (const peer of [...peers.filter((p) => p.link !== 'none'), ...peers.filter((p) => p.link === 'none')]) {
    if (seen.has(peer.peerId)) continue
    seen.add(peer.peerId)
    ;(peer.link === 'none' ? known : linked).push(peer)
  }
  return { linked, known }
}

/** "12.3 ms", "48 ms", "—" when not measured. */
export function formatRtt(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—'
  // One decimal below 10 ms; 9.95 and up would print as "10.0".
  return `${ms < 9.95 ? ms.toFixed(1) : Math.round(ms)} ms`
}

/** "seen just now", "seen 3 s ago", "seen 4 min ago", "seen 2 h ago", "seen 3 d ago", "not seen yet". */
export function describeSeen(lastSeen: number | undefined, now: number): string {
  if (lastSeen === undefined) return 'not seen yet'
  const s = Math.max(0, Math.round((now - lastSeen) / 1000))
  if (s < 2) return 'seen just now'
  if (s < 60) return `seen ${s} s ago`
  if (s < 3600) return `seen ${Math.floor(s / 60)} min ago`
  if (s < 86400) return `seen ${Math.floor(s / 3600)} h ago`
  return `seen ${Math.floor(s / 86400)} d ago`
}

/** One message type's traffic both ways. */
export type TrafficRow = { type: string; sent: TypeCount; received: TypeCount }

const NONE: TypeCount = { messages: 0, bytes: 0 }

/** Traffic per message type (every type seen either way, by name), and the total over all of them. */
export function trafficRows(stats: MeshStats): { rows: TrafficRow[]; total: TrafficRow } {
  const types = [...new Set([...Object.keys(stats.sent), ...Object.keys(stats.received)])].sort()
  // Own keys only: a type named like an Object.prototype member must not read the prototype.
  const count = (counts: Record<string, TypeCount>, type: string) =>
    (Object.hasOwn(counts, type) ? counts[type] : undefined) ?? NONE
  const rows = types.map((type) => ({
    type,
    sent: count(stats.sent, type),
    received: count(stats.received, type),
  }))
  const add = (a: TypeCount, b: TypeCount) => ({
    messages: a.messages + b.messages,
    bytes: a.bytes + b.bytes,
  })
  const total = rows.reduce(
    (sum, row) => ({
      type: 'total',
      sent: add(sum.sent, row.sent),
      received: add(sum.received, row.received),
    }),
    { type: 'total', sent: NONE, received: NONE },
  )
  return { rows, total }
}
