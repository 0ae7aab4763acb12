// The service worker: the app shell opens with no network, and nothing private is ever cached.
// Only the paths in SHELL are written to the cache: the static files and /offline, a page with
// the send forms and no account in it. Every other request (pages behind sign-in, items,
// previews, tus, jobs) goes to the network untouched, so a lost phone holds no archive content.
"use strict";
var CACHE = "temoin-shell-3";
var SHELL = ["/offline", "/manifest.webmanifest", "/static/style.css", "/static/words.js", "/static/upload.js",
  "/static/outbox.js", "/static/queue.js", "/static/icon.svg", "/static/icon-192.png",
  "/static/icon-512.png", "/static/icon-maskable-512.png"];
// The sending code the pages run (tus, then the outbox), so the worker sends the same way.
importScripts("/static/words.js", "/static/upload.js", "/static/outbox.js");

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(SHELL); })
    .then(function () { return self.skipWaiting(); }));
});
self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== CACHE; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request, url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    // A page: the network when there is one, else the shell (never a cached copy of the page).
    event.respondWith(fetch(request).catch(function () { return caches.match("/offline"); }));
    return;
  }
  if (SHELL.indexOf(url.pathname) < 0) return;
  // Network first, so a new version is used as soon as it can be fetched; the copy otherwise.
  event.respondWith(fetch(request).then(function (response) {
    if (response.ok) {
      var copy = response.clone();
      caches.open(CACHE).then(function (c) { return c.put(url.pathname, copy); });
    }
    return response;
  }).catch(function () { return caches.match(url.pathname); }));
});

// Background Sync, where the browser has it: the network is back, so the worker sends the queue
// itself, with no page needed (the session cookie goes with its requests). Each verdict is
// written in the outbox as a page would write it, and open pages are told to show it. When the
// network fails again the event fails, and the browser tries again later, waiting longer each
// time; signed out, the queue waits for a page to sign in.
self.addEventListener("sync", function (event) {
  var outbox = self.temoinOutbox;
  if (!outbox || event.tag !== outbox.tag) return;
  event.waitUntil(outbox.sendAll(tell).then(function (result) {
    if (result === "failed") throw new Error("not sent: the browser tries again later");
  }));
});
function tell() {
  return self.clients.matchAll({ type: "window" }).then(function (all) {
    all.forEach(function (client) { client.postMessage("temoin-changed"); });
  });
}
