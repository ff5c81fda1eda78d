import { svelte } from '@sveltejs/vite-plugin-svelte'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  // Compiles runes in `*.svelte.ts` state classes, so their unit tests (`*.svelte.test.ts`) run them
  // as the browser does: the client build of Svelte (the `browser` condition), with real reactivity.
  plugins: [svelte()],
  resolve: { conditions: ['browser'] },
  test: {
    include: [
      'src/**/*.test.ts',
      'signaling/**/*.test.ts',
      'tests/unit/**/*.test.ts',
      'tests/adversary/**/*.test.ts',
    ],
    environment: 'node',
    testTimeout: 20_000,
  },
})
