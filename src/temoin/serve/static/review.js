// The review page's keys (a: approve, n: next item) and the filmstrip: a frame or a track's time
// seeks the video there, paused, ready to draw on. Without this script the links and buttons work.
(function () {
  "use strict";
  var player = document.getElementById("player");
  document.addEventListener("click", function (e) {
    var link = e.target.closest && e.target.closest("[data-seconds]");
    if (!link || !player) return;
    e.preventDefault();
    player.pause();
    player.currentTime = parseFloat(link.getAttribute("data-seconds"));
    player.scrollIntoView({ block: "nearest" });
    link.blur();  // the page's keys work again at once
  });
  document.addEventListener("keydown", function (e) {
    // only when nothing has the focus: a key meant for a field, a button or the player never
    // approves anything, and holding a key down does not repeat the decision
    var idle = !document.activeElement || document.activeElement === document.body;
    if (!idle || e.repeat || e.ctrlKey || e.metaKey || e.altKey || e.shiftKey) return;
    if (e.key === "a") {
      var approve = document.getElementById("approve");
      if (approve) { e.preventDefault(); approve.requestSubmit(); }
    } else if (e.key === "n") {
      var next = document.getElementById("next");
      if (next) { e.preventDefault(); window.location.assign(next.href); }
    }
  });
})();
