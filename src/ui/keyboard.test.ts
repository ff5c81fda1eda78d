import { describe, expect, it } from 'vitest'
import { shortcutFor } from './keyboard.ts'

const el = (tagName: string, attrs: { type?: string; role?: string; editable?: boolean } = {}) => ({
  tagName,
  type: attrs.type ?? '',
  isContentEditable: attrs.editable ?? false,
  getAttribute: (name: string) => (name === 'role' ? (attrs.role ?? null) : null),
})
const press = (key: string, target: unknown = el('BODY'), shiftKey = false) =>
  shortcutFor({ key, shiftKey, ctrlKey: false, metaKey: false, altKey: false, target: target as EventTarget })

describe('shortcutFor', () => {
  it.each([
    [' ', false, { type: 'toggle' }],
    ['/', false, { type: 'search' }],
    ['ArrowRight', false, { type: 'seek', by: 5 }],
    ['ArrowLeft', false, { type: 'seek', by: -5 }],
    ['ArrowRight', true, { type: 'next' }],
    ['ArrowLeft', true, { type: 'previous' }],
    ['ArrowUp', false, { type: 'volume', by: 0.1 }],
    ['ArrowDown', false, { type: 'volume', by: -0.1 }],
    ['x', false, undefined],
  ])('%s (shift %s) on the page is %o', (key, shift, action) => {
    expect(press(key, el('BODY'), shift)).toEqual(action)
  })

  it('leaves typing to text fields, arrows to sliders, tabs and menus, and Space to buttons', () => {
    expect(press('/', el('INPUT', { type: 'search' }))).toBeUndefined()
    expect(press(' ', el('INPUT', { type: 'text' }))).toBeUndefined()
    expect(press(' ', el('DIV', { editable: true }))).toBeUndefined()
    expect(press('ArrowRight', el('SELECT'))).toBeUndefined()
    expect(press('ArrowRight', el('INPUT', { type: 'range' }))).toBeUndefined()
    expect(press(' ', el('INPUT', { type: 'range' }))).toEqual({ type: 'toggle' })
    expect(press('ArrowDown', el('BUTTON', { role: 'tab' }))).toBeUndefined()
    expect(press('ArrowDown', el('BUTTON', { role: 'menuitem' }))).toBeUndefined()
    expect(press(' ', el('BUTTON'))).toBeUndefined()
    // A button keeps Space, but the arrows still seek.
    expect(press('ArrowRight', el('BUTTON'))).toEqual({ type: 'seek', by: 5 })
  })

  it('ignores presses with Ctrl, Alt or Meta (the browser’s own shortcuts)', () => {
    expect(
      shortcutFor({
        key: 'ArrowRight',
        shiftKey: false,
        ctrlKey: true,
        metaKey: false,
        altKey: false,
        target: null,
      }),
    ).toBeUndefined()
  })
})
