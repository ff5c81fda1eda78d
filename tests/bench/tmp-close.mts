import { resolve } from 'node:path'
import { startSignaling } from '../../signaling/server.ts'
import { launchChromium } from './browser.ts'
const server = await startSignaling({ port: 0, host: '127.0.0.1', staticDir: resolve('dist'), log: () => {} })
const browser = await launchChromium()
const t0 = Date.now()
const ctxs = []
for (let i = 0; i < 4; i++) { const c = await browser.newContext(); const p = await c.newPage(); await p.goto(`${server.url}/?room=x`); ctxs.push({c, p}); console.log('opened', i, Date.now() - t0) }
await ctxs[0].p.waitForFunction(`window.dcmx && window.dcmx.peers.filter(p => p.state === 'connected').length === 3`, undefined, {polling: 20})
console.log('all connected (node0)', Date.now() - t0)
for (const {p} of ctxs) await p.waitForFunction(`window.dcmx.peers.filter(p => p.state === 'connected').length === 3 && window.dcmx.peers.every(p => p.rttMs !== undefined)`, undefined, {polling: 20})
console.log('all connected+rtt', Date.now() - t0)
const t1 = Date.now()
await ctxs[3].c.close()
await ctxs[0].p.waitForFunction(`window.dcmx.peers.length === 2`, undefined, {polling: 20, timeout: 20000})
console.log('close seen after', Date.now() - t1, await ctxs[0].p.evaluate(`window.dcmx.log.map(e => e.message).join(' | ')`))
await browser.close(); await server.close()
