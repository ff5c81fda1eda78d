import { mount } from 'svelte'
import { emptyReader, firstOf, localReader } from './platform/local-reader.ts'
import { IdbPartialStore } from './platform/partial-store.ts'
import { startBrowserLibrary } from './platform/start-library.ts'
import { RelayOnlySetting } from './platform/privacy.ts'
import { readOptions, startBrowserNode } from './platform/start-node.ts'
import { serveContent } from './platform/sw-bridge.ts'
import App from './ui/App.svelte'
import { LibraryView } from './ui/library-view.svelte.ts'
import { NetworkView } from './ui/network-view.svelte.ts'
import { NodeView } from './ui/node-view.svelte.ts'
import { PrivacyView } from './ui/privacy-view.svelte.ts'
import InsecureContext from './ui/InsecureContext.svelte'
import StartupError from './ui/StartupError.svelte'

const target = document.getElementById('app')!

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The library needs storage; the network part still runs when the browser refuses it. */
async function openLibrary() {
  try {
    return { opened: await startBrowserLibrary() }
  } catch (error) {
    console.error(error)
    const reason = error instanceof Error ? error.message : String(error)
    return { libraryError: `This browser did not let DCMX open its storage (${reason}).` }
  }
}

try {
  const options = readOptions(new URL(location.href))
  // The node announces the library's tracks and stores what it downloads there, so the library
  // opens first (it takes milliseconds).
  const { opened, libraryError } = await openLibrary()
  const privacy = new RelayOnlySetting(new URL(location.href), localStorage)
  const node = await startBrowserNode(
    options,
    opened?.library,
    opened && {
      read: (hash, start, end) => opened.store.read(hash, start, end),
      partials: new IdbPartialStore(opened.store),
      adopt: (track) => opened.library.adopt(track),
    },
    privacy,
  )
  window.dcmx = node
  // /content/<hash> through the service worker, local tracks and remote ones alike, so the player
  // streams and seeks by URL; a remote track's pieces are fetched as the player asks for them.
  const content = serveContent(
    firstOf(opened ? localReader(opened) : emptyReader, node.fetcher ?? emptyReader),
  )
  const library =
    opened &&
    new LibraryView(opened.library, opened.storage, opened.covers, { contentUrl: content.contentUrl })
  const network = new NetworkView(node)
  mount(App, {
    target,
    props: {
      view: new NodeView(node, options.warnings),
      network,
      updates: content.updates,
      privacy: new PrivacyView(privacy),
      ...(library ? { library } : { libraryError }),
      ...(library && {
        fetchAndPlay: async (hash: string) => {
          const track = node.network.find((t) => t.contentHash === hash)
          if (!track) return
          node.fetcher?.fetch(hash)
          // On a first visit the service worker may still be taking control of the page.
          for (let i = 0; i < 50 && !content.contentUrl(hash); i++) await sleep(100)
          await library.playRemote({
            contentHash: hash,
            title: track.title,
            mime: track.mime ?? 'audio/mpeg',
            ...(track.artist ? { artist: track.artist } : {}),
            ...(track.album ? { album: track.album } : {}),
            ...(track.durationS !== undefined ? { durationS: track.durationS } : {}),
          })
        },
      }),
    },
  })
} catch (error) {
  console.error(error)
  // Plain http from another address: the browser withholds WebCrypto and service workers.
  if (!isSecureContext) mount(InsecureContext, { target, props: { url: new URL(location.href) } })
  else
    mount(StartupError, {
      target,
      props: { message: error instanceof Error ? error.message : String(error) },
    })
}
