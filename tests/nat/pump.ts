/**
 * A bare RTCDataChannel pump between two pages (no DCMX code): the ceiling that DCMX's own link
 * set-up and transfer are measured against over the same NAT lab path, and the tool that showed
 * what a stalled relayed path does. Descriptions and trickled candidates are carried by the test
 * process (polled every POLL_MS, which the open time includes).
 */
import type { Page } from '@playwright/test'
import type { IceServer } from '../../src/core/signaling-protocol.ts'

export type PumpResult = {
  /** From creating the connections to the channel opening (ICE + DTLS + SCTP). */
  openMs: number
  /** Bytes the receiver got, and how long they took from the first to the last. */
  bytes: number
  ms: number
  /** The selected pair as the receiver's getStats() saw it at the end. */
  pair: string
  done: boolean
}

const POLL_MS = 20
const CHUNK = 16 * 1024

type PumpState = {
  pc: RTCPeerConnection
  t0: number
  out: RTCIceCandidateInit[]
  dc?: RTCDataChannel
  rx?: { bytes: number; first: number; last: number }
}

/** Runs in the page: make the connection (the offerer with its channel), return the description. */
async function start(arg: { config: RTCConfiguration; offer?: string }) {
  const pc = new RTCPeerConnection(arg.config)
  const s: PumpState = { pc, t0: performance.now(), out: [] }
  ;(window as unknown as { __pump: PumpState }).__pump = s
  pc.onicecandidate = (e) => e.candidate && s.out.push(e.candidate.toJSON())
  if (arg.offer === undefined) {
    s.dc = pc.createDataChannel('pump', { ordered: true })
    await pc.setLocalDescription(await pc.createOffer())
  } else {
    pc.ondatachannel = (e) => {
      const rx = { bytes: 0, first: 0, last: 0 }
      s.rx = rx
      e.channel.binaryType = 'arraybuffer'
      e.channel.onmessage = (m) => {
        if (rx.first === 0) rx.first = performance.now()
        rx.bytes += (m.data as ArrayBuffer).byteLength
        rx.last = performance.now()
      }
    }
    await pc.setRemoteDescription({ type: 'offer', sdp: arg.offer })
    await pc.setLocalDescription(await pc.createAnswer())
  }
  return pc.localDescription!.sdp
}

/** Runs in the page: take the candidates gathered since the last call, add the remote ones. */
async function exchange(remote: RTCIceCandidateInit[]) {
  const s = (window as unknown as { __pump: PumpState }).__pump
  for (const c of remote) await s.pc.addIceCandidate(c).catch(() => {})
  const open = s.dc ? s.dc.readyState === 'open' : s.rx !== undefined
  return { out: s.out.splice(0), open, openMs: performance.now() - s.t0 }
}

async function sendAll(arg: { bytes: number; chunk: number; timeoutMs: number }) {
  const dc = (window as unknown as { __pump: PumpState }).__pump.dc!
  const chunk = new Uint8Array(arg.chunk)
  dc.bufferedAmountLowThreshold = 256 * 1024
  const deadline = performance.now() + arg.timeoutMs
  for (let sent = 0; sent < arg.bytes && performance.now() < deadline; sent += chunk.length) {
    if (dc.readyState !== 'open') return
    if (dc.bufferedAmount > 1024 * 1024) {
      await new Promise<void>((r) => {
        dc.onbufferedamountlow = () => r()
        setTimeout(r, 1000)
      })
    }
    if (dc.readyState === 'open') dc.send(chunk)
  }
}

async function finish() {
  const s = (window as unknown as { __pump: PumpState }).__pump
  const stats = [...(await s.pc.getStats()).values()] as Record<string, string>[]
  const transport = stats.find((x) => x['type'] === 'transport')
  const pair = stats.find((x) => x['id'] === transport?.['selectedCandidatePairId'])
  const type = (id: string | undefined) => {
    const c = stats.find((x) => x['id'] === id)
    return c ? `${c['candidateType']}${c['relayProtocol'] ? `(${c['relayProtocol']})` : ''}` : '?'
  }
  s.pc.close()
  return {
    rx: s.rx ?? { bytes: 0, first: 0, last: 0 },
    pair: `${type(pair?.['remoteCandidateId'])} ↔ ${type(pair?.['localCandidateId'])}`,
  }
}

/** Connect `a` → `b`, pump `bytes` from a to b and report; bounded by `timeoutMs` per phase. */
export async function pump(
  a: Page,
  b: Page,
  opts: { iceServers: IceServer[]; relayOnly?: [boolean, boolean]; bytes: number; timeoutMs: number },
): Promise<PumpResult> {
  const config = (relay: boolean): RTCConfiguration => ({
    iceServers: opts.iceServers,
    iceTransportPolicy: relay ? 'relay' : 'all',
  })
  const offer = await a.evaluate(start, { config: config(opts.relayOnly?.[0] ?? false) })
  const answer = await b.evaluate(start, { config: config(opts.relayOnly?.[1] ?? false), offer })
  await a.evaluate(
    (sdp) =>
      (window as unknown as { __pump: PumpState }).__pump.pc.setRemoteDescription({ type: 'answer', sdp }),
    answer,
  )
  let toA: RTCIceCandidateInit[] = []
  let toB: RTCIceCandidateInit[] = []
  let openMs = Number.NaN
  const deadline = Date.now() + opts.timeoutMs
  while (Date.now() < deadline) {
    const fromA = await a.evaluate(exchange, toA)
    const fromB = await b.evaluate(exchange, toB)
    toB = fromA.out
    toA = fromB.out
    if (fromA.open) {
      openMs = fromA.openMs
      break
    }
    await new Promise((r) => setTimeout(r, POLL_MS))
  }
  if (!Number.isNaN(openMs))
    await a.evaluate(sendAll, { bytes: opts.bytes, chunk: CHUNK, timeoutMs: opts.timeoutMs })
  // Wait until the receiver has it all, or makes no progress for 3 s.
  let last = -1
  for (let still = 0; still < 12 && !Number.isNaN(openMs);) {
    const got = await b.evaluate(() => (window as unknown as { __pump: PumpState }).__pump.rx?.bytes ?? 0)
    if (got >= opts.bytes) break
    still = got === last ? still + 1 : 0
    last = got
    await new Promise((r) => setTimeout(r, 250))
  }
  const end = await b.evaluate(finish)
  await a.evaluate(() => (window as unknown as { __pump: PumpState }).__pump.pc.close())
  return {
    openMs,
    bytes: end.rx.bytes,
    ms: end.rx.last - end.rx.first,
    pair: end.pair,
    done: end.rx.bytes >= opts.bytes,
  }
}
