/**
 * `npm run bench:link-layer`: did rebuilding the link layer (issue 11) change gossip bytes or
 * transfer throughput? Runs tests/bench/link-layer-run.ts twice, back to back and the same way:
 * in a checkout of the core as it was before (DCMX_BASE_REF, default the commit the rebuild
 * started from) and in this tree; writes the comparison to its section of docs/benchmarks.md.
 */
import { execFileSync, spawn } from 'node:child_process'
import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { median } from './gossip.ts'
import { writeBenchSection } from './doc-section.ts'
import type { LinkLayerRun } from './link-layer-run.ts'

/** The last commit before the link layer was rebuilt. */
const BASE_REF = process.env.DCMX_BASE_REF ?? 'ff3bd32'
const root = resolve(import.meta.dirname, '..', '..')

/** Transfers per tree, alternating before and after, so both see the same (shared, noisy) machine. */
const TRANSFER_ROUNDS = 5

function run(tree: string, parts: string): Promise<LinkLayerRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(tree, 'tests', 'bench', 'link-layer-run.ts')],
      {
        cwd: tree,
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, DCMX_LL_PARTS: parts },
      },
    )
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.on('error', reject)
    child.on('exit', (code) => {
      const last = out.trim().split('\n').at(-1)
      if (code !== 0 || !last) return reject(new Error(`link-layer-run in ${tree} exited with ${code}`))
      resolvePromise(JSON.parse(last) as LinkLayerRun)
    })
  })
}

const base = mkdtempSync(join(tmpdir(), 'dcmx-base-'))
let before: LinkLayerRun
let after: LinkLayerRun
try {
  const archive = execFileSync('git', ['archive', BASE_REF], { cwd: root, maxBuffer: 1 << 30 })
  execFileSync('tar', ['-x', '-C', base], { input: archive })
  symlinkSync(join(root, 'node_modules'), join(base, 'node_modules'))
  copyFileSync(
    join(root, 'tests', 'bench', 'link-layer-run.ts'),
    join(base, 'tests', 'bench', 'link-layer-run.ts'),
  )
  console.log(`gossip, before (${BASE_REF}):`)
  before = await run(base, 'gossip')
  console.log('gossip, after (this tree):')
  after = await run(root, 'gossip')
  for (let i = 0; i < TRANSFER_ROUNDS; i++) {
    for (const [tree, into] of [
      [base, before],
      [root, after],
    ] as const) {
      const { transfer } = await run(tree, 'transfer')
      into.transfer.fetchMBs.push(...transfer.fetchMBs)
      into.transfer.fetchCpuMsPerMiB.push(...transfer.fetchCpuMsPerMiB)
      into.transfer.pumpMBs.push(...transfer.pumpMBs)
    }
  }
  before.transfer.reps = after.transfer.reps = TRANSFER_ROUNDS
} finally {
  rmSync(base, { recursive: true, force: true })
}

const kb = (bytes: number) => (bytes / 1024).toFixed(1)
const mb = (x: number) => x.toFixed(0)
const mb1 = (x: number) => x.toFixed(1)
const span = (xs: number[], f: (x: number) => string) =>
  `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`
const change = (a: number[], b: number[]) => {
  const pct = (100 * (median(b) - median(a))) / median(a)
  return `${pct >= 0 ? '+' : ''}${pct.toFixed(1)} %`
}
const g0 = before.gossip
const g1 = after.gossip
const t0 = before.transfer
const t1 = after.transfer

writeBenchSection(
  'link-layer',
  `## Link layer rebuild: gossip bytes and transfer throughput, before and after (issue 11)

Produced by \`npm run bench:link-layer\` on ${new Date().toISOString().slice(0, 10)}
(${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}),
under parallel load from other engineers' work on the same machine. The same script
(tests/bench/link-layer-run.ts) ran in a checkout of \`${BASE_REF}\` (before: no inbound gate, request
table, ledger or outbound budget) and in this tree (after): the simulator once in each, the
transfers alternating between the two trees. Medians, with the range over ${g0.reps} simulator runs
and ${t0.reps} transfers per tree.

**Gossip** — mesh simulator (real \`Mesh\`, codec and, after, the real inbound gate and request table),
${g0.nodes} nodes, warm, bytes sent per node per round; then ${g0.tracks} new tracks, one after another,
each until every node lists it. Ceiling: the push budget of one peer in one round, ${kb(before.pushBytes)} KiB.

| | before | after | change |
| --- | ---: | ---: | ---: |
| quiet round (refreshes only), KiB/node | ${span(g0.quietBytes, kb)} | ${span(g1.quietBytes, kb)} | ${change(g0.quietBytes, g1.quietBytes)} |
| round with a new track spreading, KiB/node | ${span(g0.spreadBytes, kb)} | ${span(g1.spreadBytes, kb)} | ${change(g0.spreadBytes, g1.spreadBytes)} |
| rounds until every node lists a new track | ${span(g0.spreadRounds, (x) => x.toFixed(1))} | ${span(g1.spreadRounds, (x) => x.toFixed(1))} | ${change(g0.spreadRounds, g1.spreadRounds)} |

**Transfer** — two real \`DcmxNode\`s over the real signaling server and in-memory links (the whole
session, gate, request tables, content server and fetcher; no WebRTC), one fetching a
${t0.mib} MiB track from the other. Ceiling: the same bytes in the same 60 KiB frames through a
bare in-memory link pair, each send awaited, in the same run.

| | before | after | change |
| --- | ---: | ---: | ---: |
| fetch, one holder, MB/s | ${span(t0.fetchMBs, mb1)} | ${span(t1.fetchMBs, mb1)} | ${change(t0.fetchMBs, t1.fetchMBs)} |
| fetch, CPU ms per MiB (both nodes, one process; lower is better) | ${span(t0.fetchCpuMsPerMiB, mb)} | ${span(t1.fetchCpuMsPerMiB, mb)} | ${change(t0.fetchCpuMsPerMiB, t1.fetchCpuMsPerMiB)} |
| ceiling: bare in-memory link pump, MB/s | ${span(t0.pumpMBs, mb)} | ${span(t1.pumpMBs, mb)} | ${change(t0.pumpMBs, t1.pumpMBs)} |

On a shared machine the wall-clock figures (see the pump's range) mostly measure the other
processes; CPU time per MiB is the transfer figure to compare. Browser transfer (WebRTC) is
measured by the \`transfer\` section of \`npm run bench\`; the rebuild changed only core code above
the data channel, which the in-memory figures above isolate.`,
)
console.log('wrote the link-layer section of docs/benchmarks.md')
