#!/usr/bin/env node
// The `dcmx` command: runs the TypeScript CLI through tsx (a runtime dependency), so `npx dcmx`
// works in a fresh clone after `npm install`, with no build step.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../src/cli/main.ts')
process.exitCode = await main(process.argv.slice(2))
