/**
 * The NAT lab as the tests see it (scripts/nat-lab.mjs builds it and runs the tests inside its
 * "internet" namespace): the DCMX server and coturn on the internet address, one Chromium per
 * home namespace, each behind its own NAT router.
 */
import { chromium, expect, type Browser, type Page } from '@playwright/test'
import { execFileSync } from 'node:child_process'
import { CHROMIUM_ARGS } from '../chromium.ts'
import { STATIC_DIR } from '../e2e/fixtures.ts'
import { startSignaling, type SignalingServer } from '../../signaling/server.ts'
import type { LinkRoute } from '../../src/core/link.ts'
import type { IceServer } from '../../src/core/signaling-protocol.ts'
import { startCoturn, type Coturn } from './coturn.ts'

export type HomeName = 'cone1' | 'cone2' | 'symmetric' | 'udpblocked'
export type Home = { nat: string; ns: string; address: string; wan: string; chromium: string }
export type Lab = { inet: string; internet: string; homes: Record<HomeName, Home> }

/** The lab this process runs in; tests skip nothing: outside the lab they fail with this message. */
export function readLab(): Lab {
  const json = process.env.DCMX_NAT_LAB
  if (!json) throw new Error('not inside the NAT lab: run `npm run test:nat` (root on Linux)')
  return JSON.parse(json) as Lab
}

export const SECRET = 'nat-lab-shared-secret'
const REALM = 'nat.lab'
// ICE URLs are built at run time: tests carry no literal STUN/TURN URLs.
const scheme = (name: 'stun' | 'turn') => `${name}${':'}`

/** Private ranges a public relay must never send to (the README's coturn config denies them too). */
export const DENIED_PEERS = [
  '10.0.0.0-10.255.255.255',
  '172.16.0.0-172.31.255.255',
  '192.168.0.0-192.168.255.255',
]

/** The UDP ports coturn relays allocations on. */
export const RELAY_PORTS: [number, number] = [49_152, 49_407]

/** coturn on the lab's internet address (it is the STUN server too), configured as the README says. */
export function labCoturn(lab: Lab): Promise<Coturn> {
  return startCoturn({
    ip: lab.internet,
    port: 3478,
    secret: SECRET,
    realm: REALM,
    relayPorts: RELAY_PORTS,
    extraArgs: DENIED_PEERS.map((r) => `--denied-peer-ip=${r}`),
  })
}

/** The STUN entry for coturn. */
export const stunServer = (lab: Lab, relay: Coturn): IceServer => ({
  urls: `${scheme('stun')}${lab.internet}:${relay.port}`,
})

/** The TURN URL of coturn (transport-less: the server offers it over UDP and TCP). */
export const turnUrl = (lab: Lab, relay: Coturn) => `${scheme('turn')}${lab.internet}:${relay.port}`

/** A DCMX server on the internet address, with STUN only, or with TURN credentials as well. */
export function labServer(lab: Lab, relay: Coturn, opts: { withTurn: boolean }): Promise<SignalingServer> {
  return startSignaling({
    host: lab.internet,
    port: 0,
    staticDir: STATIC_DIR,
    log: () => {},
    iceServers: [stunServer(lab, relay)],
    ...(opts.withTurn ? { turnAuth: { secret: SECRET, urls: [turnUrl(lab, relay)] } } : {}),
  })
}

/** Chromium inside a home namespace; the plain-http lab origin counts as secure for it (test only). */
export function launchHome(lab: Lab, home: HomeName, origin: string): Promise<Browser> {
  return chromium.launch({
    headless: true,
    executablePath: lab.homes[home].chromium,
    args: [...CHROMIUM_ARGS, `--unsafely-treat-insecure-origin-as-secure=${origin}`],
  })
}

/**
 * Test-only instrumentation injected into a page: every RTCPeerConnection is kept, and every
 * remote description and candidate it is given is recorded, so a test sees exactly what of the
 * other peer reached this one.
 */
