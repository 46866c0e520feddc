// The web chat's service worker: it keeps the app shell (index.html and the files it names) so a
// page reloaded without network still opens and shows what IndexedDB holds. Network first, so an
// online page always gets the current build; the cache only answers when the network fails. The
// WebSocket never passes through here (a service worker sees no WebSocket traffic).
// Plain JavaScript in public/: Vite copies it to the build's root as is, so its scope is the app.

// Bump to drop everything cached by an older worker (activate deletes other caches).
const CACHE = 'tidings-web-chat-v1'

/** The shell of the build now served: '/' and the assets its HTML names (Vite hashes their names). */
const shellUrls = async () => {
  const html = await (await fetch('/', { cache: 'no-cache' })).text()
  const assets = Array.from(html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g), (match) => match[1])
  return ['/', ...assets]
}

// The first visit loaded the shell before this worker existed: fetch it once more into the cache,
// or a reload offline right after the first visit would find nothing.
self.addEventListener('install', (event) => {
  event.waitUntil(
    shellUrls()
      .then(async (urls) => (await caches.open(CACHE)).addAll(urls))
      .catch(() => {}) // Offline at install: the pages' own requests fill the cache later.
      .then(() => self.skipWaiting()),
  )
})

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name))))
      // Take the open pages now, so their next requests are cached too.
      .then(() => self.clients.claim()),
  )
})

/** Answers from the network and keeps a copy; from the cache when the network fails. */
const networkFirst = async (event) => {
  const { request } = event
  const cache = await caches.open(CACHE)
  try {
    const response = await fetch(request)
    // A full disk only costs the offline copy.
    if (response.ok && response.type === 'basic')
      event.waitUntil(cache.put(request, response.clone()).catch(() => {}))
    return response
  } catch (error) {
    const cached =
      (await cache.match(request, { ignoreSearch: request.mode === 'navigate' })) ??
      // Every page of this app is its index.html.
      (request.mode === 'navigate' ? await cache.match('/') : undefined)
    if (cached) return cached
    throw error
  }
}

self.addEventListener('fetch', (event) => {
  const { request } = event
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return
  event.respondWith(networkFirst(event))
})
