/**
 * docs/benchmarks.md is built from named sections, each between `<!-- bench:NAME -->` and
 * `<!-- /bench:NAME -->`, so each bench script rewrites only its own section and keeps the rest.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'

const DOC = resolve(import.meta.dirname, '..', '..', 'docs', 'benchmarks.md')

const open = (name: string) => `<!-- bench:${name} -->`
const close = (name: string) => `<!-- /bench:${name} -->`

/** Replace section `name` of docs/benchmarks.md with `markdown` (appended at the end if new). */
export function writeBenchSection(name: string, markdown: string, doc = DOC): void {
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`bench section names are lower-case words: ${name}`)
  const block = `${open(name)}\n${markdown.trim()}\n${close(name)}`
  const text = existsSync(doc) ? readFileSync(doc, 'utf8') : '# Benchmarks\n'
  const start = text.indexOf(open(name))
  const end = text.indexOf(close(name))
  const next =
    start !== -1 && end > start
      ? text.slice(0, start) + block + text.slice(end + close(name).length)
      : `${text.trimEnd()}\n\n${block}\n`
  writeFileSync(doc, next)
}
