import { Command, CommanderError, Option } from 'commander'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Track } from '../core/catalog.ts'
import type { KnownPeer } from '../core/mesh-types.ts'
import { isContentHash } from '../core/content.ts'
import { DcmxError } from '../core/errors.ts'
import { formatBytes, type ImportState } from '../core/library.ts'
import { homeDir, homePaths } from '../node/home.ts'
import { readOnly, runningNode, withOps } from './ops-select.ts'
import { EXIT, duration, failure, progressBar, table } from './output.ts'
import { exportTrack, type AddEvent, type Stats } from './ops.ts'
import { runStart } from './start.ts'

type Common = { home?: string; json?: boolean }

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version

const print = (data: unknown) => console.log(JSON.stringify(data, null, 2))
const root = (opts: Common) => homeDir(opts.home)
const checkHash = (hash: string) => {
  if (!isContentHash(hash))
    throw new DcmxError(
      'BAD_MESSAGE',
      `"${hash.slice(0, 80)}" is not a content hash (64 lower-case hex digits).`,
    )
  return hash
}

const ENDED: ImportState[] = ['done', 'duplicate', 'failed', 'cancelled']

async function add(paths: string[], opts: Common): Promise<number> {
  const bar = progressBar('Adding')
  const lines: Record<ImportState, string> = {
    done: 'added',
    duplicate: 'duplicate',
    failed: 'refused',
    cancelled: 'cancelled',
    queued: '',
    reading: '',
    storing: '',
  }
  const onEvent = (e: AddEvent) => {
    if (ENDED.includes(e.state)) {
      if (!opts.json) bar.log(`${lines[e.state]}  ${e.name}  ${e.message ?? ''}`.trimEnd())
    } else if (e.state === 'storing') bar.update(e.bytesDone, e.size, e.name)
  }
  const results = await withOps(root(opts), 'add', {}, (ops) => ops.add(paths, onEvent))
  bar.stop()
  if (opts.json) print(results)
  else {
    const count = (s: ImportState) => results.filter((r) => r.state === s).length
    console.log(`${count('done')} added, ${count('duplicate')} already there, ${count('failed')} refused.`)
  }
  return results.some((r) => r.state === 'failed' || r.state === 'cancelled') ? EXIT.FAILED : EXIT.OK
}

async function list(opts: Common): Promise<number> {
  const api = await runningNode(root(opts))
  const tracks = api ? await api.get<Track[]>('/tracks') : await (await readOnly(root(opts))).catalog.list()
  if (opts.json) print(tracks)
  else if (tracks.length === 0) console.log('No tracks yet; add some with "dcmx add <files or folders>".')
  else
    console.log(
      table(
        tracks.map((t) => [
          t.title,
          t.artist ?? '',
          t.album ?? '',
          duration(t.durationS),
          formatBytes(t.size),
          t.contentHash,
        ]),
        ['TITLE', 'ARTIST', 'ALBUM', 'TIME', 'SIZE', 'HASH'],
      ),
    )
  return EXIT.OK
}

async function stats(opts: Common): Promise<number> {
  const api = await runningNode(root(opts))
  let s: Stats
  if (api) s = await api.get<Stats>('/stats')
  else {
    const { catalog, store } = await readOnly(root(opts))
    s = { running: false, tracks: (await catalog.list()).length, storedBytes: (await store.usage()).bytes }
  }
  if (opts.json) print(s)
  else {
    console.log(
      s.running
        ? `Running as ${s.peerId} for ${s.uptimeS} s (signaling ${s.signaling})`
        : 'Not running (start it with "dcmx start").',
    )
    console.log(`Tracks: ${s.tracks} (${formatBytes(s.storedBytes)})`)
    if (s.peers) console.log(`Peers: ${s.peers.linked} linked, ${s.peers.known} known`)
    if (s.bytesIn !== undefined)
      console.log(`Traffic: ${formatBytes(s.bytesIn)} in, ${formatBytes(s.bytesOut ?? 0)} out`)
  }
  return EXIT.OK
}

async function peers(opts: Common): Promise<number> {
  const api = await runningNode(root(opts))
  const known = api ? await api.get<KnownPeer[]>('/peers') : []
  if (opts.json) print(known)
  else if (!api) console.log('Not running: peers are known only while "dcmx start" runs.')
  else if (known.length === 0) console.log('No peers yet.')
  else
    console.log(
      table(
        known.map((p) => [
          p.peerId,
          p.link,
          p.direction ?? '',
          p.rttMs === undefined ? '' : `${Math.round(p.rttMs)} ms`,
          String(p.tracks),
        ]),
        ['PEER', 'LINK', 'DIRECTION', 'RTT', 'TRACKS'],
      ),
    )
  return EXIT.OK
}

