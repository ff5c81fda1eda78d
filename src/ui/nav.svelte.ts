/** The app's views: the music ones first, the mesh's own page last. */
export type ViewId = 'library' | 'network' | 'queue' | 'playlists' | 'status'

export const VIEWS: readonly {
  id: ViewId
  label: string
  icon: 'library' | 'network' | 'queue' | 'playlist' | 'status'
}[] = [
  { id: 'library', label: 'My library', icon: 'library' },
  { id: 'network', label: 'Network', icon: 'network' },
  { id: 'queue', label: 'Queue', icon: 'queue' },
  { id: 'playlists', label: 'Playlists', icon: 'playlist' },
  { id: 'status', label: 'Network status', icon: 'status' },
]

/** Which view is shown, which playlist is open, and whether the phone player is expanded. */
export class Nav {
  view = $state<ViewId>('library')
  /** The playlist opened in the Playlists view. */
  playlist = $state<string | undefined>()
  playerExpanded = $state(false)
  /** A passing message (a copied share link), with the link to copy by hand. */
  notice = $state.raw<{ text: string; link?: string } | undefined>()
  /** Counts requests to focus the search of the view shown (the `/` shortcut). */
  searchRequests = $state(0)

  show(view: ViewId): void {
    this.view = view
    this.playerExpanded = false
  }

  /** Show a music view with a search box and focus it. */
  focusSearch(): void {
    if (this.view !== 'library' && this.view !== 'network') this.view = 'library'
    this.playerExpanded = false
    this.searchRequests++
  }
}
