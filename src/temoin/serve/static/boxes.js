// Drag on the review picture to fill the box form's x, y, w, h (fractions of the picture).
// Without this script the fields are typed by hand.
(function () {
  "use strict";
  var img = document.getElementById("picture"), form = document.getElementById("boxform");
  if (!img || !form) return;
  var start = null, mark = document.createElement("div");
  mark.className = "drawn"; mark.hidden = true;
  img.parentNode.appendChild(mark);
  function at(e) {
    var r = img.getBoundingClientRect();
    return { x: Math.min(Math.max((e.clientX - r.left) / r.width, 0), 1),
             y: Math.min(Math.max((e.clientY - r.top) / r.height, 0), 1) };
  }
  function show(a, b) {
    var x = Math.min(a.x, b.x), y = Math.min(a.y, b.y), w = Math.abs(a.x - b.x), h = Math.abs(a.y - b.y);
    mark.hidden = false;
    mark.style.left = (img.offsetLeft + x * img.width) + "px"; mark.style.top = (img.offsetTop + y * img.height) + "px";
    mark.style.width = (w * img.width) + "px"; mark.style.height = (h * img.height) + "px";
    return { x: x, y: y, w: w, h: h };
  }
  img.addEventListener("pointerdown", function (e) { e.preventDefault(); start = at(e); img.setPointerCapture(e.pointerId); });
  img.addEventListener("pointermove", function (e) { if (start) show(start, at(e)); });
  img.addEventListener("pointerup", function (e) {
    if (!start) return;
    var box = show(start, at(e)); start = null;
    if (box.w < 0.005 || box.h < 0.005) return;
    ["x", "y", "w", "h"].forEach(function (k) { form.elements[k].value = box[k].toFixed(4); });
  });
})();
