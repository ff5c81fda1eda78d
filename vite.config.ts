import { svelte } from '@sveltejs/vite-plugin-svelte'
import { defineConfig } from 'vite'
import { VitePWA } from 'vite-plugin-pwa'

export default defineConfig({
  plugins: [
    svelte(),
    // The service worker (src/sw/sw.ts → dist/sw.js), built by the plugin with our own routes.
    VitePWA({
      strategies: 'injectManifest',
      srcDir: 'src/sw',
      filename: 'sw.ts',
      // src/platform/sw-bridge.ts registers it (with workbox-window); the web app manifest comes later.
      injectRegister: false,
      manifest: false,
      injectManifest: {
        // Nothing is precached yet: without an injection point workbox-build does not run (the
        // plugin's documented switch; its type lacks `| undefined` under exactOptionalPropertyTypes).
        // The app-shell precache drops this line and uses `self.__WB_MANIFEST` in sw.ts.
        injectionPoint: undefined as unknown as string,
        // A classic script: module service workers are not in every browser DCMX runs in.
        rollupFormat: 'iife',
      },
    }),
  ],
  build: { target: 'es2022', sourcemap: true },
  // ES module workers can split: music-metadata's per-format parsers load only when needed.
  worker: { format: 'es' },
  server: {
    // `npm run dev` serves the UI; run `npm run serve` beside it for signaling.
    proxy: { '/signal': { target: 'ws://localhost:8080', ws: true } },
  },
})
