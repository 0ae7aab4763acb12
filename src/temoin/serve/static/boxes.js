// Drag on the review picture, or on a paused video, to fill the box form's x, y, w, h (fractions
// of the picture); on a video the time span is set to a second around the paused frame, to be
// widened by hand. Without this script the fields are typed.
(function () {
  "use strict";
  var form = document.getElementById("boxform");
  var target = document.getElementById("picture") || document.getElementById("player");
  if (!form || !target) return;
  var video = target.tagName === "VIDEO";
  var surface = target, start = null, mark = document.createElement("div");
  mark.className = "drawn"; mark.hidden = true;
  target.parentNode.appendChild(mark);
  if (video) {
    // the native controls take clicks on the video itself: draw on a layer over the picture,
    // shown only while the video is paused, leaving the control bar free
    surface = document.createElement("div");
    surface.className = "draw-layer"; surface.hidden = true;
    surface.setAttribute("aria-hidden", "true");
    target.parentNode.appendChild(surface);
    var place = function () {
      surface.style.left = target.offsetLeft + "px"; surface.style.top = target.offsetTop + "px";
      surface.style.width = target.clientWidth + "px";
      surface.style.height = Math.max(0, target.clientHeight - 48) + "px";
    };
    var ready = function () { if (target.paused) { place(); surface.hidden = false; } };
    target.addEventListener("pause", ready);
    target.addEventListener("loadedmetadata", ready);  // a video never played is paused too
    target.addEventListener("seeked", ready);
    target.addEventListener("play", function () { surface.hidden = true; mark.hidden = true; });
    window.addEventListener("resize", ready);
    if (target.readyState >= 1) ready();
  }
  function picture() {
    // where the picture is drawn inside the element: a video keeps its proportions and may be
    // letterboxed inside its box
    var width = target.clientWidth, height = target.clientHeight, left = 0, top = 0;
    if (video && target.videoWidth && target.videoHeight) {
      var scale = Math.min(width / target.videoWidth, height / target.videoHeight);
      left = (width - target.videoWidth * scale) / 2; top = (height - target.videoHeight * scale) / 2;
      width = target.videoWidth * scale; height = target.videoHeight * scale;
    }
    return { left: left, top: top, width: width, height: height };
  }
  function at(e) {
    var r = target.getBoundingClientRect(), p = picture();
    return { x: Math.min(Math.max((e.clientX - r.left - p.left) / p.width, 0), 1),
             y: Math.min(Math.max((e.clientY - r.top - p.top) / p.height, 0), 1) };
  }
  function show(a, b) {
    var x = Math.min(a.x, b.x), y = Math.min(a.y, b.y), w = Math.abs(a.x - b.x), h = Math.abs(a.y - b.y);
    var p = picture();
    mark.hidden = false;
    mark.style.left = (target.offsetLeft + p.left + x * p.width) + "px";
    mark.style.top = (target.offsetTop + p.top + y * p.height) + "px";
    mark.style.width = (w * p.width) + "px"; mark.style.height = (h * p.height) + "px";
    return { x: x, y: y, w: w, h: h };
  }
  surface.addEventListener("pointerdown", function (e) { e.preventDefault(); start = at(e); surface.setPointerCapture(e.pointerId); });
  surface.addEventListener("pointermove", function (e) { if (start) show(start, at(e)); });
  surface.addEventListener("pointerup", function (e) {
    if (!start) return;
    var box = show(start, at(e)); start = null;
    if (box.w < 0.005 || box.h < 0.005) return;
    ["x", "y", "w", "h"].forEach(function (k) { form.elements[k].value = box[k].toFixed(4); });
    if (video && form.elements.start) {
      form.elements.start.value = Math.max(0, target.currentTime - 0.5).toFixed(2);
      form.elements.end.value = (target.currentTime + 0.5).toFixed(2);
    }
  });
})();
