import { SEEK_STEP_S, VOLUME_STEP } from './player-state.svelte.ts'

/** What a key press asks of the player or the page. */
export type Shortcut =
  | { type: 'search' }
  | { type: 'toggle' }
  | { type: 'seek'; by: number }
  | { type: 'next' }
  | { type: 'previous' }
  | { type: 'volume'; by: number }
  | { type: 'close' }

/** The shortcuts, as the help text and the buttons' titles name them. */
export const SHORTCUTS = [
  ['Space', 'Play or pause'],
  ['← / →', `Back or forward ${SEEK_STEP_S} s`],
  ['Shift + ← / →', 'Previous or next track'],
  ['↑ / ↓', 'Volume up or down'],
  ['/', 'Search'],
] as const

type KeyTarget = {
  tagName?: string
  isContentEditable?: boolean
  type?: string
  getAttribute?(name: string): string | null
}

/** Where the key belongs to the focused control: typing, a slider, a list box, a tab list or a menu. */
function ownsKey(target: KeyTarget | null, key: string): boolean {
  if (!target?.tagName) return false
  const tag = target.tagName.toLowerCase()
  if (target.isContentEditable || tag === 'textarea' || tag === 'select') return true
  // A range input (seek, volume) takes the arrows itself; text fields take every key.
  if (tag === 'input') return target.type !== 'range' || key !== ' '
  const role = target.getAttribute?.('role')
  // Tabs and menus move with the arrows; Space presses them.
  if (role === 'tab' || role === 'menuitem' || role === 'menu') return key !== '/'
  // Space on a button or link presses it.
  return key === ' ' && (tag === 'button' || tag === 'a' || tag === 'summary')
}

/** The shortcut a key press means, or undefined when the key is the focused control's own. */
export function shortcutFor(
  event: Pick<KeyboardEvent, 'key' | 'shiftKey' | 'ctrlKey' | 'metaKey' | 'altKey' | 'target'>,
): Shortcut | undefined {
  if (event.ctrlKey || event.metaKey || event.altKey) return undefined
  const target = event.target as KeyTarget | null
  if (event.key === 'Escape') return { type: 'close' }
  if (ownsKey(target, event.key)) return undefined
  switch (event.key) {
    case '/':
      return { type: 'search' }
    case ' ':
      return { type: 'toggle' }
    case 'ArrowRight':
      return event.shiftKey ? { type: 'next' } : { type: 'seek', by: SEEK_STEP_S }
    case 'ArrowLeft':
      return event.shiftKey ? { type: 'previous' } : { type: 'seek', by: -SEEK_STEP_S }
    case 'ArrowUp':
      return { type: 'volume', by: VOLUME_STEP }
    case 'ArrowDown':
      return { type: 'volume', by: -VOLUME_STEP }
    default:
      return undefined
  }
}
