/**
 * `npm run bench:cli`: the headless node measured beside its ceilings, in the same run.
 *   1. `dcmx add` of a 1 GiB file vs `sha256sum` (and `cp` + sync: the write it also does), peak RSS.
 *   2. Tab ← CLI and CLI ← tab track transfers vs a bare data-channel pump between a tab and a
 *      Node process (raw wrtc, no DCMX code).
 *   3. The CLI node's memory with 10,000 tracks and 50 links.
 * Runs inside the private network namespace (scripts/netns-run.mjs), against dist/ (or DCMX_DIST).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes, createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, open, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import wrtc from '@roamhq/wrtc'
import type { Page } from '@playwright/test'
import { startSignaling } from '../../signaling/server.ts'
import { DCMX_BIN, dcmx, startNode, type Started } from '../cli/harness.ts'
import { makeWav } from '../e2e/audio-fixtures.ts'
import { launchChromium } from './browser.ts'
import { writeBenchSection } from './doc-section.ts'

const root = resolve(import.meta.dirname, '..', '..')
const GIB = 1024 ** 3
const TRANSFER_MIB = 32
/** Runs of the add comparison: the shared disk's speed swings between runs, so each gets its own ceiling. */
const ADD_RUNS = 3
const TRACKS = 10_000
const LINKS = 50
const work = join(tmpdir(), `dcmx-bench-cli-${process.pid}`)
const mbs = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000)
const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1))
const log = (line: string) => console.log(`[bench:cli] ${line}`)

/** Peak resident memory of a running process (VmHWM), polled until it exits. */
function watchPeak(child: ChildProcess): () => number {
  let peak = 0
  const timer = setInterval(() => {
    try {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
      peak = Math.max(peak, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024)
    } catch {
      // exited
    }
  }, 20)
  child.on('close', () => clearInterval(timer))
  return () => peak
}

const rssOf = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024

function timed(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ ms: number; peak: number; code: number | null }> {
  return new Promise((done) => {
    const started = performance.now()
    const child = spawn(cmd, args, { env, stdio: 'ignore' })
    const peak = watchPeak(child)
    child.on('close', (code) => done({ ms: performance.now() - started, peak: peak(), code }))
  })
}

/** A WAV header over `bytes` of random PCM: audio to the tag reader, incompressible to the disk. */
async function writeBigWav(path: string, bytes: number) {
  const handle = await open(path, 'w')
  const header = Buffer.alloc(44)
  header.write('RIFF', 0)
  header.writeUInt32LE(bytes - 8, 4)
  header.write('WAVEfmt ', 8)
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20)
  header.writeUInt16LE(2, 22)
  header.writeUInt32LE(44_100, 24)
  header.writeUInt32LE(44_100 * 4, 28)
  header.writeUInt16LE(4, 32)
  header.writeUInt16LE(16, 34)
  header.write('data', 36)
  header.writeUInt32LE(bytes - 44, 40)
  await handle.write(header)
  for (let at = 44; at < bytes; at += 1 << 24) await handle.write(randomBytes(Math.min(1 << 24, bytes - at)))
  await handle.close()
}

async function benchAdd() {
  const file = join(work, 'big.wav')
  await writeBigWav(file, GIB)
  const rows: string[] = []
  const ratios: number[] = []
  for (let run = 1; run <= ADD_RUNS; run++) {
    const sum = await timed('sha256sum', [file])
    const copy = await timed('sh', ['-c', `cp "${file}" "${work}/copy.bin" && sync "${work}/copy.bin"`])
    await rm(join(work, 'copy.bin'), { force: true })
    const home = join(work, `home-add-${run}`)
    const add = await timed(process.execPath, [DCMX_BIN, 'add', file], { ...process.env, DCMX_HOME: home })
    await rm(home, { recursive: true, force: true })
    ratios.push(sum.ms / add.ms)
    rows.push(
      `| ${run} | ${loadavg()[0]!.toFixed(1)} | ${fmt(mbs(GIB, add.ms))} MB/s (${(add.ms / 1000).toFixed(1)} s) | ${fmt(mbs(GIB, sum.ms))} MB/s | ${fmt(mbs(GIB, copy.ms))} MB/s | ${((100 * sum.ms) / add.ms).toFixed(0)} % | ${(add.peak / 2 ** 20).toFixed(0)} MiB |`,
    )
    log(rows.at(-1)!)
  }
  await rm(file, { force: true })
  const sorted = [...ratios].sort((a, b) => a - b)
  return { rows, median: sorted[Math.floor(sorted.length / 2)]! }
}

