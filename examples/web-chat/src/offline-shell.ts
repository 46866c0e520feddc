/**
 * Registers the service worker (public/sw.js) that keeps the app shell, so a reload without network
 * still opens the app; the messages themselves come from IndexedDB. Where service workers are
 * missing or refused (plain http on another host than localhost), the app works as before online.
 */
export const registerOfflineShell = (): void => {
  if (!('serviceWorker' in navigator)) return
  navigator.serviceWorker.register('/sw.js').catch((error: unknown) => {
    console.warn('The app cannot be kept for offline reloads:', error)
  })
}
