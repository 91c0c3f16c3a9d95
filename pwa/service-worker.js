// The service worker: the shell precached under a cache named by the content version (the server
// injects the version and the file list when it serves this file), so a deploy updates phones;
// old caches deleted on activate; only GET requests for the shell are answered from the cache —
// never the API, never anything but GET. Background Sync runs the outbox.

import { sync, SYNC_TAG } from "./outbox.js";

const VERSION = "__RUHU_VERSION__";
const PRECACHE = __RUHU_PRECACHE__;
const CACHE = `ruhu-shell-${VERSION}`;
const SCOPE = new URL("./", self.location.href);
const SHELL_URL = new URL("./", SCOPE).href;

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // cache: "no-cache" — every entry is revalidated (never a stale HTTP cache entry), and a file the
    // page has just loaded comes back as a 304 instead of being downloaded a second time.
    await cache.addAll(PRECACHE.map((path) => new Request(new URL(path, SCOPE).href, { cache: "no-cache" })));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("ruhu-shell-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
    for (const client of await self.clients.matchAll({ type: "window" })) {
      client.postMessage({ type: "sw-activated", version: VERSION });
    }
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return; // never intercept writes
  const url = new URL(request.url);
  if (url.origin !== SCOPE.origin || !url.pathname.startsWith(SCOPE.pathname)) return; // the API and the console go to the network
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    if (request.mode === "navigate") {
      // The app is one page: any navigation inside /app/ gets the shell (the route is in the hash).
      return (await cache.match(SHELL_URL)) || fetch(request);
    }
    const hit = await cache.match(request, { ignoreSearch: true });
    return hit || fetch(request);
  })());
});

self.addEventListener("sync", (event) => {
  if (event.tag !== SYNC_TAG) return;
  event.waitUntil((async () => {
    const result = await sync({ force: true });
    // Still something waiting (no network after all): fail, and the browser tries again later.
    if (result.pending) throw new Error(`${result.pending} records still waiting`);
  })());
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "version") event.source.postMessage({ type: "version", version: VERSION });
});