/** A bare pump between a tab and this Node process: raw RTCDataChannels, no DCMX code. */
async function barePump(
  page: Page,
  direction: 'node-to-tab' | 'tab-to-node',
  bytes: number,
): Promise<number> {
  const pc = new wrtc.RTCPeerConnection({ iceServers: [] })
  const channel = pc.createDataChannel('pump', { ordered: true })
  await pc.setLocalDescription(await pc.createOffer())
  await new Promise<void>((r) =>
    pc.iceGatheringState === 'complete'
      ? r()
      : (pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r()),
  )
  const answer = await page.evaluate(
    async (offer) => {
      const remote = new RTCPeerConnection({ iceServers: [] })
      ;(window as unknown as { benchPc: RTCPeerConnection }).benchPc = remote
      remote.ondatachannel = (event) =>
        ((window as unknown as { benchChannel: RTCDataChannel }).benchChannel = event.channel)
      await remote.setRemoteDescription(offer)
      await remote.setLocalDescription(await remote.createAnswer())
      await new Promise<void>((r) =>
        remote.iceGatheringState === 'complete'
          ? r()
          : (remote.onicegatheringstatechange = () => remote.iceGatheringState === 'complete' && r()),
      )
      return { type: 'answer' as const, sdp: remote.localDescription!.sdp }
    },
    { type: 'offer' as const, sdp: pc.localDescription!.sdp },
  )
  await pc.setRemoteDescription(answer)
  await new Promise<void>((r) => (channel.readyState === 'open' ? r() : (channel.onopen = () => r())))
  await page.waitForFunction(
    () => (window as unknown as { benchChannel?: RTCDataChannel }).benchChannel?.readyState === 'open',
  )
  const FRAME = 60 * 1024
  let ms: number
  if (direction === 'node-to-tab') {
    // The receiver is armed before the first frame leaves, then polled for its finishing time.
    await page.evaluate((total) => {
      const w = window as unknown as { benchChannel: RTCDataChannel; benchMs?: number }
      let got = 0
      let started = 0
      w.benchChannel.binaryType = 'arraybuffer'
      w.benchChannel.onmessage = (e) => {
        if (!started) started = performance.now()
        got += (e.data as ArrayBuffer).byteLength
        if (got >= total) w.benchMs = performance.now() - started
      }
    }, bytes)
    const receiving = page.waitForFunction(
      () => (window as unknown as { benchMs?: number }).benchMs !== undefined,
      undefined,
      {
        timeout: 120_000,
        polling: 20,
      },
    )
    const frame = new Uint8Array(FRAME)
    const started = performance.now()
    for (let sent = 0; sent < bytes; sent += FRAME) {
      // The same flow control as the Node link: poll, since wrtc has no bufferedamountlow.
      while (channel.bufferedAmount > 1024 * 1024) await new Promise((r) => setTimeout(r, 4))
      channel.send(frame)
      if ((sent / FRAME) % 16 === 0) await new Promise((r) => setImmediate(r))
    }
    await receiving
    ms = performance.now() - started
  } else {
    let got = 0
    const done = new Promise<void>(
      (r) =>
        (channel.onmessage = (e: { data: ArrayBuffer }) => {
          got += e.data.byteLength
          if (got >= bytes) r()
        }),
    )
    const started = performance.now()
    await page.evaluate(async (total) => {
      const ch = (window as unknown as { benchChannel: RTCDataChannel }).benchChannel
      ch.bufferedAmountLowThreshold = 256 * 1024
      const frame = new Uint8Array(60 * 1024)
      for (let sent = 0; sent < total; sent += frame.length) {
        if (ch.bufferedAmount > 1024 * 1024)
          await new Promise((r) => ch.addEventListener('bufferedamountlow', r, { once: true }))
        ch.send(frame)
      }
    }, bytes)
    await done
    ms = performance.now() - started
  }
  pc.close()
  await page.evaluate(() => (window as unknown as { benchPc: RTCPeerConnection }).benchPc.close())
  return mbs(bytes, ms)
}

