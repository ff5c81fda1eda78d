#!/usr/bin/env node
// The NAT lab: private network namespaces that stand for the internet and for homes behind NAT
// routers, so WebRTC is tried across real NATs without a packet leaving this machine.
//
//   node scripts/nat-lab.mjs -- <command> [args…]
//
// Runs <command> inside the "internet" namespace (where the tests start the DCMX server and
// coturn) with DCMX_NAT_LAB describing the lab as JSON; browsers for each home are started through
// the wrapper scripts it names (`ip netns exec <home> chromium …`), which Playwright takes as
// executablePath. Needs root on Linux with iproute2 and nftables. Everything is removed when the
// command ends, fails, times out or is interrupted; labs left by a killed run are swept first.
//
//   internet 198.51.100.0/24 (bridge): server and coturn on .1, each router's WAN on .1x;
//            a default route into an unanswered link, so unknown addresses are silently lost
//   home i  192.168.(10+i).0/24 behind router i:
//     cone1, cone2  endpoint-independent NAT: masquerade, plus unsolicited inbound dropped at the
//                   router (without that guard, an early unsolicited packet's conntrack entry takes
//                   the port the NAT needs next, and the mapping changes as if it were symmetric)
//     symmetric     masquerade random,fully-random: a new mapping for each destination
//     udpblocked    every UDP packet dropped in forwarding (TCP only: TURN over TCP or nothing)
import { execFileSync, spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** The whole command (build excluded) must end by then; the lab is torn down either way. */
const LAB_TIMEOUT_MS = Number(process.env.DCMX_NAT_TIMEOUT_MS ?? 10 * 60_000)
const PREFIX = 'dcmxnat'
const INTERNET = { ip: '198.51.100.1', prefix: 24 }
const HOMES = [
  { name: 'cone1', nat: 'cone' },
  { name: 'cone2', nat: 'cone' },
  { name: 'symmetric', nat: 'symmetric' },
  { name: 'udpblocked', nat: 'udpblocked' },
]

const sep = process.argv.indexOf('--')
const command = sep === -1 ? process.argv.slice(2) : process.argv.slice(sep + 1)
if (command.length === 0) {
  console.error('usage: node scripts/nat-lab.mjs -- <command> [args…]')
  process.exit(2)
}
if (process.platform !== 'linux' || process.getuid?.() !== 0) {
  console.error('[nat-lab] needs root on Linux (network namespaces and nftables)')
  process.exit(1)
}
for (const tool of ['ip', 'nft']) {
  try {
    execFileSync(tool, ['-V'], { stdio: 'ignore' })
  } catch {
    console.error(`[nat-lab] ${tool} is missing (apt-get install iproute2 nftables)`)
    process.exit(1)
  }
}

const run = (argv, input) =>
  execFileSync(argv[0], argv.slice(1), { stdio: [input ? 'pipe' : 'ignore', 'ignore', 'inherit'], input })
const ip = (...args) => run(['ip', ...args])
const inNs = (ns, ...argv) => run(['ip', 'netns', 'exec', ns, ...argv])
const nft = (ns, rules) => run(['ip', 'netns', 'exec', ns, 'nft', '-f', '-'], rules)

const alive = (pid) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return e.code === 'EPERM'
  }
}

function removeNamespace(name) {
  try {
    // Kill what still runs inside (a browser or coturn of a crashed test), then the namespace.
    const pids = execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8' })
      .split(/\s+/)
      .filter(Boolean)
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL')
      } catch {
        // already gone
      }
    }
    ip('netns', 'del', name)
  } catch {
    // already gone
  }
}

/** Namespaces of labs whose runner died without cleaning up. */
function sweepStale() {
  const names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n?.startsWith(`${PREFIX}-`))
  for (const name of names) {
    const pid = Number(name.split('-')[1])
    if (!alive(pid)) removeNamespace(name)
  }
}

const id = process.pid
const nsName = (role) => `${PREFIX}-${id}-${role}`
const created = []
const workDir = mkdtempSync(join(tmpdir(), 'dcmx-nat-'))

function cleanup() {
  for (const name of created.splice(0).reverse()) removeNamespace(name)
  rmSync(workDir, { recursive: true, force: true })
}

function addNamespace(role) {
  const name = nsName(role)
  ip('netns', 'add', name)
  created.push(name)
  ip('-n', name, 'link', 'set', 'lo', 'up')
  return name
}

function routerRules(home, wan) {
  const masq = home.nat === 'symmetric' ? 'masquerade random,fully-random' : 'masquerade'
  const forward =
    home.nat === 'udpblocked'
      ? `chain forward { type filter hook forward priority 0; meta l4proto udp drop; }`
      : ''
  return `
table ip lab {
  chain postrouting { type nat hook postrouting priority srcnat; oifname "${wan}" ${masq}; }
  chain input { type filter hook input priority 0; iifname "${wan}" ct state new drop; }
  ${forward}
}
`
}

