import { untrack } from 'svelte'
import type { Nav, ViewId } from './nav.svelte.ts'

/** An attachment: focus this search box when `/` asks for the search of `view` (the view shown). */
export function searchFocus(nav: Nav, view: ViewId) {
  return (input: HTMLInputElement) => {
    // Reading the counter (and only it) makes the attachment re-run on every request.
    const requests = nav.searchRequests
    if (requests > 0 && untrack(() => nav.view) === view) queueMicrotask(() => input.focus())
  }
}
