import { readFile } from 'node:fs/promises'
import { DcmxError, type DcmxErrorCode } from '../core/errors.ts'

/** Talks to the node that `dcmx start` runs on this home, through its local API. */
export class ApiClient {
  constructor(
    readonly port: number,
    private readonly token: string,
  ) {}

  static async forHome(port: number, tokenPath: string): Promise<ApiClient> {
    const token = (await readFile(tokenPath, 'utf8')).trim()
    return new ApiClient(port, token)
  }

  async get<T>(path: string): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.port}${path}`)
    if (!res.ok) throw new DcmxError('UNSUPPORTED', `The running node answered ${res.status}.`)
    return (await res.json()) as T
  }

  /** Run an action; `onEvent` sees each progress event; resolves with its result or throws its error. */
  async act<T>(
    name: string,
    body: unknown,
    onEvent: (event: Record<string, unknown>) => void = () => {},
  ): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.port}/actions/${name}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${this.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    })
    if (!res.ok || !res.body)
      throw new DcmxError('UNSUPPORTED', `The running node refused "${name}" (${res.status}).`)
    let buffered = ''
    const decoder = new TextDecoder()
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true })
      let newline: number
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const event = JSON.parse(buffered.slice(0, newline)) as Record<string, unknown>
        buffered = buffered.slice(newline + 1)
        if (event.type === 'result') return event.value as T
        if (event.type === 'error') throw new DcmxError(event.code as DcmxErrorCode, String(event.message))
        onEvent(event)
      }
    }
    throw new DcmxError('PEER_GONE', `The running node stopped before finishing "${name}".`)
  }
}