/**
 * A default route to nowhere: as on the internet, a packet to an address nobody routes (another
 * home's private address) vanishes instead of failing at once. Without it, coturn's sendto() to a
 * peer's host candidate fails with ENETUNREACH, and coturn closes that allocation's relay socket
 * (`tobeclosed` on any send error): the stall tests/nat/nat.spec.ts reproduces on purpose.
 */
function sink(ns) {
  // A veth pair without addresses (no dummy module needed): on-link ARP goes unanswered.
  ip('-n', ns, 'link', 'add', 'sink0', 'type', 'veth', 'peer', 'name', 'sink1')
  ip('-n', ns, 'link', 'set', 'sink0', 'up')
  ip('-n', ns, 'link', 'set', 'sink1', 'up')
  ip('-n', ns, 'route', 'add', 'default', 'dev', 'sink0')
}

/** A veth pair between two namespaces, named `a` and `b` inside them (temporary names are per run). */
function cable(nsA, a, nsB, b, tag) {
  const tmpA = `d${id % 100000}${tag}a`
  const tmpB = `d${id % 100000}${tag}b`
  ip('link', 'add', tmpA, 'netns', nsA, 'type', 'veth', 'peer', 'name', tmpB, 'netns', nsB)
  ip('-n', nsA, 'link', 'set', tmpA, 'name', a)
  ip('-n', nsB, 'link', 'set', tmpB, 'name', b)
}

function build() {
  const inet = addNamespace('inet')
  ip('-n', inet, 'link', 'add', 'br0', 'type', 'bridge')
  ip('-n', inet, 'addr', 'add', `${INTERNET.ip}/${INTERNET.prefix}`, 'dev', 'br0')
  ip('-n', inet, 'link', 'set', 'br0', 'up')
  sink(inet)
  const homes = {}
  HOMES.forEach((home, i) => {
    const router = addNamespace(`r${i}`)
    const host = addNamespace(`h${i}`)
    const wanIp = `198.51.100.${10 + i}`
    const lanNet = `192.168.${10 + i}`
    // WAN: router <-> internet bridge; LAN: router <-> home
    cable(router, 'wan0', inet, `b${i}`, `w${i}`)
    ip('-n', inet, 'link', 'set', `b${i}`, 'master', 'br0')
    ip('-n', inet, 'link', 'set', `b${i}`, 'up')
    ip('-n', router, 'addr', 'add', `${wanIp}/24`, 'dev', 'wan0')
    ip('-n', router, 'link', 'set', 'wan0', 'up')
    cable(router, 'lan0', host, 'eth0', `l${i}`)
    ip('-n', router, 'addr', 'add', `${lanNet}.1/24`, 'dev', 'lan0')
    ip('-n', router, 'link', 'set', 'lan0', 'up')
    ip('-n', host, 'addr', 'add', `${lanNet}.2/24`, 'dev', 'eth0')
    ip('-n', host, 'link', 'set', 'eth0', 'up')
    ip('-n', host, 'route', 'add', 'default', 'via', `${lanNet}.1`)
    inNs(router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1')
    sink(router)
    nft(router, routerRules(home, 'wan0'))
    const chromium = join(workDir, `chromium-${home.name}`)
    const binary = process.env.DCMX_CHROMIUM ?? '/usr/bin/chromium'
    writeFileSync(chromium, `#!/bin/sh\nexec ip netns exec ${host} ${binary} "$@"\n`)
    chmodSync(chromium, 0o755)
    homes[home.name] = { nat: home.nat, ns: host, router, address: `${lanNet}.2`, wan: wanIp, chromium }
  })
  return { inet, internet: INTERNET.ip, homes, workDir }
}

sweepStale()
let lab
try {
  lab = build()
} catch (error) {
  cleanup()
  console.error(`[nat-lab] could not build the lab: ${error.message}`)
  process.exit(1)
}
console.log(
  `[nat-lab] internet ${INTERNET.ip}/24; homes: ${HOMES.map((h) => `${h.name} (${h.nat})`).join(', ')}`,
)

const env = {
  ...process.env,
  PATH: `${process.cwd()}/node_modules/.bin:${process.env.PATH ?? ''}`,
  DCMX_NAT_LAB: JSON.stringify(lab),
  DCMX_IN_NETNS: '1',
}
const child = spawn('ip', ['netns', 'exec', lab.inet, ...command], { stdio: 'inherit', env })
const stop = (signal) => child.kill(signal)
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
const timer = setTimeout(() => {
  console.error(`[nat-lab] ${command.join(' ')} ran past ${LAB_TIMEOUT_MS} ms; stopping it`)
  child.kill('SIGTERM')
  setTimeout(() => child.kill('SIGKILL'), 5_000).unref()
}, LAB_TIMEOUT_MS)
const code = await new Promise((resolve) => {
  child.on('exit', (c, signal) => resolve(c ?? (signal ? 128 + 15 : 1)))
  child.on('error', (error) => {
    console.error(`[nat-lab] cannot run ${command[0]}: ${error.message}`)
    resolve(127)
  })
})
clearTimeout(timer)
cleanup()
process.exit(code)
