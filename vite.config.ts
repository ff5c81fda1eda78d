import { svelte } from '@sveltejs/vite-plugin-svelte'
import { defineConfig } from 'vite'
import { VitePWA } from 'vite-plugin-pwa'

/** The page background of the dark UI (src/ui/App.svelte): the splash screen and title bar match it. */
const BACKGROUND = '#111418'

export default defineConfig({
  plugins: [
    svelte(),
    // The service worker (src/sw/sw.ts → dist/sw.js), built by the plugin with our own routes, and
    // the web app manifest (dist/manifest.webmanifest, linked from index.html by the plugin).
    VitePWA({
      strategies: 'injectManifest',
      srcDir: 'src/sw',
      filename: 'sw.ts',
      // src/platform/sw-bridge.ts registers it (with workbox-window) and offers updates.
      injectRegister: false,
      manifest: {
        id: '/',
        name: 'DCMX',
        short_name: 'DCMX',
        description:
          'Your music library in the browser, shared peer to peer with other listeners; cached tracks play offline.',
        lang: 'en',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        theme_color: BACKGROUND,
        background_color: BACKGROUND,
        categories: ['music', 'entertainment'],
        icons: [
          { src: '/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: '/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          { src: '/icon-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      // The glob below already precaches every icon; listing them again would only repeat entries.
      includeManifestIcons: false,
      injectManifest: {
        // The app shell: everything the page and its workers import (the content worker carries
        // hash-wasm's WASM inline; music-metadata's parsers are chunks of their own), so the app
        // opens and imports with no network. Source maps stay out: only devtools fetch them. The
        // plugin adds manifest.webmanifest itself (a `webmanifest` pattern would list it twice).
        globPatterns: ['**/*.{js,css,html,svg,png,wasm}'],
        // Names under assets/ carry a content hash already: no revision needed to bust them.
        dontCacheBustURLsMatching: /^assets\//,
        // A classic script: module service workers are not in every browser DCMX runs in.
        rollupFormat: 'iife',
      },
    }),
  ],
  build: { target: 'es2022', sourcemap: true },
  // The content worker is one script, music-metadata's per-format parsers inlined: it loads after
  // the first render anyway (src/platform/open-store.ts), and a first visit's service worker
  // precaches a few entries at a time (src/sw/precache.ts), so fifteen parser chunks would hold up
  // the moment it takes control (and a remote track can play) by several round trips.
  worker: { format: 'es', rollupOptions: { output: { inlineDynamicImports: true } } },
  server: {
    // `npm run dev` serves the UI; run `npm run serve` beside it for signaling.
    proxy: { '/signal': { target: 'ws://localhost:8080', ws: true } },
  },
})
