import type { RelayOnlySetting } from '../platform/privacy.ts'

/** The relay-only setting as the view shows and changes it. */
export class PrivacyView {
  relayOnly = $state(false)
  readonly fromUrl: boolean

  constructor(private readonly setting: RelayOnlySetting) {
    this.relayOnly = setting.value
    this.fromUrl = setting.fromUrl
  }

  set(value: boolean): void {
    this.setting.set(value)
    this.relayOnly = value
  }
}
