/**
 * A minimal TURN client (RFC 5766 Allocate over UDP with long-term credentials, RFC 5389), to ask
 * a real coturn whether it accepts a credential. Only what the test needs: no relaying.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'

const MAGIC = 0x2112a442
const ALLOCATE = 0x0003
const ALLOCATE_OK = 0x0103
const ALLOCATE_ERROR = 0x0113
const ATTR = {
  username: 0x0006,
  integrity: 0x0008,
  error: 0x0009,
  realm: 0x0014,
  nonce: 0x0015,
  transport: 0x0019,
}

type Attr = [type: number, value: Buffer]

function encode(type: number, tx: Buffer, attrs: Attr[], key?: Buffer): Buffer {
  const body = Buffer.concat(
    attrs.map(([t, v]) => {
      const head = Buffer.alloc(4)
      head.writeUInt16BE(t, 0)
      head.writeUInt16BE(v.length, 2)
      return Buffer.concat([head, v, Buffer.alloc((4 - (v.length % 4)) % 4)])
    }),
  )
  const header = Buffer.alloc(20)
  header.writeUInt16BE(type, 0)
  header.writeUInt32BE(MAGIC, 4)
  tx.copy(header, 8)
  if (!key) {
    header.writeUInt16BE(body.length, 2)
    return Buffer.concat([header, body])
  }
  // MESSAGE-INTEGRITY covers the message with its length already counting the 24-byte attribute.
  header.writeUInt16BE(body.length + 24, 2)
  const mac = createHmac('sha1', key)
    .update(Buffer.concat([header, body]))
    .digest()
  const mi = Buffer.alloc(4)
  mi.writeUInt16BE(ATTR.integrity, 0)
  mi.writeUInt16BE(20, 2)
  return Buffer.concat([header, body, mi, mac])
}

function decode(msg: Buffer): { type: number; attrs: Map<number, Buffer> } {
  const attrs = new Map<number, Buffer>()
  let at = 20
  while (at + 4 <= msg.length) {
    const t = msg.readUInt16BE(at)
    const len = msg.readUInt16BE(at + 2)
    attrs.set(t, msg.subarray(at + 4, at + 4 + len))
    at += 4 + len + ((4 - (len % 4)) % 4)
  }
  return { type: msg.readUInt16BE(0), attrs }
}

/** Outcome of an Allocate: accepted, or refused with the STUN error code. */
export type ProbeResult = { ok: true } | { ok: false; code: number; reason: string }

/** Ask the TURN server at host:port to allocate a relay for `username`/`credential`. */
export async function probeTurn(
  host: string,
  port: number,
  username: string,
  credential: string,
  timeoutMs = 3_000,
): Promise<ProbeResult> {
  const socket = createSocket('udp4')
  const transport: Attr = [ATTR.transport, Buffer.from([17, 0, 0, 0])]
  const exchange = (packet: Buffer) =>
    new Promise<ReturnType<typeof decode>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from ${host}:${port}`)), timeoutMs)
      socket.once('message', (msg) => {
        clearTimeout(timer)
        resolve(decode(msg))
      })
      socket.send(packet, port, host)
    })
  const errorOf = (m: ReturnType<typeof decode>): ProbeResult => {
    const e = m.attrs.get(ATTR.error)
    if (!e) return { ok: false, code: 0, reason: `unexpected message type ${m.type}` }
    return { ok: false, code: (e[2] ?? 0) * 100 + (e[3] ?? 0), reason: e.subarray(4).toString() }
  }
  try {
    const first = await exchange(encode(ALLOCATE, randomBytes(12), [transport]))
    if (first.type === ALLOCATE_OK) return { ok: true }
    const realm = first.attrs.get(ATTR.realm)
    const nonce = first.attrs.get(ATTR.nonce)
    if (first.type !== ALLOCATE_ERROR || !realm || !nonce) return errorOf(first)
    const key = createHash('md5').update(`${username}:${realm.toString()}:${credential}`).digest()
    const attrs: Attr[] = [
      transport,
      [ATTR.username, Buffer.from(username)],
      [ATTR.realm, realm],
      [ATTR.nonce, nonce],
    ]
    const second = await exchange(encode(ALLOCATE, randomBytes(12), attrs, key))
    return second.type === ALLOCATE_OK ? { ok: true } : errorOf(second)
  } finally {
    socket.close()
  }
}
