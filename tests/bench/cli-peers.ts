/**
 * Helper process for the CLI memory bench: runs N headless DcmxNodes (the CLI's own Node link and
 * signaling code, no storage) that each look up and link to one target peer, and stays up until
 * killed. Prints "linked <n>" as links verify.
 *
 *   tsx tests/bench/cli-peers.ts <signaling-url> <room> <target-peer-id> <count>
 */
import { DcmxNode } from '../../src/core/node.ts'
import { SignalingClient } from '../../src/core/signaling-client.ts'
import { nodeCrypto, testIdentity } from '../../src/core/testing/crypto.ts'
import { realClock } from '../../src/core/testing/ws-socket.ts'
import { createNodeLink } from '../../src/node/rtc-link.ts'
import { signalingUrl } from '../../src/node/start-node.ts'
import { openNodeSocket } from '../../src/node/ws-socket.ts'

const [url, room, target, countArg] = process.argv.slice(2)
const count = Number(countArg)
let linked = 0
for (let i = 0; i < count; i++) {
  const identity = await testIdentity('Ed25519')
  const signaling = new SignalingClient({
    url: signalingUrl(url!),
    room: room!,
    peerId: identity.peerId,
    openSocket: (u) => openNodeSocket(u),
    clock: realClock,
    random: Math.random,
  })
  const node = new DcmxNode({
    identity,
    crypto: nodeCrypto,
    clock: realClock,
    random: Math.random,
    signaling,
    createLink: createNodeLink,
    // Few links each: the bench counts the target's links, not a mesh among helpers.
    config: { linkBudget: 2, inboundSlack: 0 },
  })
  let counted = false
  node.events.on('change', () => {
    if (!counted && node.peers.some((p) => p.peerId === target && p.state === 'connected')) {
      counted = true
      console.log(`linked ${++linked}`)
    }
  })
  signaling.events.on('state', (s) => {
    if (process.env.DEBUG) console.error('state', s.state)
    if (s.state === 'online') signaling.lookup([target!])
  })
  if (process.env.DEBUG) node.events.on('log', (e) => console.error('log', e.message))
  node.start()
  // Joining one at a time keeps the signaling server's per-IP join rate happy.
  await new Promise((r) => setTimeout(r, 150))
}
