import { resolve } from 'node:path'
import { build, type Rolldown } from 'vite'

/**
 * The page-side seeder (page-seed.ts) as one classic script, for `page.addInitScript`: built on
 * demand with the project's own Vite, apart from the app, so no production bundle contains it.
 */
export async function seedScript(): Promise<string> {
  const out = await build({
    configFile: false,
    logLevel: 'warn',
    build: {
      write: false,
      target: 'es2022',
      minify: false,
      lib: { entry: resolve(import.meta.dirname, 'page-seed.ts'), formats: ['iife'], name: 'dcmxSeed' },
    },
  })
  const outputs = (Array.isArray(out) ? out : [out]) as Rolldown.RolldownOutput[]
  const chunk = outputs.flatMap((o) => o.output).find((o) => o.type === 'chunk')
  if (!chunk || chunk.type !== 'chunk') throw new Error('the seed build produced no script')
  return chunk.code
}
