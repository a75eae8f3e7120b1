/* Offline pack for the audio guide (scope /guide/). The page stores a site's pages
   and audio in a cache named guide-<site>-<lang>; this worker answers from those
   caches when the network is gone, and plays stored audio without a round trip. */
'use strict';
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

async function fromCaches(request) {
  // Newest pack first: a bare address (/guide/taishan, no ?lang=) is in every language's
  // pack, and the pack saved last is in the language the visitor reads now.
  const keys = (await caches.keys()).reverse();
  for (const key of keys) {
    if (!key.startsWith('guide-')) continue;
    const cache = await caches.open(key);
    const hit = await cache.match(request, { ignoreVary: true });
    if (hit) return hit;
  }
  return undefined;
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/guide/audio/')) {
    // Audio first from the pack: saves data on the mountain and works without signal.
    event.respondWith(fromCaches(new Request(url.href)).then((hit) => hit || fetch(req)));
    return;
  }
  if (url.pathname.startsWith('/api/')) return;
  event.respondWith(fetch(req).catch(async () => {
    const hit = await fromCaches(req);
    if (hit) return hit;
    if (req.mode === 'navigate') {
      return new Response('<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width">' +
        '<p>离线状态：此页面未包含在离线包中。<br>Offline: this page is not in the offline pack.</p>',
        { status: 503, headers: { 'Content-Type': 'text/html; charset=utf-8' } });
    }
    return Response.error();
  }));
});
