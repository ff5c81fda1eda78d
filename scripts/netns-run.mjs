#!/usr/bin/env node
// Run a command inside a private network namespace, so WebRTC tests and benchmarks send nothing
// beyond this machine. Chromium gathers no ICE candidates with loopback alone or without a default
// route, so the namespace gets a veth pair with an address and a default route through it; the
// other end of the pair has no address and lives in the same namespace, so no packet can leave.
//
//   node scripts/netns-run.mjs -- <command> [args…]
//
// Needs root on Linux (as in CI). Elsewhere, or with DCMX_NETNS=0, the command runs directly.
import { execFileSync, spawn } from 'node:child_process'

const sep = process.argv.indexOf('--')
const command = sep === -1 ? process.argv.slice(2) : process.argv.slice(sep + 1)
if (command.length === 0) {
  console.error('usage: node scripts/netns-run.mjs -- <command> [args…]')
  process.exit(2)
}

// Resolve local binaries (playwright, tsx) the way npm scripts do.
const env = { ...process.env, PATH: `${process.cwd()}/node_modules/.bin:${process.env.PATH ?? ''}` }

function canUseNetns() {
  if (process.env.DCMX_NETNS === '0' || process.env.DCMX_IN_NETNS === '1') return false
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

function ip(...args) {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'inherit'] })
}

function run(argv, extraEnv) {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: 'inherit', env: { ...env, ...extraEnv } })
    const forward = (signal) => child.kill(signal)
    process.on('SIGINT', forward)
    process.on('SIGTERM', forward)
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + 1 : 1)))
    child.on('error', (error) => {
      console.error(`cannot run ${argv[0]}: ${error.message}`)
      resolve(127)
    })
  })
}

let code
if (canUseNetns()) {
  const name = `dcmx-${process.pid}`
  const cleanup = () => {
    try {
      ip('netns', 'del', name)
    } catch {
      // already gone
    }
  }
  try {
    ip('netns', 'add', name)
    ip('-n', name, 'link', 'set', 'lo', 'up')
    ip('-n', name, 'link', 'add', 'dcmx0', 'type', 'veth', 'peer', 'name', 'dcmx1')
    ip('-n', name, 'addr', 'add', '10.77.0.1/24', 'dev', 'dcmx0')
    ip('-n', name, 'link', 'set', 'dcmx0', 'up')
    ip('-n', name, 'link', 'set', 'dcmx1', 'up')
    ip('-n', name, 'route', 'add', 'default', 'dev', 'dcmx0')
  } catch (error) {
    cleanup()
    console.error(`could not create network namespace ${name}: ${error.message}`)
    process.exit(1)
  }
  console.log(`[netns] running in private network namespace ${name} (10.77.0.1/24, no way out)`)
  code = await run(['ip', 'netns', 'exec', name, ...command], { DCMX_IN_NETNS: '1' })
  cleanup()
} else {
  if (process.env.DCMX_IN_NETNS !== '1') {
    console.warn('[netns] not root on Linux (or DCMX_NETNS=0): running without a private network namespace')
  }
  code = await run(command, {})
}
process.exit(code)
