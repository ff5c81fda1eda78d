/**
 * Security headers of the served app, in one place. Every response of the static app (documents,
 * module workers, the service worker, and every other file static-files.ts serves, 404s, 304s and
 * 416s included) carries the full set: a worker and the service worker enforce the policy of their own script's
 * response, not the page's, so JS needs it as much as HTML does.
 *
 * Why each source is allowed:
 * - default-src 'self': everything the app loads is its own (JS, CSS, favicon, sw.js, /content/<hash>).
 * - script-src 'self' 'wasm-unsafe-eval': the bundles from /assets; hash-wasm compiles its SHA-256
 *   WebAssembly from bytes inside the content worker, which browsers refuse without
 *   'wasm-unsafe-eval'. That keyword allows WebAssembly compilation only, never eval() or
 *   new Function(), and no inline script is allowed.
 * - worker-src 'self': the module worker (/assets/content.worker-*.js) and the service worker (/sw.js).
 * - connect-src 'self' ws://<host> wss://<host>: fetches stay on the origin, and the signaling socket
 *   is on the same host and port; 'self' covers ws(s): of the same host only in CSP Level 3 browsers,
 *   so the socket's origin is spelled out too. WebRTC data channels are not governed by CSP.
 * - img-src 'self' blob: data:: covers are object URLs of stored art; data: for small inline images.
 * - media-src 'self' blob:: the player plays a stored track as an object URL, or streams
 *   /content/<hash> through the service worker.
 * - style-src 'self': Vite emits the component styles as a CSS file; Svelte only touches styles
 *   through the CSSOM, which CSP does not restrict, so no 'unsafe-inline'.
 * - object-src 'none', base-uri 'self', frame-ancestors 'none', form-action 'self': no plugins, no
 *   <base> hijacking, no framing (clickjacking), forms (there are none) only to the app itself.
 * - manifest-src 'self': the web app manifest.
 */
import type { IncomingMessage } from 'node:http'

/**
 * The app makes no cross-origin requests, and its URLs carry the room name (?room=): a link out
 * should not tell the target which instance, let alone which room, the user came from.
 */
export const REFERRER_POLICY = 'no-referrer'

/**
 * Powerful features DCMX never uses, switched off for the page and anything it might embed. WebRTC
 * here is data channels only, so camera and microphone stay off. Only features every Chromium
 * recognizes are listed: an unknown one is logged as an error on every load.
 */
export const PERMISSIONS_POLICY = 'camera=(), microphone=(), geolocation=(), payment=(), usb=()'

/**
 * A Host header CSP can name: DNS labels or an IPv4 address, with an optional port. IPv6 literals are
 * not valid in a CSP host-source, and anything else (spaces, `;`, commas) could inject directives.
 */
const CSP_HOST =
  /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?::\d{1,5})?$/i

/**
 * The WebSocket sources of the signaling endpoint as the browser reaches it: same host and port as
 * the page (src/platform/start-node.ts builds `ws(s)://${location.host}/signal`, and location.host is
 * what the browser sent as Host). Both schemes: behind a TLS proxy the page is https and uses wss;
 * on an https page ws: is blocked as mixed content anyway. Empty when the Host cannot be named.
 */
export function signalingSources(host: string | undefined): string[] {
  if (!host || host.length > 261 || !CSP_HOST.test(host)) return []
  const h = host.toLowerCase()
  return [`ws://${h}`, `wss://${h}`]
}

/** The Content-Security-Policy of the app as served under `host` (the request's Host header). */
export function contentSecurityPolicy(host: string | undefined): string {
  const directives: [string, ...string[]][] = [
    ['default-src', "'self'"],
    ['script-src', "'self'", "'wasm-unsafe-eval'"],
    ['worker-src', "'self'"],
    ['connect-src', "'self'", ...signalingSources(host)],
    ['img-src', "'self'", 'blob:', 'data:'],
    ['media-src', "'self'", 'blob:'],
    ['style-src', "'self'"],
    ['object-src', "'none'"],
    ['base-uri', "'self'"],
    ['frame-ancestors', "'none'"],
    ['form-action', "'self'"],
    ['manifest-src', "'self'"],
  ]
  return directives.map((d) => d.join(' ')).join('; ')
}

/** Headers every HTTP response of the server carries, API endpoints included. */
export const COMMON_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': REFERRER_POLICY,
}

/** Every security header of a static app response to `req`. */
export function appSecurityHeaders(req: Pick<IncomingMessage, 'headers'>): Record<string, string> {
  return {
    ...COMMON_SECURITY_HEADERS,
    'Content-Security-Policy': contentSecurityPolicy(req.headers.host),
    'Permissions-Policy': PERMISSIONS_POLICY,
  }
}
