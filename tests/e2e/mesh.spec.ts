import {
  activityLog,
  expect,
  expectConnected,
  peerItem,
  peerList,
  readPeerId,
  test,
  type TestNode,
} from './fixtures.ts'

/** Send `bytes` to `peerId` over the link and get them back (ping payloads are echoed). */
async function echo(node: TestNode, peerId: string, bytes: number[]) {
  return node.page.evaluate(
    async ({ peerId, bytes }) => {
      const result = await window.dcmx!.ping(peerId, new Uint8Array(bytes))
      return [...result.body]
    },
    { peerId, bytes },
  )
}

function randomBytes(n: number) {
  return Array.from({ length: n }, () => Math.floor(Math.random() * 256))
}

test('four nodes in one room link up, measure RTT, carry messages intact, and drop a closed node', async ({
  openNode,
}) => {
  const nodes: TestNode[] = []
  for (let i = 0; i < 4; i++) nodes.push(await openNode())
  const ids = nodes.map((n) => n.peerId)
  expect(new Set(ids).size).toBe(4)

  for (const node of nodes) {
    await expect(node.page.getByLabel('Signaling')).toHaveText('online')
    await expect(node.page.getByLabel('Your peer id')).toHaveText(node.peerId)
    await expectConnected(
      node.page,
      ids.filter((id) => id !== node.peerId),
    )
    await expect(peerList(node.page).getByRole('listitem', { includeHidden: true })).toHaveCount(3)
    // Among honest nodes every handshake succeeds the first time: nothing is rejected or timed out.
    await expect(activityLog(node.page)).not.toContainText('Rejected')
  }

  // A 48 KiB payload crosses the link and comes back byte for byte.
  const payload = randomBytes(48 * 1024)
  expect(await echo(nodes[0]!, ids[1]!, payload)).toEqual(payload)
  expect(await echo(nodes[3]!, ids[2]!, payload)).toEqual(payload)

  const [closing, ...rest] = nodes as [TestNode, ...TestNode[]]
  await closing.context.close()
  for (const node of rest) {
    await expect(peerItem(node.page, closing.peerId)).toHaveCount(0, { timeout: 15_000 })
    await expect(peerList(node.page).getByRole('listitem', { includeHidden: true })).toHaveCount(2)
  }
})

test('a reload keeps the peer id; links survive a signaling restart and nodes re-join on their own', async ({
  openNode,
  signaling,
}) => {
  const a = await openNode()
  const b = await openNode()
  const c = await openNode()
  await expectConnected(a.page, [b.peerId, c.peerId])

  await b.page.reload()
  expect(await readPeerId(b.page)).toBe(b.peerId)
  await expectConnected(b.page, [a.peerId, c.peerId])

  await signaling.stop()
  for (const node of [a, b, c])
    await expect(node.page.getByLabel('Signaling')).toHaveText(/reconnecting|connecting/)
  // Without the server, the existing links keep working.
  const payload = randomBytes(1024)
  expect(await echo(a, c.peerId, payload)).toEqual(payload)

  await signaling.restart()
  for (const node of [a, b, c]) {
    await expect(node.page.getByLabel('Signaling')).toHaveText('online', { timeout: 45_000 })
    await expectConnected(
      node.page,
      [a, b, c].map((n) => n.peerId).filter((id) => id !== node.peerId),
    )
  }

  const late = await openNode()
  await expectConnected(late.page, [a.peerId, b.peerId, c.peerId])
  for (const node of [a, b, c]) await expectConnected(node.page, [late.peerId])
})

test('a node whose identity proof is forged is rejected and its link closed', async ({ openNode }) => {
  const honest = await openNode()
  // The forger runs the real app, but every signature it makes has one bit flipped.
  const forger = await openNode({
    initScript: () => {
      const sign = SubtleCrypto.prototype.sign
      SubtleCrypto.prototype.sign = async function (
        this: SubtleCrypto,
        ...args: Parameters<SubtleCrypto['sign']>
      ) {
        const sig = new Uint8Array(await sign.apply(this, args))
        sig[0]! ^= 0x01
        return sig.buffer
      }
    },
  })

  // Refused, but not banned by id: before its proof, a link may be claiming someone else's id.
  const log = activityLog(honest.page)
  await expect(log).toContainText(
    `Refused a link that claimed to be ${forger.peerId.slice(0, 8)}: identity proof failed`,
  )
  await expect(peerItem(honest.page, forger.peerId)).toHaveCount(0)
  await expect(peerItem(forger.page, honest.peerId)).toHaveCount(0)

  // An honest node joining later links with the honest one and rejects the forger too.
  const second = await openNode()
  await expectConnected(second.page, [honest.peerId])
  await expect(activityLog(second.page)).toContainText(
    `Refused a link that claimed to be ${forger.peerId.slice(0, 8)}: identity proof failed`,
  )
  await expect(peerItem(second.page, forger.peerId)).toHaveCount(0)
})
