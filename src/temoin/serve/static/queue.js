// The phone's queue, on the page: files and entries made with no network are put in the outbox
// (outbox.js, IndexedDB) and sent when it returns (the `online` event, a retry with growing
// pauses, and Background Sync where the browser has it: the service worker then sends them even
// with no page open). The queue survives a reload and a closed browser, and is shown at the top
// of every page with each item's fate: waiting, sent (the server's verdict, shown once), or
// refused with the reason (kept until the witness forgets it). Files resume through tus like any
// other, with their name and `lastModified` sent as metadata as if they had been sent when chosen.
(function () {
  "use strict";
  var outbox = window.temoinOutbox;
  if (!outbox) return;
  if (navigator.serviceWorker) navigator.serviceWorker.register("/sw.js").catch(function () {});

  // The page's words (words.js); the verdicts' own words come from the server where it gives them.
  var W = window.temoinWords, _ = W._, ngettext = W.ngettext, fill = W.fill;
  // A refusal's reason without its "refused: " (as the server or upload.js wrote it, in English
  // from the worker or in the page's language).
  function reasonOf(text) {
    var prefix = fill(_("refused: %(why)s"), { why: "" });
    text = String(text).replace(/^refused: /, "");
    return text.indexOf(prefix) === 0 ? text.slice(prefix.length) : text;
  }
  var FIRST = 5000, LONGEST = 5 * 60 * 1000;
  var delay = FIRST, timer = null, note = "";
  var all = outbox.all, put = outbox.put, add = outbox.add, drop = outbox.drop;

  function label(r) {
    if (r.kind === "file") return r.name;
    var text = (r.fields.title || r.fields.text).slice(0, 40);
    return fill(r.fields.form === "letter" ? _("letter: %(text)s") : _("entry: %(text)s"), { text: text });
  }
  function stateOf(r) {
    if (r.state === "refused") return fill(_("refused: %(why)s"), { why: reasonOf(r.reason) });
    if (r.state === "sent") return r.text || (r.verdict === "duplicate" ? _("already in the archive") : _("stored"));
    return { waiting: _("waiting"), sending: _("sending") }[r.state] || r.state;
  }

  // The queue at the top of the page, in words a witness can act on; drawn once at a time (the
  // page and the worker both ask for it).
  var drawn = Promise.resolve();
  function render() { drawn = drawn.then(draw, draw); return drawn; }
  async function draw() {
    var records = await all(), box = document.getElementById("queue");
    if (!records.length) { if (box) box.remove(); return; }
    if (!box) {
      box = document.createElement("section");
      box.id = "queue";
      box.setAttribute("aria-live", "polite");
      var main = document.querySelector("main");
      main.insertBefore(box, main.firstChild);
    }
    var waiting = records.filter(function (r) { return r.state === "waiting" || r.state === "sending"; });
    var files = waiting.filter(function (r) { return r.kind === "file"; }).length;
    var entries = waiting.length - files;
    var refused = records.filter(function (r) { return r.state === "refused"; }).length;
    var sent = records.filter(function (r) { return r.state === "sent"; });
    var filesText = fill(ngettext("%(n)s file", "%(n)s files", files), { n: files });
    var entriesText = fill(ngettext("%(n)s entry", "%(n)s entries", entries), { n: entries });
    var text = files && entries ?
      fill(_("%(files)s and %(entries)s waiting to be sent"), { files: filesText, entries: entriesText }) :
      files || entries ? fill(_("%(what)s waiting to be sent"), { what: files ? filesText : entriesText }) : "";
    if (sent.length) {
      text += (text ? "; " : "") + fill(ngettext("%(n)s sent", "%(n)s sent", sent.length), { n: sent.length });
    }
    if (refused) {
      text += (text ? "; " : "") +
        fill(ngettext("%(n)s refused by the server", "%(n)s refused by the server", refused), { n: refused });
    }
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
    // A verdict is shown once: the next page no longer lists it.
    await Promise.all(sent.filter(function (r) { return !r.shown; })
      .map(function (r) { r.shown = true; return put(r); }));
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
    later();
  }, true);

  // Sends what waits (outbox.js), unless the worker or another page is at it already.
  async function send() {
    if (!navigator.onLine) return;
    var result = await outbox.sendAll(render);
    if (result === "signed-out") note = _("sign in to send them");
    else if (result !== "busy") note = "";
    delay = result === "failed" ? Math.min(LONGEST, delay * 2) : FIRST;
    await render();
    later();
  }
  // The next try: a timer while this page is open, and Background Sync for when it is closed.
  async function wake() {
    var reg = navigator.serviceWorker && await navigator.serviceWorker.getRegistration();
    if (reg && reg.sync) await reg.sync.register(outbox.tag);
  }
  function later() {
    clearTimeout(timer);
    all().then(function (records) {
      if (!records.some(function (r) { return r.state === "waiting" || r.state === "sending"; })) return;
      timer = setTimeout(send, delay);
      wake().catch(function () {});
    });
  }

  window.addEventListener("online", function () { delay = FIRST; send(); });
  if (navigator.serviceWorker) { // the worker sent something: show it
    navigator.serviceWorker.addEventListener("message", function (e) {
      if (e.data === "temoin-changed") render();
    });
  }
  // Verdicts a page has already shown are dropped; the rest is shown, then sent.
  all().then(function (records) {
    return Promise.all(records.filter(function (r) { return r.state === "sent" && r.shown; })
      .map(function (r) { return drop(r.id); }));
  }).then(render).then(function () { if (navigator.onLine) send(); else later(); });
})();