async function benchTransfer() {
  const server = await startSignaling({
    port: 0,
    host: '127.0.0.1',
    staticDir: process.env.DCMX_DIST ?? resolve(root, 'dist'),
    log: () => {},
  })
  const browser = await launchChromium()
  const home = join(work, 'home-transfer')
  let cli: Started | undefined
  try {
    const seconds = (TRANSFER_MIB * 2 ** 20) / (44_100 * 2)
    const seeded = makeWav({ name: 'seeded.wav', seconds, sampleRate: 44_100, hz: 330, title: 'Seeded' })
    const tabbed = makeWav({ name: 'tabbed.wav', seconds, sampleRate: 44_100, hz: 550, title: 'Tabbed' })
    const seededHash = createHash('sha256').update(seeded.buffer).digest('hex')
    const tabbedHash = createHash('sha256').update(tabbed.buffer).digest('hex')
    await mkdir(home, { recursive: true })
    await writeFile(join(home, seeded.name), seeded.buffer)
    await dcmx(home, ['add', join(home, seeded.name)])
    cli = await startNode(home, ['--server', server.url, '--room', 'bench-cli'], { DCMX_GOSSIP_MS: '500' })
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${server.url}/?room=bench-cli&gossip=500`)
    await page.waitForFunction(
      (id) => window.dcmx?.peers.some((p) => p.peerId === id && p.state === 'connected'),
      cli.peerId,
      { timeout: 60_000 },
    )
    await page.waitForFunction(
      (h) => window.dcmx?.network.some((t) => t.contentHash === h && t.described),
      seededHash,
      { timeout: 30_000 },
    )
    const fromCli = await page.evaluate(async (h) => {
      const started = performance.now()
      await window.dcmx!.fetcher!.fetch(h).finished
      return performance.now() - started
    }, seededHash)
    log(`tab ← CLI ${fmt(mbs(seeded.buffer.length, fromCli))} MB/s`)
    await page.getByLabel('Add music files').setInputFiles([tabbed])
    await page
      .getByRole('list', { name: 'Imports' })
      .getByRole('listitem')
      .filter({ hasText: tabbed.name })
      .getByText('Added', { exact: true })
      .waitFor({ timeout: 60_000 })
    const token = readFileSync(join(home, 'api.token'), 'utf8').trim()
    // Wait until the CLI knows the tab holds it, then time the fetch through the running node.
    for (let i = 0; i < 120; i++) {
      const peers = (await (await fetch(`http://127.0.0.1:${cli.api}/peers`)).json()) as { tracks: number }[]
      if (peers.some((p) => p.tracks >= 2)) break
      await new Promise((r) => setTimeout(r, 250))
    }
    const started = performance.now()
    const res = await fetch(`http://127.0.0.1:${cli.api}/actions/get`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      body: JSON.stringify({ hash: tabbedHash }),
    })
    const text = await res.text()
    const toCli = performance.now() - started
    if (!text.includes('"type":"result"')) throw new Error(`CLI get failed: ${text.slice(-300)}`)
    log(`CLI ← tab ${fmt(mbs(tabbed.buffer.length, toCli))} MB/s`)
    const pumpOut = await barePump(page, 'node-to-tab', TRANSFER_MIB * 2 ** 20)
    const pumpIn = await barePump(page, 'tab-to-node', TRANSFER_MIB * 2 ** 20)
    log(`bare pump node→tab ${fmt(pumpOut)} MB/s, tab→node ${fmt(pumpIn)} MB/s`)
    await context.close()
    return {
      fromCli: mbs(seeded.buffer.length, fromCli),
      toCli: mbs(tabbed.buffer.length, toCli),
      pumpOut,
      pumpIn,
    }
  } finally {
    await cli?.stop()
    await browser.close()
    await server.close()
  }
}

/** A catalog of `n` plausible tracks (4 MB each, 16 pieces): only the catalog, no bytes. */
async function writeCatalog(home: string, n: number) {
  await mkdir(join(home, 'metadata'), { recursive: true })
  const hex = () => randomBytes(32).toString('hex')
  const tracks = Array.from({ length: n }, (_, i) => ({
    contentHash: hex(),
    size: 4_000_000,
    mime: 'audio/mpeg',
    container: 'MPEG',
    codec: 'MPEG 1 Layer 3',
    title: `Track ${i}`,
    artist: `Artist ${i % 500}`,
    album: `Album ${i % 1000}`,
    durationS: 240,
    pieceSize: 262_144,
    pieces: Array.from({ length: 16 }, hex),
    piecesRoot: hex(),
    fileName: `track-${i}.mp3`,
    addedAt: 1_700_000_000_000 + i,
    source: 'local',
  }))
  await writeFile(join(home, 'metadata', 'tracks.json'), JSON.stringify({ version: 1, tracks, covers: {} }))
}