export function recordRemote() {
  const seen: { sdp: string[]; candidates: string[]; pcs: RTCPeerConnection[] } = {
    sdp: [],
    candidates: [],
    pcs: [],
  }
  ;(window as unknown as { __remote: typeof seen }).__remote = seen
  const Native = window.RTCPeerConnection
  const setRemote = Native.prototype.setRemoteDescription as (d: RTCSessionDescriptionInit) => Promise<void>
  const addCandidate = Native.prototype.addIceCandidate as (c?: RTCIceCandidateInit) => Promise<void>
  Native.prototype.setRemoteDescription = function (this: RTCPeerConnection, d: RTCSessionDescriptionInit) {
    if (d.sdp) seen.sdp.push(d.sdp)
    return setRemote.call(this, d)
  } as typeof Native.prototype.setRemoteDescription
  Native.prototype.addIceCandidate = function (this: RTCPeerConnection, c?: RTCIceCandidateInit) {
    if (c?.candidate) seen.candidates.push(c.candidate)
    return addCandidate.call(this, c)
  } as typeof Native.prototype.addIceCandidate
  window.RTCPeerConnection = class extends Native {
    constructor(config?: RTCConfiguration) {
      super(config)
      seen.pcs.push(this)
    }
  }
}

export type LabNode = { page: Page; peerId: string }

/** Open the app in `browser` and wait for its peer id. */
export async function openLabNode(
  browser: Browser,
  server: SignalingServer,
  params: Record<string, string>,
): Promise<LabNode> {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.addInitScript(recordRemote)
  await page.goto(`${server.url}/?${new URLSearchParams(params)}`)
  const output = page.getByLabel('Your peer id')
  await expect(output).toHaveText(/^[0-9a-f]{32}$/, { timeout: 30_000 })
  return { page, peerId: (await output.textContent()) ?? '' }
}

/** The route `node` shows for its link to `peerId`, once connected. */
export async function routeTo(node: LabNode, peerId: string, timeout = 30_000): Promise<LinkRoute> {
  await expect
    .poll(
      () =>
        node.page.evaluate(
          (id) => window.dcmx?.peers.find((p) => p.peerId === id && p.state === 'connected')?.route,
          peerId,
        ),
      {
        timeout,
      },
    )
    .toBeTruthy()
  return (await node.page.evaluate(
    (id) => window.dcmx?.peers.find((p) => p.peerId === id)?.route,
    peerId,
  )) as LinkRoute
}

/** The activity log's text. */
export const activity = (node: LabNode) =>
  node.page.getByRole('log', { name: 'Activity', includeHidden: true })

/**
 * A path fault on the lab's internet, put in while a link is up: every packet between a relayed
 * address (coturn's relay ports) and a home's public address is dropped, both ways. A path with
 * exactly one relayed end (relay ↔ reflexive) dies at once; a relay ↔ relay path, whose two
 * relayed ends coturn joins on its own address, and each home's traffic to coturn's listening
 * port go on untouched. `dropped()` counts what the fault has eaten, so a test can show it hit.
 */
export function cutHalfRelayedPaths(lab: Lab) {
  const table = 'dcmx_half_relay_cut'
  const wans = Object.values(lab.homes)
    .map((h) => h.wan)
    .join(', ')
  const ports = `${RELAY_PORTS[0]}-${RELAY_PORTS[1]}`
  const rules = `table ip ${table} {
  chain out { type filter hook output priority 0; policy accept;
    ip saddr ${lab.internet} udp sport ${ports} ip daddr { ${wans} } counter drop; }
  chain in { type filter hook input priority 0; policy accept;
    ip daddr ${lab.internet} udp dport ${ports} ip saddr { ${wans} } counter drop; }
}
`
  execFileSync('nft', ['-f', '-'], { input: rules })
  return {
    dropped(): number {
      const listing = execFileSync('nft', ['list', 'table', 'ip', table], { encoding: 'utf8' })
      return [...listing.matchAll(/counter packets (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0)
    },
    remove() {
      execFileSync('nft', ['delete', 'table', 'ip', table])
    },
  }
}
