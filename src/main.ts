import { mount } from 'svelte'
import type { ContentReader } from './core/content-reader.ts'
import { deferredPartials } from './core/deferred-store.ts'
import { loadTabIdentity } from './platform/identity-store.ts'
import { emptyReader, firstOf, localReader } from './platform/local-reader.ts'
import { partialStoreFor } from './platform/open-partials.ts'
import { IdbPlaylistStore, IdbQueueStore } from './platform/player-db.ts'
import { startBrowserLibrary } from './platform/start-library.ts'
import { RelayOnlySetting } from './platform/privacy.ts'
import { createBrowserNode, openSignaling, readOptions, type EarlySignaling } from './platform/start-node.ts'
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
async function openLibrary(chooseStoreAfter: Promise<void>) {
  try {
    return { opened: await startBrowserLibrary(chooseStoreAfter) }
  } catch (error) {
    console.error(error)
    const reason = error instanceof Error ? error.message : String(error)
    return { libraryError: `This browser did not let DCMX open its storage (${reason}).` }
  }
}

/**
 * Resolves in the task after the first render (mount builds the DOM synchronously): what the
 * first render does not need starts then, behind it rather than ahead of it.
 */
function afterFirstRender(): Promise<void> {
  performance.mark('dcmx:first-render')
  return new Promise((resolve) => setTimeout(resolve, 0))
}

/** The reader the service worker's questions go to, known once the library and the node are made. */
function lateReader(): { reader: ContentReader; bind(reader: ContentReader): void } {
  let bind!: (reader: ContentReader) => void
  const bound = new Promise<ContentReader>((resolve) => (bind = resolve))
  return {
    reader: {
      describe: async (hash) => (await bound).describe(hash),
      read: async (hash, start, end, signal) => (await bound).read(hash, start, end, signal),
    },
    bind,
  }
}

const served = lateReader()
/** The signaling connection, opened before the node is made: a failed start leaves the room. */
let joined: Promise<EarlySignaling> | undefined
try {
  const url = new URL(location.href)
  const options = readOptions(url)
  // /content/<hash> through the service worker, local tracks and remote ones alike, so the player
  // streams and seeks by URL; a remote track's pieces are fetched as the player asks for them.
  // Answering the worker starts now; registering it waits for the first render (and the WebRTC
  // code's request): on a first visit it takes control once it has precached the shell, and until
  // then a remote track cannot play, but its requests would otherwise slow what the page needs first.
  let rendered!: () => void
  const firstRender = new Promise<void>((resolve) => (rendered = resolve))
  const content = serveContent(served.reader, firstRender)
  // The library's catalog and the node's key pair are what the first render shows; the content
  // store is chosen after it (the OPFS probe runs in the content worker), and the node starts after
  // it too (its WebRTC code is a chunk of its own). The library opens before the node is made: the
  // node announces its tracks and stores what it downloads there. The signaling connection needs
  // only the key pair: it joins the room while the rest loads.
  const identityLoaded = loadTabIdentity()
  joined = identityLoaded.then((identity) => openSignaling(identity, options))
  const [identity, early, { opened, libraryError }] = await Promise.all([
    identityLoaded,
    joined,
    openLibrary(firstRender),
  ])
  const privacy = new RelayOnlySetting(new URL(location.href), localStorage)
  const { node, start } = createBrowserNode(
    identity,
    early,
    options,
    opened?.library,
    opened && {
      read: (hash, start, end) => opened.store.read(hash, start, end),
      recycle: (bytes) => opened.store.recycle(bytes),
      // Which partial store fits depends on the content store the probe chooses.
      partials: deferredPartials(opened.store.ready.then(partialStoreFor)),
      adopt: (track) => opened.library.adopt(track),
    },
    privacy,
  )
  window.dcmx = node
  // Tracks are described from the library's own list (a remote track's first describe then costs
  // no catalog read); their bytes come from the store.
  const stored = opened
    ? localReader({ store: opened.store, catalog: { get: async (hash) => opened.library.track(hash) } })
    : emptyReader
  const reader = firstOf(stored, node.fetcher ?? emptyReader)
  opened?.library.events.on('tracks', () => reader.forget())
  served.bind(reader)

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
    contentUrlSoon: content.contentUrlSoon,
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
  void afterFirstRender().then(() => {
    // The WebRTC code is asked for first: the worker's script and the shell it precaches follow.
    start().catch((error: unknown) => console.error(error))
    rendered()
  })

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
  served.bind(emptyReader)
  void joined?.then((early) => early.client.stop()).catch(() => {})
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
