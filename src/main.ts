import { mount } from 'svelte'
import App from './ui/App.svelte'
import StartupError from './ui/StartupError.svelte'
import { readOptions, startBrowserNode } from './platform/start-node.ts'
import { NodeView } from './ui/node-view.svelte.ts'

const target = document.getElementById('app')!

try {
  const options = readOptions(new URL(location.href))
  const node = await startBrowserNode(options)
  window.dcmx = node
  mount(App, { target, props: { view: new NodeView(node, options.warnings) } })
} catch (error) {
  console.error(error)
  mount(StartupError, { target, props: { message: error instanceof Error ? error.message : String(error) } })
}
