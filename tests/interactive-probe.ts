// Page scripts are strings, not functions: tsx's transform would add helpers the page does not have.
/**
 * A page-script statement that sets `window[variable]` to performance.now() the moment the app is
 * interactive: it shows its peer id and the Add music button is enabled. Install it before any page
 * script (an init script); the benchmarks and the cold-start test both use it.
 */
export const noteInteractive = (variable: string): string => `(() => {
  const ready = () => {
    const id = document.getElementById('peer-id')
    if (!id || !/^[0-9a-f]{32}$/.test((id.textContent || '').trim())) return false
    for (const b of document.querySelectorAll('button')) if (b.textContent.trim() === 'Add music') return !b.disabled
    return false
  }
  const observer = new MutationObserver(() => {
    if (window.${variable} === undefined && ready()) {
      window.${variable} = performance.now()
      observer.disconnect()
    }
  })
  observer.observe(document, { subtree: true, childList: true, characterData: true, attributes: true })
})()`
