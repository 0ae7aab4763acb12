// Resumable sending over tus 1.0.0 (creation, core). Without this script the form posts the files
// in one request; with it, each file goes in chunks, and after a dropped connection the script asks
// the server how much arrived (HEAD) and sends the rest (PATCH). Upload URLs are remembered in
// localStorage so a reloaded page resumes too.
(function () {
  "use strict";
  var form = document.getElementById("upload");
  if (!form || !window.fetch || !window.localStorage) return;
  var endpoint = form.dataset.tus, csrf = form.dataset.csrf, max = Number(form.dataset.max);
  var CHUNK = 1024 * 1024;
  var list = document.getElementById("progress");

  function headers(extra) {
    var h = { "Tus-Resumable": "1.0.0", "X-CSRF-Token": csrf };
    for (var k in extra) h[k] = extra[k];
    return h;
  }
  function key(file) { return "tus:" + [file.name, file.size, file.lastModified].join(":"); }
  function b64(text) { return btoa(unescape(encodeURIComponent(text))); }
  function wait(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  async function create(file) {
    var r = await fetch(endpoint, { method: "POST", credentials: "same-origin", headers: headers({
      "Upload-Length": String(file.size),
      "Upload-Metadata": "filename " + b64(file.name) + ",filetype " + b64(file.type || "") }) });
    if (r.status !== 201) throw new Error(await r.text() || ("refused: " + r.status));
    return { url: r.headers.get("Location"), job: r.headers.get("Temoin-Job") };
  }
  async function offset(url) {
    var r = await fetch(url, { method: "HEAD", credentials: "same-origin", headers: headers({}) });
    if (r.status === 404) return -1;
    if (!r.ok) throw new Error("offset: " + r.status);
    return Number(r.headers.get("Upload-Offset"));
  }
  async function send(file, line) {
    if (file.size > max) throw new Error("too large for this server");
    var saved = localStorage.getItem(key(file)), at = -1, job = null;
    if (saved) at = await offset(saved).catch(function () { return -1; });
    var url = saved;
    if (at < 0) { var made = await create(file); url = made.url; job = made.job; at = 0; localStorage.setItem(key(file), url); }
    var tries = 0;
    while (at < file.size) {
      try {
        var r = await fetch(url, { method: "PATCH", credentials: "same-origin",
          headers: headers({ "Upload-Offset": String(at), "Content-Type": "application/offset+octet-stream" }),
          body: file.slice(at, at + CHUNK) });
        if (r.status === 409 || !r.ok) { at = await offset(url); if (!r.ok && r.status !== 409) throw new Error(r.status); continue; }
        at = Number(r.headers.get("Upload-Offset")); job = r.headers.get("Temoin-Job") || job; tries = 0;
        line.textContent = file.name + ": " + Math.floor(100 * at / file.size) + "%";
      } catch (err) {
        tries += 1;
        line.textContent = file.name + ": connection lost, retrying…";
        await wait(Math.min(30000, 1000 * tries));
        try { at = await offset(url); } catch (e) { /* still offline */ }
      }
    }
    localStorage.removeItem(key(file));
    line.innerHTML = "";
    var a = document.createElement("a");
    a.textContent = file.name + ": sent"; a.href = job ? "/jobs/" + job : "/jobs";
    line.appendChild(a);
  }
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    var files = form.querySelector("input[type=file]").files;
    for (var i = 0; i < files.length; i++) {
      var line = document.createElement("li");
      line.textContent = files[i].name + ": starting";
      list.appendChild(line);
      try { await send(files[i], line); } catch (err) { line.textContent = files[i].name + ": " + err.message; }
    }
  });
})();
