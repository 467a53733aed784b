// An empty service worker: Workbox's Queue registers Background Sync tags on its registration.
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
