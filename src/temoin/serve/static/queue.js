// The phone's queue: files and entries made with no network wait in IndexedDB and are sent when
// it returns (the `online` event, a retry with growing pauses, Background Sync where the browser
// has it). The queue survives a reload and a closed browser, and is shown at the top of every page.
//
// Nothing in it is dropped without a verdict: a file leaves the queue once the archive has stored
// it (or already had it); one the server refuses stays, marked refused with the reason, until the
// witness forgets it. Files go through upload.js's tus sending, so they resume like any other,
// with their name and `lastModified` sent as metadata as if they had been sent when chosen.
// Entries keep no CSRF token while they wait (a token could outlive its session): the session's
// token is asked of /csrf.json at sending time, and asked again once if the server finds it stale.
(function () {
  "use strict";
  if (!window.indexedDB || !window.fetch || !window.Promise) return;
  if (navigator.serviceWorker) navigator.serviceWorker.register("/sw.js").catch(function () {});

  // The page's words in its language (serve/words.py); a page without them speaks English.
  var words = JSON.parse((document.getElementById("words") || {}).textContent || "{}");
  function _(text) { return typeof words[text] === "string" ? words[text] : text; }
  function ngettext(one, other, n) {
    var forms = words[one], lang = document.documentElement.lang || "en";
    var category = window.Intl && Intl.PluralRules ? new Intl.PluralRules(lang).select(n) : "";
    if (forms && typeof forms === "object") return forms[category] || forms.other || other;
    return n === 1 ? one : other;
  }
  function fill(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (all, name) { return name in values ? values[name] : all; });
  }
  // A refusal's reason without its "refused: " (as the server or upload.js wrote it).
  function reasonOf(text) {
    var prefix = fill(_("refused: %(why)s"), { why: "" });
    text = String(text).replace(/^refused: /, "");
    return text.indexOf(prefix) === 0 ? text.slice(prefix.length) : text;
  }

  var STORE = "queue", FIRST = 5000, LONGEST = 5 * 60 * 1000;
  var delay = FIRST, timer = null, running = false, note = "";

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

  function label(r) {
    if (r.kind === "file") return r.name;
    var text = (r.fields.title || r.fields.text).slice(0, 40);
    return fill(r.fields.form === "letter" ? _("letter: %(text)s") : _("entry: %(text)s"), { text: text });
  }
  function stateOf(r) {
    if (r.state === "refused") return fill(_("refused: %(why)s"), { why: r.reason });
    return { waiting: _("waiting"), sending: _("sending") }[r.state] || r.state;
  }

  // The queue at the top of the page, in words a witness can act on.
  async function render() {
    var records = await all(), box = document.getElementById("queue");
    if (!records.length) { if (box) box.remove(); return; }
    if (!box) {
      box = document.createElement("section");
      box.id = "queue";
      box.setAttribute("aria-live", "polite");
      var main = document.querySelector("main");
      main.insertBefore(box, main.firstChild);
    }
    var waiting = records.filter(function (r) { return r.state !== "refused"; });
    var files = waiting.filter(function (r) { return r.kind === "file"; }).length;
    var entries = waiting.length - files, refused = records.length - waiting.length;
    var filesText = fill(ngettext("%(n)s file", "%(n)s files", files), { n: files });
    var entriesText = fill(ngettext("%(n)s entry", "%(n)s entries", entries), { n: entries });
    var text = files && entries ?
      fill(_("%(files)s and %(entries)s waiting to be sent"), { files: filesText, entries: entriesText }) :
      files || entries ? fill(_("%(what)s waiting to be sent"), { what: files ? filesText : entriesText }) : "";
    var refusedText = fill(ngettext("%(n)s refused by the server", "%(n)s refused by the server", refused),
      { n: refused });
    if (refused) text += (text ? "; " : "") + refusedText;
    box.textContent = "";
    var p = document.createElement("p");
    p.className = "queue-count";
    p.textContent = text + (note ? " (" + note + ")" : "");
    box.appendChild(p);
    var ul = document.createElement("ul");
    ul.className = "plain";
    records.forEach(function (r) {
      var li = document.createElement("li");
      li.dataset.state = r.state;
      li.textContent = label(r) + ": " + stateOf(r);
      if (r.state === "refused") {
        var forget = document.createElement("button");
        forget.type = "button";
        forget.className = "link";
        forget.textContent = _("Forget");
        forget.setAttribute("aria-label", fill(_("Forget %(name)s"), { name: label(r) }));
        forget.addEventListener("click", function () { drop(r.id).then(render); });
        li.appendChild(document.createTextNode(" "));
        li.appendChild(forget);
      }
      ul.appendChild(li);
    });
    box.appendChild(ul);
  }

  function two(n) { return (n < 10 ? "0" : "") + n; }
  // Offline, a form is put in the queue instead of sent (capture phase: before upload.js sees it).
  document.addEventListener("submit", async function (event) {
    var form = event.target;
    var isFiles = form.id === "upload", isEntry = form.getAttribute("action") === "/entries";
    if (!(isFiles || isEntry) || (navigator.onLine && !form.dataset.offline)) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    var now = new Date();
    if (isFiles) {
      var input = form.querySelector("input[type=file]");
      var files = Array.prototype.slice.call(input.files);
      for (var i = 0; i < files.length; i++) {
        await add({ kind: "file", state: "waiting", file: files[i], name: files[i].name,
          lastModified: files[i].lastModified, picked: now.getTime(),
          max: Number(form.dataset.max) || Infinity });
      }
      input.value = "";
    } else {
      var fields = {};
      new FormData(form).forEach(function (v, k) { if (k !== "csrf") fields[k] = String(v); });
      if (!fields.day && !fields.time) { // the moment it was written, not the moment it is sent
        fields.day = now.getFullYear() + "-" + two(now.getMonth() + 1) + "-" + two(now.getDate());
        fields.time = two(now.getHours()) + ":" + two(now.getMinutes());
      }
      await add({ kind: "entry", state: "waiting", fields: fields });
      form.reset();
    }
    await render();
    var reg = navigator.serviceWorker && await navigator.serviceWorker.getRegistration();
    if (reg && reg.sync) reg.sync.register("temoin-queue").catch(function () {});
    later();
  }, true);

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
      if (answer.ok) return { done: true };
      if (answer.status === 403 && tries === 0) { csrf = await token(); if (csrf) continue; }
      if (answer.status === 401 || answer.status === 403) return { signedOut: true };
      if (answer.status >= 500) throw new Error("server error " + answer.status);
      return { refused: firstLine(await answer.text()) || String(answer.status) };
    }
  }
  async function sendFile(r, csrf) {
    var verdict = null, line = { bar: { value: 0, max: r.file.size }, say: function () {},
      link: function (text, href, state) { verdict = { text: text, state: state }; } };
    try {
      await window.temoinTus.send(r.file, line, { endpoint: "/tus/", csrf: csrf, max: r.max,
        picked: r.picked });
    } catch (err) {
      if (err instanceof window.temoinTus.Refused) {
        return { refused: reasonOf(err.message) };
      }
      throw err;
    }
    if (verdict && verdict.state === "refused") return { refused: reasonOf(verdict.text) };
    return { done: true };
  }

  // Sends what waits, one item after another; a failure leaves it waiting for the next try.
  async function send() {
    if (running || !navigator.onLine) return;
    running = true;
    try {
      var waiting = (await all()).filter(function (r) { return r.state !== "refused"; });
      if (!waiting.length) return;
      var csrf = await token();
      if (!csrf) { note = _("sign in to send them"); return; }
      note = "";
      for (var i = 0; i < waiting.length; i++) {
        var r = waiting[i];
        if (r.kind === "file" && !window.temoinTus) continue; // sent from a page with upload.js
        r.state = "sending";
        await put(r);
        await render();
        var result = await (r.kind === "file" ? sendFile(r, csrf) : sendEntry(r, csrf));
        if (result.signedOut) { r.state = "waiting"; await put(r); note = _("sign in to send them"); return; }
        if (result.refused) { r.state = "refused"; r.reason = result.refused; await put(r); }
        else await drop(r.id);
        await render();
      }
      delay = FIRST;
    } catch (err) {
      (await all()).forEach(function (r) { if (r.state === "sending") { r.state = "waiting"; put(r); } });
      delay = Math.min(LONGEST, delay * 2);
    } finally {
      running = false;
      await render();
      later();
    }
  }
  function later() {
    clearTimeout(timer);
    all().then(function (records) {
      if (records.some(function (r) { return r.state !== "refused"; })) timer = setTimeout(send, delay);
    });
  }

  window.addEventListener("online", function () { delay = FIRST; send(); });
  if (navigator.serviceWorker) {
    navigator.serviceWorker.addEventListener("message", function (e) {
      if (e.data === "temoin-send") send();
    });
  }
  // Anything left "sending" by a page closed mid-way is waiting again.
  all().then(function (records) {
    return Promise.all(records.filter(function (r) { return r.state === "sending"; })
      .map(function (r) { r.state = "waiting"; return put(r); }));
  }).then(render).then(function () { if (navigator.onLine) send(); else later(); });
})();
