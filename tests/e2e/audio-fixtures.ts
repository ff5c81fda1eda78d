import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'

/** A file as Playwright's setInputFiles takes it. */
export type FilePayload = { name: string; mimeType: string; buffer: Buffer }

/** The shared audio samples (../shared/samples beside the repository), when present. */
export const SAMPLES_DIR = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'samples')
export const haveSamples = existsSync(SAMPLES_DIR) && readdirSync(SAMPLES_DIR).some((f) => f.endsWith('.mp3'))

export function sample(name: string, mimeType = 'application/octet-stream'): FilePayload {
  return { name, mimeType, buffer: readFileSync(resolve(SAMPLES_DIR, name)) }
}

export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

function chunk(id: string, body: Buffer): Buffer {
  const header = Buffer.alloc(8)
  header.write(id, 0, 'ascii')
  header.writeUInt32LE(body.length, 4)
  const pad = body.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)
  return Buffer.concat([header, body, pad])
}

/**
 * A RIFF/WAVE file of a sine tone (16-bit mono PCM), optionally with RIFF INFO tags
 * (INAM title, IART artist, IPRD album), generated here so tests never depend on shared files.
 */
export function makeWav(opts: {
  name: string
  seconds: number
  hz?: number
  sampleRate?: number
  title?: string
  artist?: string
  album?: string
}): FilePayload {
  const rate = opts.sampleRate ?? 8000
  const samples = Math.round(opts.seconds * rate)
  const pcm = Buffer.alloc(samples * 2)
  for (let i = 0; i < samples; i++) {
    pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * (opts.hz ?? 440) * i) / rate)), i * 2)
  }
  const fmt = Buffer.alloc(16)
  fmt.writeUInt16LE(1, 0) // PCM
  fmt.writeUInt16LE(1, 2) // mono
  fmt.writeUInt32LE(rate, 4)
  fmt.writeUInt32LE(rate * 2, 8)
  fmt.writeUInt16LE(2, 12)
  fmt.writeUInt16LE(16, 14)
  const info: Buffer[] = []
  const text = (s: string) => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(1)])
  if (opts.title) info.push(chunk('INAM', text(opts.title)))
  if (opts.artist) info.push(chunk('IART', text(opts.artist)))
  if (opts.album) info.push(chunk('IPRD', text(opts.album)))
  const list = info.length ? [chunk('LIST', Buffer.concat([Buffer.from('INFO'), ...info]))] : []
  const body = Buffer.concat([Buffer.from('WAVE'), chunk('fmt ', fmt), ...list, chunk('data', pcm)])
  const riff = Buffer.alloc(8)
  riff.write('RIFF', 0, 'ascii')
  riff.writeUInt32LE(body.length, 4)
  return { name: opts.name, mimeType: 'audio/wav', buffer: Buffer.concat([riff, body]) }
}
