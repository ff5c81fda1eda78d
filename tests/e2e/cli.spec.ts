import { readFile } from 'node:fs/promises'
import { networkInterfaces } from 'node:os'
import { join } from 'node:path'
import { makeWav, sha256 } from './audio-fixtures.ts'
import {
  addFiles,
  download,
  expect,
  networkRow,
  peerItem,
  seesHolders,
  storedBlob,
  test,
} from './fixtures.ts'
import { dcmx, startNode, tempHome, type Started } from '../cli/harness.ts'
import { writeFile } from 'node:fs/promises'

/**
 * The headless `dcmx` node and browser tabs on one mesh, both ways, over real WebRTC
 * (simple-peer + @roamhq/wrtc in the CLI process, Chromium in the tabs).
 */
const GOSSIP_MS = 500
const gossipEnv = { DCMX_GOSSIP_MS: String(GOSSIP_MS) }

const song = makeWav({
  name: 'seeded.wav',
  seconds: 60,
  sampleRate: 44_100,
  title: 'Seeded Song',
  artist: 'Headless',
})
const songHash = sha256(song.buffer)

const cliStats = async (node: Started) =>
  (await (await fetch(`http://127.0.0.1:${node.api}/stats`)).json()) as { piecesSent: number }

test.describe.configure({ timeout: 180_000 })

test('a CLI node seeds a track a tab lists and plays, ending with a verified copy; a tab’s track is fetched by dcmx get', async ({
  openNode,
  signaling,
  room,
}) => {
  const home = await tempHome()
  const getter = await tempHome()
  let cli: Started | undefined
  try {
    await writeFile(join(home.dir, song.name), song.buffer)
    expect((await dcmx(home.dir, ['add', join(home.dir, song.name)])).code).toBe(0)
    // A slow holder, so the tab is seen playing before the download is complete.
    cli = await startNode(home.dir, ['--server', signaling.server.url, '--room', room], {
      ...gossipEnv,
      DCMX_TEST_ONLY_SERVE_DELAY_MS: '60',
    })
    // The local API is not reachable on any other address, here the namespace's own 10.77.0.1.
    const outside = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal)?.address
    expect(outside).toBeDefined()
    await expect(fetch(`http://${outside}:${cli.api}/ping`)).rejects.toThrow()
    expect((await fetch(`http://127.0.0.1:${cli.api}/ping`)).status).toBe(200)

    const tab = await openNode({ gossip: GOSSIP_MS })
    await expect(peerItem(tab.page, cli.peerId).getByTestId('peer-state')).toHaveText('connected', {
      timeout: 60_000,
    })
    await seesHolders(tab, songHash, 1, 30_000)

    await tab.page.getByRole('tab', { name: 'Network', exact: true }).click()
    await networkRow(tab.page, 'Seeded Song').getByRole('button', { name: 'Play Seeded Song' }).click()
    const audio = tab.page.locator('audio')
    await expect
      .poll(() => audio.evaluate((el: HTMLAudioElement) => el.currentTime), { timeout: 30_000 })
      .toBeGreaterThan(0.3)
    await expect.poll(async () => (await download(tab, songHash))?.state, { timeout: 90_000 }).toBe('done')
    expect(await storedBlob(tab.page, songHash)).toEqual({ size: song.buffer.length, sha256: songHash })

    // The other way: a track imported in the tab, fetched by a standalone `dcmx get` on its own home.
    const tabSong = makeWav({ name: 'from-tab.wav', seconds: 20, hz: 523, title: 'From The Tab' })
    const tabHash = sha256(tabSong.buffer)
    await tab.page.getByRole('tab', { name: 'My library' }).click()
    await addFiles(tab.page, [tabSong])
    // The running CLI node streams it to a local player from the mesh: exact bytes for a range.
    await expect
      .poll(
        async () =>
          (await fetch(`http://127.0.0.1:${cli!.api}/content/${tabHash}`, { method: 'HEAD' })).status,
        { timeout: 30_000 },
      )
      .toBe(200)
    const ranged = await fetch(`http://127.0.0.1:${cli.api}/content/${tabHash}`, {
      headers: { Range: 'bytes=300000-300999' },
    })
    expect(ranged.status).toBe(206)
    expect(ranged.headers.get('content-type')).toBe('audio/wav')
    expect(Buffer.from(await ranged.arrayBuffer()).equals(tabSong.buffer.subarray(300_000, 301_000))).toBe(
      true,
    )

    const out = join(getter.dir, 'out.wav')
    const got = await dcmx(
      getter.dir,
      ['get', tabHash, '-o', out, '--server', signaling.server.url, '--room', room],
      { env: gossipEnv, timeoutMs: 90_000 },
    )
    expect(got.code, got.stderr).toBe(0)
    expect(sha256(await readFile(out))).toBe(tabHash)
    expect(sha256(await readFile(join(getter.dir, 'content', tabHash.slice(0, 2), tabHash)))).toBe(tabHash)
    expect((await dcmx(getter.dir, ['list', '--json'])).stdout).toContain(tabHash)
  } finally {
    await cli?.stop()
    await home.cleanup()
    await getter.cleanup()
  }
})

test('with three holders (tab, tab, CLI) a download draws pieces from the CLI too, and killing the CLI mid-transfer lets the tab finish', async ({
  openNode,
  signaling,
  room,
}) => {
  const big = makeWav({ name: 'shared.wav', seconds: 120, sampleRate: 44_100, title: 'Shared Song' })
  const bigHash = sha256(big.buffer)
  const home = await tempHome()
  let cli: Started | undefined
  try {
    await writeFile(join(home.dir, big.name), big.buffer)
    expect((await dcmx(home.dir, ['add', join(home.dir, big.name)])).code).toBe(0)
    cli = await startNode(home.dir, ['--server', signaling.server.url, '--room', room], {
      ...gossipEnv,
      DCMX_TEST_ONLY_SERVE_DELAY_MS: '100',
    })
    const a = await openNode({ gossip: GOSSIP_MS })
    const b = await openNode({ gossip: GOSSIP_MS })
    await addFiles(a.page, [big])
    await addFiles(b.page, [big])
    for (const holder of [a, b]) await holder.page.evaluate(() => (window.dcmx!.server.delayMs = 100))
    const c = await openNode({ gossip: GOSSIP_MS, links: 8 })
    await seesHolders(c, bigHash, 3, 30_000)
    await expect(peerItem(c.page, cli.peerId).getByTestId('peer-state')).toHaveText('connected', {
      timeout: 60_000,
    })
    await c.page.evaluate((hash) => void window.dcmx!.fetcher!.fetch(hash), bigHash)
    await expect.poll(async () => (await cliStats(cli!)).piecesSent, { timeout: 30_000 }).toBeGreaterThan(8)
    const before = await download(c, bigHash)
    expect(before!.have).toBeLessThan(before!.total)
    await cli.stop('SIGKILL')
    await expect.poll(async () => (await download(c, bigHash))?.state, { timeout: 120_000 }).toBe('done')
    expect(await storedBlob(c.page, bigHash)).toEqual({ size: big.buffer.length, sha256: bigHash })
  } finally {
    await cli?.stop()
    await home.cleanup()
  }
})
