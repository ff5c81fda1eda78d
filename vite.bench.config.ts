import { resolve } from 'node:path'
import { defineConfig } from 'vite'

/** The storage bench page (tests/bench/page), built apart from the app so the product bundle stays clean. */
export default defineConfig({
  root: resolve(import.meta.dirname, 'tests/bench/page'),
  build: { outDir: resolve(import.meta.dirname, 'dist-bench'), emptyOutDir: true, target: 'es2022' },
  worker: { format: 'es' },
  logLevel: 'warn',
})
