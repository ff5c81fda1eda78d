import { makeWav, sha256 } from './audio-fixtures.ts'
import { addFiles, expect, seesHolders, storedBlob, test } from './fixtures.ts'

/**
 * A hostile holder in a real browser: its faults are injected by this test alone (an init script
 * that wraps RTCDataChannel.send in its context), so no production build contains them. It
 * completes the handshake honestly, then every piece frame it sends claims a 16 MiB piece.
 */

const GOSSIP_MS = 500

const song = makeWav({ name: 'contested.wav', seconds: 60, sampleRate: 44_100, title: 'Contested Song' })
const songHash = sha256(song.buffer)

/** Runs in the hostile context before the app: rewrites the `length` of every content-piece frame. */
function liePieceLengths() {
  const send = RTCDataChannel.prototype.send
  RTCDataChannel.prototype.send = function (this: RTCDataChannel, data: never) {
    const bytes = ArrayBuffer.isView(data)
      ? new Uint8Array(
          (data as ArrayBufferView).buffer,
          (data as ArrayBufferView).byteOffset,
          (data as ArrayBufferView).byteLength,
        )
      : undefined
    // [u8 version][u8 type][u16 header length][JSON header][body]; type 11 is content-piece.
    if (bytes && bytes.length >= 4 && bytes[1] === 11) {
      const headerLength = (bytes[2]! << 8) | bytes[3]!
      const header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + headerLength)))
      header.length = 16 * 1024 * 1024
      const json = new TextEncoder().encode(JSON.stringify(header))
      const body = bytes.subarray(4 + headerLength)
      const out = new Uint8Array(4 + json.length + body.length)
      out.set([bytes[0]!, 11, json.length >> 8, json.length & 0xff])
      out.set(json, 4)
      out.set(body, 4 + json.length)
      return send.call(this, out)
    }
    return send.call(this, data)
  }
}

test('a hostile holder lying in its piece headers is banned; the listener keeps playing from the honest holder', async ({
  openNode,
}) => {
  const hostile = await openNode({ gossip: GOSSIP_MS, initScript: liePieceLengths })
  const honest = await openNode({ gossip: GOSSIP_MS })
  await addFiles(hostile.page, [song])
  await addFiles(honest.page, [song])
  const listener = await openNode({ gossip: GOSSIP_MS })
  await seesHolders(listener, songHash, 2, 45_000)
  // Each verified link's proof covered real DTLS fingerprints: its own certificate and the other's.
  const fingerprints = await listener.page.evaluate(() =>
    window.dcmx!.links.verified.map((e) => e.link.fingerprints),
  )
  expect(fingerprints).toHaveLength(2)
  for (const fp of fingerprints) {
    expect(fp?.local).toMatch(/^sha-256 ([0-9a-f]{2}:){31}[0-9a-f]{2}$/)
    expect(fp?.remote).toMatch(/^sha-256 ([0-9a-f]{2}:){31}[0-9a-f]{2}$/)
    expect(fp?.local).not.toBe(fp?.remote)
  }

  await listener.page.getByRole('tab', { name: 'Network', exact: true }).click()
  await listener.page
    .getByRole('table', { name: 'Network' })
    .getByRole('row')
    .filter({ hasText: 'Contested Song' })
    .getByRole('button', { name: 'Play Contested Song' })
    .click()
  const audio = listener.page.locator('audio')
  await expect.poll(() => audio.evaluate((el: HTMLAudioElement) => el.currentTime)).toBeGreaterThan(0.3)

  // The hostile one is banned (its proven id), the honest one is not.
  const log = listener.page.getByRole('log', { name: 'Activity', includeHidden: true })
  await expect(log).toContainText(`Rejected peer ${hostile.peerId.slice(0, 8)}`)
  await expect(log).not.toContainText(`Rejected peer ${honest.peerId.slice(0, 8)}`)
  expect(await listener.page.evaluate(() => window.dcmx!.banned)).toEqual([hostile.peerId])

  // It plays on, and the download ends verified, every byte from the honest holder.
  const at = await audio.evaluate((el: HTMLAudioElement) => el.currentTime)
  await expect.poll(() => audio.evaluate((el: HTMLAudioElement) => el.currentTime)).toBeGreaterThan(at + 0.5)
  await expect
    .poll(
      () =>
        listener.page.evaluate(
          (hash) => window.dcmx?.fetcher?.downloads.find((d) => d.hash === hash)?.state,
          songHash,
        ),
      { timeout: 60_000 },
    )
    .toBe('done')
  expect(await storedBlob(listener.page, songHash)).toEqual({ size: song.buffer.length, sha256: songHash })
})

/**
 * Runs in the hostile context before the app: once a link has carried its handshake, every frame
 * the app sends on it is followed by a text message (the codec speaks binary frames only).
 */
function chatterInText() {
  const send = RTCDataChannel.prototype.send
  const sent = new WeakMap<RTCDataChannel, number>()
  RTCDataChannel.prototype.send = function (this: RTCDataChannel, data: never) {
    send.call(this, data)
    const n = (sent.get(this) ?? 0) + 1
    sent.set(this, n)
    if (n > 2 && this.readyState === 'open') send.call(this, 'not a frame' as never)
  }
}

test('a peer sending text messages on its link is refused as malformed and banned', async ({ openNode }) => {
  const hostile = await openNode({ gossip: GOSSIP_MS, initScript: chatterInText })
  const listener = await openNode({ gossip: GOSSIP_MS })
  await expect
    .poll(() => listener.page.evaluate(() => window.dcmx!.banned), { timeout: 30_000 })
    .toEqual([hostile.peerId])
  const log = listener.page.getByRole('log', { name: 'Activity', includeHidden: true })
  await expect(log).toContainText(`Rejected peer ${hostile.peerId.slice(0, 8)}`)
})
