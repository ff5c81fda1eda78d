import { createContext } from 'svelte'
import type { ImportsState } from './imports-state.svelte.ts'
import type { LibraryState } from './library-state.svelte.ts'
import type { Nav } from './nav.svelte.ts'
import type { NetworkView } from './network-view.svelte.ts'
import type { NodeView } from './node-view.svelte.ts'
import type { PlayerState } from './player-state.svelte.ts'
import type { PlaylistsState } from './playlists-state.svelte.ts'
import type { PrivacyView } from './privacy-view.svelte.ts'
import type { StorageState } from './storage-state.svelte.ts'

/** The library's parts, present together when local storage opened. */
export type LocalState = {
  library: LibraryState
  imports: ImportsState
  storage: StorageState
  playlists: PlaylistsState
}

/** Every state object of the app, handed down by context instead of through props. */
export type AppState = {
  node: NodeView
  network: NetworkView
  player: PlayerState
  nav: Nav
  /** The relay-only privacy setting. */
  privacy: PrivacyView
  /** Absent when local storage could not be opened: the network part still runs. */
  local?: LocalState | undefined
  /** Why the library could not be opened, as a sentence. */
  libraryError?: string | undefined
  /** Whether tracks held only by other peers can be played here. */
  canFetch: boolean
  /** The link that opens this app in this room and plays the track. */
  shareUrl(hash: string): string
}

const [get, set] = createContext<AppState>()
const [getLocal, setLocal] = createContext<LocalState>()

/** The app's state, from a component under App. */
export const appState = get
/** Hand the app's state to the components under App. */
export const provideAppState = set
/** The library's state objects, from a component App shows only when local storage opened. */
export const localState = getLocal
/** Hand the library's state objects down (when local storage opened). */
export const provideLocalState = setLocal
