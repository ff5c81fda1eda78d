#!/usr/bin/env node
// Draw DCMX's app icons (public/favicon.svg's mark: three linked nodes on the dark background) as
// PNGs into public/. The PNGs are committed; run this again only to change them.
//
//   node scripts/make-icons.mjs
//
// No image library: each pixel is the average of 4×4 samples of the shapes, encoded by hand
// (RGBA, filter 0, zlib from node:zlib, CRC-32 below).
import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { deflateSync } from 'node:zlib'

/** The dark UI's background and text colour (src/ui/App.svelte), and the favicon's three nodes. */
const BACKGROUND = [0x11, 0x14, 0x18, 255]
const LINK = [0xe8, 0xea, 0xed, 255]
const NODES = [
  { at: [20, 22], colour: [0x81, 0xc9, 0x95, 255] },
  { at: [44, 22], colour: [0x8a, 0xb4, 0xf8, 255] },
  { at: [32, 44], colour: [0xfd, 0xd6, 0x63, 255] },
]
/** In the favicon's 64-unit square. */
const NODE_RADIUS = 7
const LINK_WIDTH = 3
const SAMPLES = 4

/** Distance from point p to segment ab. */
function segmentDistance(p, a, b) {
  const [dx, dy] = [b[0] - a[0], b[1] - a[1]]
  const t = Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy)))
  return Math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy)
}

/**
 * An RGBA image of `size` pixels. `scale` shrinks the mark about the centre (a maskable icon keeps
 * it inside the central circle of 40% radius); `corner` rounds the background's corners in favicon
 * units (0 fills the square, as a maskable icon must: the platform applies its own mask).
 */
function draw(size, { scale, corner }) {
  const px = new Uint8Array(size * size * 4)
  const unit = 64 / size
  const links = NODES.map((n, i) => [n.at, NODES[(i + 1) % NODES.length].at])

  const colourAt = (x, y) => {
    const [bx, by] = [x * unit, y * unit]
    const cx = Math.max(corner - bx, 0, bx - (64 - corner))
    const cy = Math.max(corner - by, 0, by - (64 - corner))
    if (corner > 0 && Math.hypot(cx, cy) > corner) return [0, 0, 0, 0]
    // The mark's coordinates, scaled about the centre.
    const p = [32 + (bx - 32) / scale, 32 + (by - 32) / scale]
    const node = NODES.find((n) => Math.hypot(p[0] - n.at[0], p[1] - n.at[1]) <= NODE_RADIUS)
    if (node) return node.colour
    if (links.some(([a, b]) => segmentDistance(p, a, b) <= LINK_WIDTH / 2)) return LINK
    return BACKGROUND
  }

  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const sum = [0, 0, 0, 0]
      for (let sy = 0; sy < SAMPLES; sy++) {
        for (let sx = 0; sx < SAMPLES; sx++) {
          const c = colourAt(x + (sx + 0.5) / SAMPLES, y + (sy + 0.5) / SAMPLES)
          // Premultiplied, so transparent samples do not darken the edge.
          for (let i = 0; i < 3; i++) sum[i] += (c[i] * c[3]) / 255
          sum[3] += c[3]
        }
      }
      const n = SAMPLES * SAMPLES
      const alpha = sum[3] / n
      const o = (y * size + x) * 4
      for (let i = 0; i < 3; i++) px[o + i] = alpha > 0 ? Math.round((sum[i] / n / alpha) * 255) : 0
      px[o + 3] = Math.round(alpha)
    }
  }
  return px
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

function crc32(bytes) {
  let c = 0xffffffff
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length)
  out.writeUInt32BE(data.length, 0)
  out.write(type, 4, 'ascii')
  Buffer.from(data).copy(out, 8)
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length)
  return out
}

/** A PNG file of an RGBA image. */
function png(size, rgba) {
  const header = Buffer.alloc(13)
  header.writeUInt32BE(size, 0)
  header.writeUInt32BE(size, 4)
  header[8] = 8 // bits per channel
  header[9] = 6 // RGBA
  // Each row starts with its filter type (0: none).
  const raw = Buffer.alloc(size * (size * 4 + 1))
  for (let y = 0; y < size; y++) {
    Buffer.from(rgba.buffer, y * size * 4, size * 4).copy(raw, y * (size * 4 + 1) + 1)
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

const publicDir = resolve(import.meta.dirname, '..', 'public')
const icons = [
  { file: 'icon-192.png', size: 192, scale: 1, corner: 14 },
  { file: 'icon-512.png', size: 512, scale: 1, corner: 14 },
  // The mark reaches 22.6 units from the centre; at 0.9 it sits well inside the 25.6-unit safe circle.
  { file: 'icon-maskable-512.png', size: 512, scale: 0.9, corner: 0 },
  // iOS rounds the corners itself and ignores the manifest's icons.
  { file: 'apple-touch-icon.png', size: 180, scale: 0.9, corner: 0 },
]
for (const { file, size, ...shape } of icons) {
  const bytes = png(size, draw(size, shape))
  writeFileSync(resolve(publicDir, file), bytes)
  console.log(`${file}: ${size}×${size}, ${bytes.length} bytes`)
}