async function benchMemory() {
  const server = await startSignaling({ port: 0, host: '127.0.0.1', log: () => {} })
  const home = join(work, 'home-memory')
  const empty = join(work, 'home-empty')
  const nodes: Started[] = []
  let helpers: ChildProcess[] = []
  try {
    const idle = await startNode(empty, ['--server', server.url, '--room', 'bench-empty'])
    nodes.push(idle)
    await new Promise((r) => setTimeout(r, 3000))
    const emptyRss = rssOf(idle.child.pid!)
    await writeCatalog(home, TRACKS)
    const cli = await startNode(home, [
      '--server',
      server.url,
      '--room',
      'bench-mem',
      '--links',
      String(LINKS),
    ])
    nodes.push(cli)
    await new Promise((r) => setTimeout(r, 3000))
    const tracksRss = rssOf(cli.child.pid!)
    let linked = 0
    helpers = [0, 1].map(() => {
      const child = spawn(
        process.execPath,
        [
          resolve(root, 'node_modules/tsx/dist/cli.mjs'),
          resolve(import.meta.dirname, 'cli-peers.ts'),
          server.url,
          'bench-mem',
          cli.peerId,
          String(LINKS / 2),
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      )
      child.stdout!.on('data', (d: Buffer) => (linked += (String(d).match(/linked/g) ?? []).length))
      return child
    })
    const deadline = Date.now() + 120_000
    let links = 0
    while (Date.now() < deadline) {
      const stats = (await (await fetch(`http://127.0.0.1:${cli.api}/stats`)).json()) as {
        peers: { linked: number }
      }
      links = stats.peers.linked
      if (links >= LINKS) break
      await new Promise((r) => setTimeout(r, 1000))
    }
    await new Promise((r) => setTimeout(r, 5000))
    const linksRss = rssOf(cli.child.pid!)
    log(
      `memory: empty ${emptyRss >> 20} MiB, ${TRACKS} tracks ${tracksRss >> 20} MiB, + ${links} links ${linksRss >> 20} MiB (helpers saw ${linked})`,
    )
    return { emptyRss, tracksRss, linksRss, links }
  } finally {
    for (const h of helpers) h.kill('SIGTERM')
    for (const n of nodes) await n.stop()
    await server.close()
  }
}

const MiB = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`
await rm(work, { recursive: true, force: true })
await mkdir(work, { recursive: true })
try {
  const add = await benchAdd()
  const transfer = await benchTransfer()
  const memory = await benchMemory()
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`
  const chromium = existsSync('/usr/bin/chromium')
    ? execFileSync('/usr/bin/chromium', ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim()
    : 'chromium'
  writeBenchSection(
    'cli',
    `## The headless node (\`dcmx\`)

Command: \`npm run bench:cli\` (\`tests/bench/cli.ts\`), inside the private network namespace. Machine: ${machine}, ${chromium}.
Taken under parallel load (other engineers' builds and tests share the 2 cores and the disk), so
ceilings were measured in the same run, right beside each figure.

### \`dcmx add\` of a 1 GiB file

Throughput of \`dcmx add\` (process start, tag read, one pass that copies the bytes into
\`tmp/\` while hashing the whole file and each 256 KiB piece with node:crypto, fsync, rename,
catalog) beside \`sha256sum\` of the same file (read and hash only) and \`cp\` + \`sync\` of it (the
write \`add\` also does). The ratio is add ÷ sha256sum; the target is ≥ 80 %.

| run | load (1 min) | dcmx add | sha256sum | cp + sync | ratio | add peak RSS |
| --- | --- | --- | --- | --- | --- | --- |
${add.rows.join('\n')}

Median ratio: **${(100 * add.median).toFixed(0)} %** (target ≥ 80 %: ${add.median >= 0.8 ? 'met' : '**not met**'} in this run).
The load column is the machine's 1-minute load average as each run ended (2 cores).

### Transfers between a tab and the CLI (${TRANSFER_MIB} MiB track)

| path | throughput | ceiling: bare pump, same direction | of ceiling |
| --- | --- | --- | --- |
| tab ← CLI (the tab's fetcher, one holder) | ${fmt(transfer.fromCli)} MB/s | ${fmt(transfer.pumpOut)} MB/s (Node → tab) | ${((100 * transfer.fromCli) / transfer.pumpOut).toFixed(0)} % |
| CLI ← tab (\`/actions/get\` on the running node) | ${fmt(transfer.toCli)} MB/s | ${fmt(transfer.pumpIn)} MB/s (tab → Node) | ${((100 * transfer.toCli) / transfer.pumpIn).toFixed(0)} % |

The bare pump is raw RTCDataChannels between the tab and this Node process (wrtc), 60 KiB frames,
1 MiB high-water mark, no DCMX code. A fetch includes the piece list, per-piece hashing, the
partial store's writes and the whole-file check before it counts as done.

### Memory

| node | RSS |
| --- | --- |
| \`dcmx start\`, empty home | ${MiB(memory.emptyRss)} |
| \`dcmx start\` with ${TRACKS.toLocaleString('en')} tracks in its catalog | ${MiB(memory.tracksRss)} |
| the same with ${memory.links} verified links (of ${LINKS} asked for) | ${MiB(memory.linksRss)} |

The links come from ${LINKS} helper nodes in two other processes (the same Node link and signaling
code, no storage), each looking the CLI up through the signaling server; the node's link manager
evicts and refills as it does in a real room, so the count is what was verified when RSS was read.
`,
  )
  log('wrote docs/benchmarks.md section "cli"')
} finally {
  await rm(work, { recursive: true, force: true })
}
