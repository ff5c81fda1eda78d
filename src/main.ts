import { mount } from 'svelte'
import { emptyReader, firstOf, localReader } from './platform/local-reader.ts'
import { partialStoreFor } from './platform/open-partials.ts'
import { IdbPlaylistStore, IdbQueueStore } from './platform/player-db.ts'
import { startBrowserLibrary } from './platform/start-library.ts'
import { RelayOnlySetting } from './platform/privacy.ts'
import { readOptions, startBrowserNode } from './platform/start-node.ts'
import { serveContent } from './platform/sw-bridge.ts'
import App from './ui/App.svelte'
import type { AppState } from './ui/app-context.ts'
import { ImportsState } from './ui/imports-state.svelte.ts'
import { LibraryState } from './ui/library-state.svelte.ts'
import { Nav } from './ui/nav.svelte.ts'
import { NetworkView } from './ui/network-view.svelte.ts'
import { NodeView } from './ui/node-view.svelte.ts'
import { PrivacyView } from './ui/privacy-view.svelte.ts'
import InsecureContext from './ui/InsecureContext.svelte'
import { PlayerState } from './ui/player-state.svelte.ts'
import { PlaylistsState } from './ui/playlists-state.svelte.ts'
import { shareLink, sharedTrack, withoutSharedTrack } from './ui/share-link.ts'
import StartupError from './ui/StartupError.svelte'
import { StorageState } from './ui/storage-state.svelte.ts'
import './ui/tokens.css'

const target = document.getElementById('app')!

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
  const url = new URL(location.href)
  const options = readOptions(url)
  // The node announces the library's tracks and stores what it downloads there, so the library
  // opens first (it takes milliseconds).
  const { opened, libraryError } = await openLibrary()
  const privacy = new RelayOnlySetting(new URL(location.href), localStorage)
  const node = await startBrowserNode(
    options,
    opened?.library,
    opened && {
      read: (hash, start, end) => opened.store.read(hash, start, end),
      partials: partialStoreFor(opened.store),
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

  // The storage state asks the player what plays; the player is made after the library it plays from.
  const late: { player?: PlayerState } = {}
  const local = opened && createLocal(opened, () => late.player)
  const fetcher = node.fetcher
  const player = (late.player = new PlayerState({
    library: local?.library,
    network: fetcher && {
      get network() {
        return node.network
      },
      fetch: (hash) => void fetcher.fetch(hash),
    },
    contentUrl: content.contentUrl,
    store: opened ? new IdbQueueStore() : undefined,
  }))
  const app: AppState = {
    node: new NodeView(node, options.warnings),
    network: new NetworkView(node),
    player,
    nav: new Nav(),
    privacy: new PrivacyView(privacy),
    local,
    libraryError,
    canFetch: fetcher !== undefined && local !== undefined,
    shareUrl: (hash) => shareLink(location.origin, options.room, hash),
  }
  mount(App, { target, props: { app, room: options.room, updates: content.updates } })

  void player.restore().then(() => {
    const shared = sharedTrack(url)
    if (!shared) return
    // A reload should not start the shared track again.
    history.replaceState(history.state, '', withoutSharedTrack(url))
    return player.openShared(shared)
  })
  void local?.playlists.load()
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

/** The library's state objects, wired to each other (and to the player, made after them). */
function createLocal(
  opened: Awaited<ReturnType<typeof startBrowserLibrary>>,
  player: () => PlayerState | undefined,
): AppState['local'] {
  const late: { storage?: StorageState } = {}
  const library = new LibraryState(opened.library, opened.covers, {
    pinned: () => late.storage?.persistOnce(),
    changed: () => void late.storage?.refresh(),
  })
  const storage = (late.storage = new StorageState(opened.storage, {
    tracks: () => library.tracks,
    playing: () => {
      const p = player()
      return p?.playing ? p.current?.contentHash : undefined
    },
    evict: (tracks) => opened.library.evict(tracks),
  }))
  const imports = new ImportsState(opened.library, {
    ended: () => void storage.refresh(),
    done: () => storage.persistOnce(),
  })
  return { library, imports, storage, playlists: new PlaylistsState(new IdbPlaylistStore()) }
}
