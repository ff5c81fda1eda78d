import { makeWav, sha256 } from './audio-fixtures.ts'
import { addFiles, expect, readPeerId, seesHolders, storedBlob, test } from './fixtures.ts'

const GOSSIP_MS = 500

const song = makeWav({ name: 'held.wav', seconds: 20, sampleRate: 44_100, title: 'Held Song' })
const songHash = sha256(song.buffer)

/** Try to remove the stored blob from the page itself, as nothing in the app would: the error's name, or 'removed'. */
const removeDirectly = (hash: string) =>
  (async () => {
    const root = await navigator.storage.getDirectory()
    const shard = await (await root.getDirectoryHandle('content')).getDirectoryHandle(hash.slice(0, 2))
    try {
      await shard.removeEntry(hash)
      return 'removed'
    } catch (error) {
      return (error as Error).name
    }
  })()

test('a holder serves through a read-only handle it keeps open, and a removal in another tab closes it first', async ({
  openNode,
}) => {
  const a = await openNode({ gossip: GOSSIP_MS })
  await addFiles(a.page, [song])
  const b = await openNode({ gossip: GOSSIP_MS })
  await seesHolders(b, songHash, 1, 45_000)
  await b.page.evaluate((hash) => window.dcmx!.fetcher!.fetch(hash).finished, songHash)
  expect(await storedBlob(b.page, songHash)).toEqual({ size: song.buffer.length, sha256: songHash })

  // A served every piece through a read-only sync handle, still open (closed after 5 s unused):
  // the file cannot be removed under it, though it can still be read (the player's path).
  expect(await a.page.evaluate(removeDirectly, songHash)).toBe('NoModificationAllowedError')
  expect(await storedBlob(a.page, songHash)).toEqual({ size: song.buffer.length, sha256: songHash })

  // A second tab of A's origin removes the track: its worker asks A's to close the handle first.
  const tab = await a.context.newPage()
  await tab.goto(a.page.url())
  await readPeerId(tab)
  await tab.getByRole('button', { name: 'Remove Held Song' }).click()
  await tab.getByRole('button', { name: 'Confirm remove Held Song' }).click()
  await expect(
    tab.getByRole('table', { name: 'Library' }).getByRole('row').filter({ hasText: 'Held Song' }),
  ).toHaveCount(0)
  expect(await storedBlob(tab, songHash)).toBeNull()
})
