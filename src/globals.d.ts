import type { DcmxNode } from './core/node.ts'

declare global {
  interface Window {
    /** The running node, for the console and for end-to-end tests. */
    dcmx?: DcmxNode
  }
}
