import { mount } from 'svelte'
import { startBrowserLibrary } from './platform/start-library.ts'
import { readOptions, startBrowserNode } from './platform/start-node.ts'
import App from './ui/App.svelte'
import { LibraryView } from './ui/library-view.svelte.ts'
import { NetworkView } from './ui/network-view.svelte.ts'
import { NodeView } from './ui/node-view.svelte.ts'
import type { Library } from './core/library.ts'
import StartupError from './ui/StartupError.svelte'

const target = document.getElementById('app')!

/** The library needs storage; the network part still runs when the browser refuses it. */
async function openLibrary(): Promise<{ core?: Library; library?: LibraryView; libraryError?: string }> {
  try {
    const { library, storage, covers } = await startBrowserLibrary()
    return { core: library, library: new LibraryView(library, storage, covers) }
  } catch (error) {
    console.error(error)
    const reason = error instanceof Error ? error.message : String(error)
    return { libraryError: `This browser did not let DCMX open its storage (${reason}).` }
  }
}

try {
  const options = readOptions(new URL(location.href))
  // The node announces the library's tracks, so the library opens first (it takes milliseconds).
  const { core, ...library } = await openLibrary()
  const node = await startBrowserNode(options, core)
  window.dcmx = node
  mount(App, {
    target,
    props: { view: new NodeView(node, options.warnings), network: new NetworkView(node), ...library },
  })
} catch (error) {
  console.error(error)
  mount(StartupError, { target, props: { message: error instanceof Error ? error.message : String(error) } })
}
