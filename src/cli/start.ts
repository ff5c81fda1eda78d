import { homePaths } from '../node/home.ts'
import { openHome } from '../node/open-home.ts'
import { startMeshNode } from '../node/start-node.ts'
import { gossipMs, resolveSettings } from './config.ts'
import { EXIT } from './output.ts'
import { serveApi } from './serve.ts'

/**
 * `dcmx start`: take the home, join the mesh, seed the library, serve the local API, and stay up
 * until SIGINT or SIGTERM; then stop the node, close the API and give the home back.
 */
export async function runStart(root: string, flags: Record<string, unknown>): Promise<number> {
  const settings = await resolveSettings(homePaths(root).config, flags)
  const home = await openHome(root, 'start')
  try {
    const mesh = await startMeshNode(home, {
      server: settings.server,
      room: settings.room,
      linkBudget: settings.links,
      ...opt(gossipMs()),
    })
    // Test-only fault injection (a slow holder), as e2e tests set `server.delayMs` in a tab.
    const delay = Number(process.env.DCMX_TEST_ONLY_SERVE_DELAY_MS ?? 0)
    if (Number.isInteger(delay) && delay > 0 && delay <= 5_000) mesh.node.server.delayMs = delay
    const api = await serveApi(home, mesh, settings.api)
    // A long-running seeder logs a stray failure instead of dying of it.
    const stray = (error: unknown) =>
      home.logs.write(
        'errors',
        'error',
        `unhandled: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      )
    process.on('unhandledRejection', stray)
    const say = (line: string) => {
      console.log(line)
      home.logs.write('node', 'info', line)
    }
    say(
      `dcmx node ${mesh.node.peerId} seeding ${home.library.tracks.length} track(s) in room "${settings.room}" of ${settings.server}`,
    )
    say(`Local API on http://127.0.0.1:${api.port} (token in ${home.paths.token})`)
    let count = home.library.tracks.length
    home.library.events.on('tracks', () => {
      const now = home.library.tracks.length
      if (now !== count) say(`Library now ${now} track(s); announcing to the mesh.`)
      count = now
    })
    let online = false
    const watch = () => {
      const up = mesh.node.signaling.state === 'online'
      if (up !== online) say(up ? 'Joined the signaling server.' : 'Signaling server lost; retrying.')
      online = up
    }
    mesh.node.events.on('change', watch)
    watch()
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
    say('Stopping.')
    mesh.node.stop()
    await api.close()
    return EXIT.OK
  } finally {
    await home.close()
  }
}

const opt = (ms: number | undefined) => (ms ? { gossipMs: ms } : {})
