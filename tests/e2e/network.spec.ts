import type { Page } from '@playwright/test'
import { makeWav } from './audio-fixtures.ts'
import { addFiles, expect, peerItem, test, type TestNode } from './fixtures.ts'

/** Gossip every 500 ms (records refresh every 3 s and expire after 9 s), so a test sees several rounds. */
const GOSSIP_MS = 500

const networkTable = (page: Page) => page.getByRole('table', { name: 'Network' })
const networkRow = (page: Page, title: string) =>
  networkTable(page).getByRole('row').filter({ hasText: title })

async function showNetwork(page: Page) {
  await page.getByRole('tab', { name: 'Network', exact: true }).click()
}

/** Peer ids this node holds a verified link to. */
function linkedTo(node: TestNode): Promise<string[]> {
  return node.page.evaluate(() =>
    window.dcmx!.peers.filter((p) => p.state === 'connected').map((p) => p.peerId),
  )
}

/** Open `n` nodes with a small link budget and wait until each has at least one link. */
async function openMesh(openNode: (opts: { links: number; gossip: number }) => Promise<TestNode>, n: number) {
  const nodes: TestNode[] = []
  for (let i = 0; i < n; i++) nodes.push(await openNode({ links: 2, gossip: GOSSIP_MS }))
  for (const node of nodes) await expect.poll(async () => (await linkedTo(node)).length).toBeGreaterThan(0)
  return nodes
}

const farTone = makeWav({ name: 'far.wav', seconds: 4, hz: 330, title: 'Far Tone', artist: 'Mesh Tests' })

test('a track imported on one node reaches a node with no link to it, with holder counts that follow adds, removals and departures', async ({
  openNode,
}) => {
  const nodes = await openMesh(openNode, 6)

  // The budget keeps this a partial mesh: find two nodes with no direct link between them.
  let pair: [TestNode, TestNode] | undefined
  for (const a of nodes) {
    const links = await linkedTo(a)
    const b = nodes.find((n) => n !== a && !links.includes(n.peerId))
    if (b) {
      pair = [a, b]
      break
    }
  }
  expect(pair, 'six nodes with a link budget of 2 should not form a full mesh').toBeDefined()
  const [holder, far] = pair!
  expect(await linkedTo(far)).not.toContain(holder.peerId)

  await addFiles(holder.page, [farTone])
  await showNetwork(far.page)
  const row = networkRow(far.page, 'Far Tone')
  await expect(row).toContainText('Mesh Tests', { timeout: 15_000 })
  await expect(row).toContainText('1 peer')
  await expect(row.getByRole('button', { name: 'Play Far Tone' })).toBeVisible()
  // Peer metadata is text: the title is rendered as such in its own cell.
  await expect(far.page.getByRole('region', { name: 'Stats', includeHidden: true })).toContainText('discover')

  // A second holder (not the far node) adds the same bytes: the far node counts two.
  const second = nodes.find((n) => n !== holder && n !== far)!
  await addFiles(second.page, [farTone])
  await expect(row).toContainText('2 peers', { timeout: 15_000 })

  // It removes them again: back to one.
  await second.page.getByRole('button', { name: 'Remove Far Tone' }).click()
  await second.page.getByRole('button', { name: 'Confirm remove Far Tone' }).click()
  await expect(row).toContainText('1 peer', { timeout: 15_000 })

  // The last holder closes its tab: the track stays listed, as unavailable.
  await holder.context.close()
  await expect(row).toContainText('Unavailable', { timeout: 20_000 })
  await expect(row.getByRole('button', { name: 'Play Far Tone' })).toBeDisabled()
  // And the departed holder drops out of the wider peer list too.
  await expect(peerItem(far.page, holder.peerId)).toHaveCount(0, {
    timeout: 20_000,
  })
})

test('a node started after the others learns the whole network library within two gossip rounds', async ({
  openNode,
}) => {
  const nodes = await openMesh(openNode, 5)
  const titles = nodes.map((_, i) => `Early Tone ${i + 1}`)
  await Promise.all(
    nodes.map((node, i) =>
      addFiles(node.page, [
        makeWav({ name: `early-${i}.wav`, seconds: 2, hz: 200 + 50 * i, title: titles[i]! }),
      ]),
    ),
  )
  // Let the first ones hear of each other, so the library the newcomer must learn is all there.
  for (const node of nodes) {
    await showNetwork(node.page)
    for (const title of titles)
      await expect(networkRow(node.page, title)).toContainText('1 peer', { timeout: 20_000 })
  }

  const late = await openNode({ links: 2, gossip: GOSSIP_MS })
  await showNetwork(late.page)
  for (const title of titles)
    await expect(networkRow(late.page, title)).toContainText('1 peer', { timeout: 15_000 })
  // Counted by the node itself: a link-up exchange plus at most two periodic rounds.
  const rounds = await late.page.evaluate(() => window.dcmx!.stats.gossipRounds)
  expect(rounds).toBeLessThanOrEqual(2)
})
