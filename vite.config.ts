import { svelte } from '@sveltejs/vite-plugin-svelte'
import { defineConfig } from 'vite'

export default defineConfig({
  plugins: [svelte()],
  build: { target: 'es2022', sourcemap: true },
  // ES module workers can split: music-metadata's per-format parsers load only when needed.
  worker: { format: 'es' },
  server: {
    // `npm run dev` serves the UI; run `npm run serve` beside it for signaling.
    proxy: { '/signal': { target: 'ws://localhost:8080', ws: true } },
  },
})
