// The phone's outbox: files and entries made with no network wait in IndexedDB, and this is the
// one piece of code that sends them. A page runs it (queue.js: the `online` event, a retry with
// growing pauses) and so does the service worker on Background Sync (sw.js), so the queue empties
// when the network returns even with every page closed. Files go through upload.js's tus sending,
// loaded in the page and imported by the worker alike.
//
// A record is {kind: "file" | "entry", state, ...}. States: "waiting"; "sending"; "sent", with the
// server's verdict (`verdict`: stored, duplicate…; `text`: its words, when it gave some); and
// "refused", with the server's reason. Nothing leaves the outbox without a verdict: a sent record
// stays until a page has shown it, a refused one until the witness forgets it.
//
// One sender at a time, page or worker (a Web Lock), so a file is never sent twice at once. A
// sender that died mid-way left its record "sending": the next one sends it again, resuming the
// upload from the URL kept in the record (a 404 or 410 starts it afresh). Entries keep no CSRF
// token while they wait (a token could outlive its session): the session's token is asked of
// /csrf.json at sending time, and asked again once if the server finds it stale. Signed out, the
// sender leaves everything waiting and says so ("signed-out"); the page asks to sign in.
(function (scope) {
  "use strict";
  if (!scope.indexedDB || !scope.fetch || !scope.Promise) return;
  var STORE = "queue", LOCK = "temoin-outbox";

  function db() {
    return new Promise(function (resolve, reject) {
      var open = indexedDB.open("temoin", 1);
      open.onupgradeneeded = function () {
        open.result.createObjectStore(STORE, { keyPath: "id", autoIncrement: true });
      };
      open.onsuccess = function () { resolve(open.result); };
      open.onerror = function () { reject(open.error); };
    });
  }
  function act(mode, work) {
    return db().then(function (d) {
      return new Promise(function (resolve, reject) {
        var tx = d.transaction(STORE, mode), result;
        Promise.resolve(work(tx.objectStore(STORE))).then(function (r) { result = r; });
        tx.oncomplete = function () { d.close(); resolve(result); };
        tx.onerror = function () { d.close(); reject(tx.error); };
      });
    });
  }
  function all() {
    return act("readonly", function (s) {
      return new Promise(function (resolve) { var r = s.getAll(); r.onsuccess = function () { resolve(r.result); }; });
    });
  }
  function put(record) { return act("readwrite", function (s) { s.put(record); }); }
  function add(record) { return act("readwrite", function (s) { s.add(record); }); }
  function drop(id) { return act("readwrite", function (s) { s.delete(id); }); }

  // Only one sender at a time; "busy" when another (a page, the worker) is sending.
  function exclusive(work) {
    var locks = scope.navigator && scope.navigator.locks;
    if (!locks) return work();
    return locks.request(LOCK, { ifAvailable: true }, function (lock) { return lock ? work() : "busy"; });
  }

  async function token() {
    var r = await fetch("/csrf.json", { credentials: "same-origin", cache: "no-store" });
    if (r.status === 401 || r.status === 403) return null;
    if (!r.ok) throw new Error("token: " + r.status);
    return (await r.json()).csrf;
  }
  function firstLine(text) { return String(text || "").trim().split("\n")[0]; }

  async function sendEntry(r, csrf) {
    for (var tries = 0; ; tries++) {
      var body = new URLSearchParams(r.fields);
      body.set("csrf", csrf);
      var answer = await fetch("/entries", { method: "POST", credentials: "same-origin", body: body });
      if (answer.ok) return { verdict: "stored" };
      if (answer.status === 409) return { verdict: "duplicate" }; // its first post did arrive
      if (answer.status === 403 && tries === 0) { csrf = await token(); if (csrf) continue; }
      if (answer.status === 401 || answer.status === 403) return { signedOut: true };
      if (answer.status >= 500) throw new Error("server error " + answer.status);
      return { refused: firstLine(await answer.text()) || String(answer.status) };
    }
  }
  async function sendFile(r, csrf) {
    var tus = scope.temoinTus, verdict = null;
    var line = { bar: { value: 0, max: r.file.size }, say: function () {},
      link: function (text, href, state) { verdict = { text: text, state: state }; } };
    // The upload's URL is kept in the record, so whichever sender comes next resumes it.
    var keep = { get: function () { return r.upload || null; },
      set: function (url) { r.upload = url; return put(r); },
      clear: function () { delete r.upload; return put(r); } };
    try {
      await tus.send(r.file, line, { endpoint: "/tus/", csrf: csrf, max: r.max, picked: r.picked,
        keep: keep, tries: 3 });
    } catch (err) {
      if (!(err instanceof tus.Refused)) throw err;
      if (err.status === 401 || err.status === 403) return { signedOut: true };
      return { refused: err.message.replace(/^refused: /, "") };
    }
    if (verdict && verdict.state === "refused") return { refused: verdict.text.replace(/^refused: /, "") };
    return { verdict: verdict ? verdict.state : "sent", text: verdict ? verdict.text : "" };
  }

  // Sends what waits, one item after another, and records each verdict as it comes. Resolves to
  // "done", "signed-out" (all left waiting), "failed" (the network or the server: try again
  // later, the records waiting again) or "busy". `changed` is called after each change.
  function sendAll(changed) {
    changed = changed || function () {};
    return exclusive(async function () {
      var waiting = (await all()).filter(function (r) { return r.state === "waiting" || r.state === "sending"; });
      if (!waiting.length) return "done";
      try {
        var csrf = await token();
        if (!csrf) return "signed-out";
        for (var i = 0; i < waiting.length; i++) {
          var r = waiting[i];
          if (r.kind === "file" && !scope.temoinTus) continue; // sent from a page with upload.js
          r.state = "sending";
          await put(r);
          await changed();
          var result = await (r.kind === "file" ? sendFile(r, csrf) : sendEntry(r, csrf));
          if (result.signedOut) { r.state = "waiting"; await put(r); await changed(); return "signed-out"; }
          if (result.refused) { r.state = "refused"; r.reason = result.refused; }
          else { r.state = "sent"; r.verdict = result.verdict; r.text = result.text || ""; delete r.file; delete r.upload; }
          await put(r);
          await changed();
        }
        return "done";
      } catch (err) {
        var left = (await all()).filter(function (r) { return r.state === "sending"; });
        for (var j = 0; j < left.length; j++) { left[j].state = "waiting"; await put(left[j]); }
        await changed();
        return "failed";
      }
    });
  }

  scope.temoinOutbox = { all: all, add: add, put: put, drop: drop, sendAll: sendAll, tag: "temoin-queue" };
})(self);
