// Write Brotli and gzip copies of the built app's text assets beside them, so the server
// (signaling/static-files.ts picks them by Accept-Encoding) sends compressed bytes without compressing per request.
import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'

const dir = process.argv[2] ?? 'dist'
const COMPRESSIBLE = /\.(js|mjs|css|html|svg|json|webmanifest|wasm|map)$/
/** Below this, compression saves less than the headers it costs. */
const MIN_BYTES = 1024

async function* files(root) {
  for (const entry of await readdir(root, { withFileTypes: true })) {
    const path = join(root, entry.name)
    if (entry.isDirectory()) yield* files(path)
    else yield path
  }
}

let count = 0
for await (const path of files(dir)) {
  if (!COMPRESSIBLE.test(path) || (await stat(path)).size < MIN_BYTES) continue
  const bytes = await readFile(path)
  await writeFile(
    `${path}.br`,
    brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
  )
  await writeFile(`${path}.gz`, gzipSync(bytes, { level: 9 }))
  count++
}
console.log(`compressed ${count} files in ${dir}`)
