/**
 * The developer log: what a node did not expect (a handler that threw, a peer that misbehaved),
 * with its namespace, for the console of whoever runs it. Injected, so tests can read it and a
 * headless node can send it to its own log files; nothing in the core swallows an error silently.
 */
export type DevLog = (namespace: string, message: string, detail?: unknown) => void

/** The console, at debug level (hidden unless asked for in browsers' devtools). */
export const consoleDevLog: DevLog = (namespace, message, detail) => {
  if (detail === undefined) console.debug(`[${namespace}] ${message}`)
  else console.debug(`[${namespace}] ${message}`, detail)
}
