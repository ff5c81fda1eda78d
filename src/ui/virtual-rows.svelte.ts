import {
  Virtualizer,
  elementScroll,
  observeElementOffset,
  observeElementRect,
  type VirtualItem,
} from '@tanstack/virtual-core'

/**
 * Rows rendered beyond each edge of the viewport: a Tab press or a short scroll finds them ready.
 * Each is built again when a search changes what is listed, so few: with 8 each side, a keystroke
 * built about 26 rows for the 10 a 720 px screen shows.
 */
export const OVERSCAN = 4

/** The nearest ancestor that scrolls (the app's `main`), else the document's scrolling element. */
export function scrollParent(node: Element): Element {
  for (let el = node.parentElement; el; el = el.parentElement) {
    const { overflowY } = getComputedStyle(el)
    if (overflowY === 'auto' || overflowY === 'scroll') return el
  }
  return document.scrollingElement ?? document.documentElement
}

/**
 * The window of a long table's rows that is in the DOM: the rows on screen plus `OVERSCAN` each
 * side, and the heights of the spacers that stand for the rest, so the scroll bar keeps the whole
 * list's length. @tanstack/virtual-core does the range and the measuring (rows measure themselves,
 * so the phone layout's taller rows are right once seen); this class only feeds Svelte.
 */
export class VirtualRows {
  /** The rows to render, each with its index in the whole list. */
  items = $state.raw<VirtualItem[]>([])
  /** Pixels above the first rendered row and below the last one. */
  before = $state(0)
  after = $state(0)

  #count = 0
  #rem: number
  #estimate = 56
  /** Whether a row measured other than the estimate (the phone layout): sizes then depend on the row. */
  #uneven = false
  #virtualizer: Virtualizer<Element, HTMLElement> | undefined
  readonly #overscan: number

  /**
   * `rem`: a row's height in rem before it is measured (the desktop layout's fixed height).
   * `overscan`: rows rendered beyond each edge (OVERSCAN unless a list's rows are cheap to build).
   */
  constructor(rem: number, overscan = OVERSCAN) {
    this.#rem = rem
    this.#overscan = overscan
  }

  /** How many rows the whole list has. */
  setCount(count: number): void {
    this.#count = count
    const v = this.#virtualizer
    if (!v) return
    v.setOptions({ ...v.options, count })
    // Sizes are kept by index: once rows differ in height, another list's rows need measuring
    // again. Rows of one height (a desktop) keep theirs, and a new count costs no re-measuring.
    if (this.#uneven) v.measure()
    this.#publish()
  }

  /** An attachment for the table body: the rows are laid out inside it, scrolled by its scroll parent. */
  body = (tbody: HTMLElement): (() => void) => {
    const scroller = scrollParent(tbody)
    // Read once, not per row: the virtualiser asks for an estimate of every row of the list.
    this.#estimate =
      parseFloat(getComputedStyle(document.documentElement).fontSize) * this.#rem || this.#estimate
    const margin = () =>
      tbody.getBoundingClientRect().top - scroller.getBoundingClientRect().top + scroller.scrollTop
    const v = new Virtualizer<Element, HTMLElement>({
      count: this.#count,
      getScrollElement: () => scroller,
      estimateSize: () => this.#estimate,
      scrollToFn: elementScroll,
      observeElementRect,
      observeElementOffset,
      overscan: this.#overscan,
      // Sizes come from the ResizeObserver's entry, read after layout: a row attached to the DOM
      // is first called without one, and keeps the size it has until then rather than forcing a
      // layout per row. A hidden panel's rows measure 0 px: taken at their word, every row of the
      // list would fit on screen and be rendered. Such a row keeps its estimate until it is seen.
      measureElement: (row, entry, v) => {
        const size = entry
          ? (entry.borderBoxSize[0]?.blockSize ?? entry.target.getBoundingClientRect().height)
          : (v.measurementsCache[Number(row.dataset['index'])]?.size ?? this.#estimate)
        if (size > 0 && Math.abs(size - this.#estimate) >= 0.5) this.#uneven = true
        return size || this.#estimate
      },
      scrollMargin: margin(),
      onChange: () => this.#publish(),
    })
    this.#virtualizer = v
    const unmount = v._didMount()
    v._willUpdate()
    // What sits above the table (a toolbar, an import queue, a hidden panel shown again) moves
    // it: the offset is read again whenever the body is resized or the list scrolls.
    const remargin = () => {
      const m = margin()
      if (Math.abs(m - v.options.scrollMargin) < 0.5) return
      v.setOptions({ ...v.options, scrollMargin: m })
      v.measure()
      this.#publish()
    }
    const resize = new ResizeObserver(remargin)
    resize.observe(tbody)
    scroller.addEventListener('scroll', remargin, { passive: true })
    remargin()
    this.#publish()
    return () => {
      resize.disconnect()
      scroller.removeEventListener('scroll', remargin)
      unmount()
      if (this.#virtualizer === v) this.#virtualizer = undefined
    }
  }

  /** An attachment for each rendered row: its real height replaces the estimate. */
  measure = (row: HTMLElement): void => {
    this.#virtualizer?.measureElement(row)
  }

  /** Bring row `index` into view (it is then rendered). */
  scrollTo(index: number): void {
    this.#virtualizer?.scrollToIndex(index, { align: 'auto' })
  }

  #publish() {
    const v = this.#virtualizer
    if (!v) return
    const items = v.getVirtualItems()
    const margin = v.options.scrollMargin
    const first = items[0]
    const last = items.at(-1)
    this.items = items
    this.before = first ? Math.max(0, first.start - margin) : 0
    this.after = last ? Math.max(0, v.getTotalSize() - (last.end - margin)) : 0
  }
}
