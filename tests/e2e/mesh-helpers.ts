import type { Page } from '@playwright/test'
import type { FilePayload } from './audio-fixtures.ts'
import { expect, type TestNode } from './fixtures.ts'

/** Import files in a tab through its file picker and wait until each is added (or already there). */
export async function addFiles(page: Page, files: FilePayload[]) {
  await page.getByLabel('Add music files').setInputFiles(files)
  for (const file of files) {
    await expect(
      page.getByRole('list', { name: 'Imports' }).getByRole('listitem').filter({ hasText: file.name }),
    ).toContainText(/Added|Already/)
  }
}

/** The Network view's row for a track. */
export const networkRow = (page: Page, title: string) =>
  page.getByRole('table', { name: 'Network' }).getByRole('row').filter({ hasText: title })

/** Wait until `node` lists the track with `holders` holders, described. */
export async function seesHolders(node: TestNode, hash: string, holders: number, timeout = 20_000) {
  await expect
    .poll(
      () =>
        node.page.evaluate(
          (hash) => window.dcmx!.network.find((t) => t.contentHash === hash && t.described)?.holders ?? 0,
          hash,
        ),
      { timeout },
    )
    .toBe(holders)
}

/** A node's download of `hash`, as its fetcher shows it. */
export const download = (node: TestNode, hash: string) =>
  node.page.evaluate((hash) => window.dcmx?.fetcher?.downloads.find((d) => d.hash === hash), hash)
