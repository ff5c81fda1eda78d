/**
 * Relay-only privacy mode: links gather relay candidates only, so peers never learn this device's
 * addresses. A user setting (kept in localStorage) that `?relay=1` or `?relay=0` in the page URL
 * overrides for that page.
 */

const KEY = 'dcmx.relayOnly'

/** The setting as the app reads it: the current value, and whether the URL imposes it. */
export class RelayOnlySetting {
  #value: boolean
  readonly fromUrl: boolean

  constructor(
    url: URL,
    private readonly storage: Pick<Storage, 'getItem' | 'setItem'> | undefined,
  ) {
    const param = url.searchParams.get('relay')
    this.fromUrl = param === '1' || param === '0'
    this.#value = this.fromUrl ? param === '1' : this.#stored()
  }

  /** Whether new links are relay-only. */
  get value(): boolean {
    return this.#value
  }

  /** Change it for links made from now on, and remember it for the next visits. */
  set(value: boolean): void {
    this.#value = value
    try {
      this.storage?.setItem(KEY, value ? '1' : '0')
    } catch {
      // Storage refused (private mode): the setting lasts for this page only.
    }
  }

  #stored(): boolean {
    try {
      return this.storage?.getItem(KEY) === '1'
    } catch {
      return false
    }
  }
}
