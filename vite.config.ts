import { svelte } from '@sveltejs/vite-plugin-svelte'
import { defineConfig } from 'vite'

export default defineConfig({
  plugins: [svelte()],
  build: { target: 'es2022', sourcemap: true },
  server: {
    // `npm run dev` serves the UI; run `npm run serve` beside it for signaling.
    proxy: { '/signal': { target: 'ws://localhost:8080', ws: true } },
  },
})