async function rm(hash: string, opts: Common): Promise<number> {
  const track = await withOps(root(opts), 'rm', {}, (ops) => ops.rm(checkHash(hash)))
  if (opts.json) print(track)
  else console.log(`Removed “${track.title}”.`)
  return EXIT.OK
}

async function verify(opts: Common): Promise<number> {
  const results = await withOps(root(opts), 'verify', {}, (ops) =>
    ops.verify((r) => {
      if (!opts.json && !r.ok) console.log(`damaged  ${r.hash}  ${r.title}: ${r.problem}`)
      else if (!opts.json && r.unlisted) console.log(`unlisted  ${r.hash}  ${r.problem}`)
    }),
  )
  const bad = results.filter((r) => !r.ok)
  if (opts.json) print(results)
  else
    console.log(
      `${results.length - bad.length} of ${results.length} verified${bad.length ? `, ${bad.length} damaged (remove them with "dcmx rm <hash>" and fetch or add them again)` : ''}.`,
    )
  return bad.length > 0 ? EXIT.FAILED : EXIT.OK
}

async function get(
  hash: string,
  opts: Common & { output?: string; server?: string; room?: string; links?: string },
): Promise<number> {
  checkHash(hash)
  const bar = progressBar('Fetching')
  const flags = { server: opts.server, room: opts.room, links: opts.links }
  const track = await withOps(root(opts), 'get', flags, (ops) =>
    ops.get(hash, (p) => {
      bar.update(p.bytes, p.size, `${p.sources} source(s)`)
    }),
  )
  bar.stop()
  if (opts.output) {
    const { store } = await readOnly(root(opts))
    await exportTrack({ store }, hash, resolve(opts.output))
  }
  if (opts.json) print(track)
  else
    console.log(
      `Have “${track.title}” (${formatBytes(track.size)}, verified)${opts.output ? `, written to ${opts.output}` : ''}.`,
    )
  return EXIT.OK
}

/** The `dcmx` program; `run` parses argv, runs one command and resolves with its exit code. */
export function program(): Command {
  const cmd = new Command('dcmx')
    .description('A headless DCMX node: seed and fetch music on the mesh the browser tabs use.')
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride()
  const home = () => new Option('--home <dir>', 'the node’s home (default $DCMX_HOME or ~/.dcmx)')
  const json = () => new Option('--json', 'print data as JSON')
  const net = (c: Command) =>
    c
      .option('--server <url>', 'the app’s URL, as a browser opens it (env DCMX_SERVER)')
      .option('--room <name>', 'the room to join (env DCMX_ROOM)')
      .option('--links <n>', 'links to keep, 1–64 (env DCMX_LINKS)')
  let code: number = EXIT.OK
  const run =
    <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
    async (...args: A) =>
      void (code = await fn(...args))

  net(
    cmd
      .command('start')
      .description('join the mesh, seed this library, fetch on request, serve the local API'),
  )
    .addOption(home())
    .option('--api <port>', 'local API port on 127.0.0.1 (env DCMX_API, default 8090; 0 picks one)')
    .action(run((opts) => runStart(root(opts), opts)))
  cmd
    .command('add')
    .description('import audio files or folders (a line per file; refusals say why)')
    .argument('<paths...>')
    .addOption(home())
    .addOption(json())
    .action(run(add))
  cmd
    .command('list')
    .description('the library: title, artist, album, duration, size, hash')
    .addOption(home())
    .addOption(json())
    .action(run(list))
  cmd
    .command('stats')
    .description('peers, tracks, bytes in and out, uptime')
    .addOption(home())
    .addOption(json())
    .action(run(stats))
  cmd
    .command('peers')
    .description('peers of the running node')
    .addOption(home())
    .addOption(json())
    .action(run(peers))
  net(
    cmd
      .command('get')
      .description('fetch a track from the mesh, verify and keep it')
      .argument('<content-hash>'),
  )
    .addOption(home())
    .addOption(json())
    .option('-o, --output <file>', 'also write the verified file here')
    .action(run(get))
  cmd
    .command('rm')
    .description('remove a track from the library')
    .argument('<content-hash>')
    .addOption(home())
    .addOption(json())
    .action(run(rm))
  cmd
    .command('verify')
    .description('re-hash every stored track; exit 1 if any is damaged')
    .addOption(home())
    .addOption(json())
    .action(run(verify))
  Object.defineProperty(cmd, 'exitCode', { get: () => code })
  return cmd
}

/** Parse and run; never throws (a failure is a sentence on stderr and an exit code). */
export async function main(argv: string[]): Promise<number> {
  const cmd = program()
  try {
    await cmd.parseAsync(argv, { from: 'user' })
    return (cmd as unknown as { exitCode: number }).exitCode
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE
    const { code, message } = failure(error)
    console.error(`dcmx: ${message}`)
    return code
  }
}

export { homePaths }
