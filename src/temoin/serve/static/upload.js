// Resumable sending over tus 1.0.0 (creation, core). Without this script the form posts the files
// in one request; with it, each file goes in chunks, and after a dropped connection the script asks
// the server how much arrived (HEAD) and sends the rest (PATCH). Upload URLs are remembered in
// localStorage so a reloaded page resumes too (the outbox keeps them in its records instead).
//
// What the page says is what happened: a progress bar fed by the bytes the browser has actually
// sent, then the ingest's own verdict (stored, already in the archive, or refused and why), asked
// of the server until its job has finished. Bytes on the server's disk are not yet a file in the
// archive. An upload the server no longer knows (404 or 410) is started afresh, never retried.
(function () {
  "use strict";
  //
  // The sending itself is shared with outbox.js (files chosen offline), through `self.temoinTus`,
  // in a page and in the service worker (which has no DOM, no localStorage and no
  // XMLHttpRequest): `c` carries what differs, the tus endpoint, the CSRF token, the size limit,
  // the moment the files were chosen, where the upload URL is kept and how many failed tries end
  // a sending (none: it keeps trying).
  var inPage = typeof document !== "undefined";
  if (!self.fetch || (inPage && (!self.localStorage || !self.XMLHttpRequest))) return;
  var CHUNK = 1024 * 1024;
  var W = self.temoinWords, _ = W._, fill = W.fill, lang = W.lang; // words.js
  function refused(why) { return fill(_("refused: %(why)s"), { why: why }); }

  function Gone() { this.message = _("the server no longer has this upload"); }
  function Refused(message, status) { this.message = message; this.status = status; }

  function headers(c, extra) {
    var h = { "Tus-Resumable": "1.0.0", "X-CSRF-Token": c.csrf };
    for (var k in extra) h[k] = extra[k];
    return h;
  }
  function key(file) { return "tus:" + [file.name, file.size, file.lastModified].join(":"); }
  function kept(file) { // the page's own uploads: their URLs in localStorage
    var k = key(file);
    return { get: function () { return localStorage.getItem(k); },
      set: function (url) { localStorage.setItem(k, url); },
      clear: function () { localStorage.removeItem(k); } };
  }
  function b64(text) { return btoa(unescape(encodeURIComponent(text))); }
  function wait(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  function size(bytes) {
    var units = [_("bytes"), _("KiB"), _("MiB"), _("GiB"), _("TiB")], i = 0;
    while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i += 1; }
    var digits = i && bytes < 10 ? 1 : 0;
    return bytes.toLocaleString(lang(),
      { minimumFractionDigits: digits, maximumFractionDigits: digits }) + " " + units[i];
  }
  function firstLine(text) { return String(text || "").trim().split("\n")[0]; }

  // The phone's own file time, as a hint of when the picture was taken. Some browsers make one up
  // (the moment the file was chosen) for pictures picked from a gallery: that is the sending
  // moment, not the taking, so a time this close to the choice is not sent.
  function modified(file, picked) {
    var at = file.lastModified;
    if (!at || (picked && at >= picked - 5000)) return null;
    return String(at);
  }

  async function create(file, c) {
    var meta = "filename " + b64(file.name) + ",filetype " + b64(file.type || "");
    var hint = modified(file, c.picked);
    if (hint) meta += ",lastModified " + b64(hint);
    var r = await fetch(c.endpoint, { method: "POST", credentials: "same-origin", headers: headers(c, {
      "Upload-Length": String(file.size), "Upload-Metadata": meta }) });
    if (r.status !== 201) {
      throw new Refused(firstLine(await r.text()) || String(r.status), r.status);
    }
    return { url: r.headers.get("Location"), job: r.headers.get("Temoin-Job") };
  }
  async function offset(url, c) {
    var r = await fetch(url, { method: "HEAD", credentials: "same-origin", headers: headers(c, {}) });
    if (r.status === 404 || r.status === 410) throw new Gone();
    if (!r.ok) throw new Error("offset: " + r.status);
    return Number(r.headers.get("Upload-Offset"));
  }
  // One PATCH through XMLHttpRequest: its upload events say how many bytes have left the phone.
  function patch(url, at, blob, moved, c) {
    if (!self.XMLHttpRequest) return patchFetch(url, at, blob, moved, c);
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open("PATCH", url);
      var h = headers(c, { "Upload-Offset": String(at), "Content-Type": "application/offset+octet-stream" });
      for (var k in h) xhr.setRequestHeader(k, h[k]);
      xhr.upload.onprogress = function (e) { moved(e.loaded); };
      xhr.onload = function () {
        resolve({ status: xhr.status, text: xhr.responseText,
          offset: xhr.getResponseHeader("Upload-Offset"), job: xhr.getResponseHeader("Temoin-Job") });
      };
      xhr.onerror = xhr.ontimeout = xhr.onabort = function () { reject(new Error(_("connection lost"))); };
      xhr.send(blob);
    });
  }

  // The service worker's PATCH: no upload events there, so progress moves a chunk at a time.
  async function patchFetch(url, at, blob, moved, c) {
    var h = headers(c, { "Upload-Offset": String(at), "Content-Type": "application/offset+octet-stream" });
    var r = await fetch(url, { method: "PATCH", credentials: "same-origin", headers: h, body: blob })
      .catch(function () { throw new Error(_("connection lost")); });
    moved(blob.size);
    return { status: r.status, text: await r.text(), offset: r.headers.get("Upload-Offset"),
      job: r.headers.get("Temoin-Job") };
  }

  async function upload(file, line, c) {
    var keep = c.keep || kept(file);
    var saved = await keep.get(), at = -1, job = null, url = saved;
    if (saved) at = await offset(saved, c).catch(function () { return -1; });
    if (at < 0) {
      var made = await create(file, c);
      url = made.url; job = made.job; at = 0;
      await keep.set(url);
    }
    line.bar.value = at;
    var tries = 0;
    while (at < file.size) {
      var r;
      try {
        r = await patch(url, at, file.slice(at, at + CHUNK), function (moved) {
          line.bar.value = at + moved;
        }, c);
        if (r.status >= 500) throw new Error(fill(_("server error %(status)s"), { status: r.status }));
        if (r.status === 404 || r.status === 410) throw new Gone();
        if (r.status === 409) { at = await offset(url, c); continue; }
      } catch (err) {
        if (err instanceof Gone) throw err;
        tries += 1;
        if (c.tries && tries >= c.tries) throw err;
        line.say(_("connection lost, retrying…"));
        await wait(Math.min(30000, 1000 * tries));
        try { at = await offset(url, c); } catch (e) { if (e instanceof Gone) throw e; }
        continue;
      }
      if (r.status >= 400 && r.status < 500) throw new Refused(firstLine(r.text) || String(r.status));
      at = Number(r.offset); job = r.job || job; tries = 0;
      line.bar.value = at;
      line.say("");
    }
    await keep.clear();
    line.bar.value = line.bar.max;
    return job;
  }

  // The ingest's verdict on one sent file, asked until its job has finished.
  async function outcome(job, line) {
    var delay = 500;
    for (;;) {
      var r = await fetch("/jobs/" + job + "/outcome.json",
        { credentials: "same-origin", cache: "no-store" }).catch(function () { return null; });
      if (r && !r.ok && r.status < 500) { line.link(_("sent"), "/jobs", "sent"); return; } // signed out
      if (r && r.ok) {
        var o = await r.json();
        if (o.finished) { line.link(o.text, "/jobs/" + job, o.state); return; }
        line.say(fill(_("sent, %(outcome)s"), { outcome: o.text }), "storing");
      }
      await wait(delay);
      delay = Math.min(5000, delay * 1.5);
    }
  }

  async function send(file, line, c) {
    if (file.size > c.max) {
      throw new Refused(fill(_("too large: this server takes files up to %(max)s, and this one is %(size)s"),
        { max: size(c.max), size: size(file.size) }));
    }
    var job;
    for (var fresh = 0; ; fresh++) {
      try { job = await upload(file, line, c); break; } catch (err) {
        if (!(err instanceof Gone) || fresh >= 2) throw err;
        await (c.keep || kept(file)).clear(); // start again from the first byte
        line.say(_("starting again"));
      }
    }
    if (!job) { line.link(_("sent"), "/jobs", "sent"); return; }
    line.say(_("sent, storing…"), "storing");
    return outcome(job, line);
  }

  self.temoinTus = { send: send, Refused: Refused };

  var form = inPage && document.getElementById("upload");
  if (!form) return;
  var list = document.getElementById("progress");
  var input = form.querySelector("input[type=file]");
  var button = form.querySelector("button[type=submit]");
  var picked = 0, busy = false;

  function Line(file) {
    this.li = document.createElement("li");
    this.name = document.createElement("span");
    this.name.textContent = file.name + ": ";
    this.bar = document.createElement("progress");
    this.bar.max = file.size || 1;
    this.bar.value = 0;
    this.bar.setAttribute("aria-label", fill(_("sending %(name)s"), { name: file.name }));
    this.state = document.createElement("span");
    this.state.className = "state";
    this.li.appendChild(this.name);
    this.li.appendChild(this.bar);
    this.li.appendChild(this.state);
    list.appendChild(this.li);
  }
  Line.prototype.say = function (text, state) {
    this.state.textContent = text;
    if (state) this.li.dataset.state = state;
  };
  Line.prototype.link = function (text, href, state) {
    this.state.textContent = "";
    var a = document.createElement("a");
    a.textContent = text; a.href = href;
    this.state.appendChild(a);
    this.li.dataset.state = state;
  };

  input.addEventListener("change", function () { picked = Date.now(); });
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (busy) return; // a second tap while sending sends nothing twice
    busy = true;
    button.disabled = true;
    if (!picked) picked = Date.now();
    try {
      var files = Array.prototype.slice.call(input.files);
      for (var i = 0; i < files.length; i++) {
        var line = new Line(files[i]);
        line.say(_("starting"));
        try {
          // The bytes are sent one file after another; the verdicts are awaited side by side.
          var verdict = await send(files[i], line, { endpoint: form.dataset.tus,
            csrf: form.dataset.csrf, max: Number(form.dataset.max), picked: picked });
          if (verdict) verdict.catch(function () { /* the line keeps "sent, storing…" */ });
        } catch (err) {
          if (err instanceof Refused) line.say(refused(err.message.replace(/^refused: /, "")), "refused");
          else line.say(fill(_("not sent: %(why)s"), { why: err.message }), "failed");
        }
      }
      input.value = ""; // sent: a later tap on Send does not send the same files again
    } finally {
      busy = false;
      button.disabled = false;
    }
  });
})();
