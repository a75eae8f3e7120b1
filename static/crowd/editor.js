// Draw counting areas (polygons) and lines on a camera snapshot; the server validates.
(function () {
  "use strict";
  var canvas = document.getElementById("editor"), ctx = canvas.getContext("2d");
  var hidden = document.getElementById("regions"), list = document.getElementById("region-list");
  var regions = [];
  try { regions = JSON.parse(hidden.value || "[]") || []; } catch (e) { regions = []; }
  if (!Array.isArray(regions)) regions = [];
  var selected = regions.length ? 0 : -1, bg = null;

  function sync() { hidden.value = JSON.stringify(regions); }
  function size() {
    var w = parseInt(document.getElementById("f-width").value, 10), h = parseInt(document.getElementById("f-height").value, 10);
    if (w > 0 && h > 0 && (w !== canvas.width || h !== canvas.height)) { canvas.width = w; canvas.height = h; }
  }
  function draw() {
    size();
    ctx.fillStyle = "#333"; ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (bg) ctx.drawImage(bg, 0, 0, canvas.width, canvas.height);
    regions.forEach(function (r, i) {
      var col = r.kind === "area" ? "rgba(255,200,80,1)" : "rgba(40,120,255,1)";
      ctx.strokeStyle = col; ctx.lineWidth = i === selected ? 4 : 2;
      ctx.beginPath();
      r.points.forEach(function (p, j) { if (j) ctx.lineTo(p[0], p[1]); else ctx.moveTo(p[0], p[1]); });
      if (r.kind === "area" && r.points.length > 2) { ctx.closePath(); ctx.fillStyle = "rgba(255,200,80,.2)"; ctx.fill(); }
      ctx.stroke();
      r.points.forEach(function (p) { ctx.fillStyle = col; ctx.fillRect(p[0] - 3, p[1] - 3, 6, 6); });
      if (r.points.length) { ctx.fillStyle = "#fff"; ctx.font = "16px sans-serif"; ctx.fillText(r.name, r.points[0][0] + 6, r.points[0][1] - 6); }
    });
    renderList(); sync();
  }
  function renderList() {
    list.replaceChildren();
    regions.forEach(function (r, i) {
      var li = document.createElement("li");
      if (i === selected) li.className = "selected";
      var pick = document.createElement("button"); pick.type = "button"; pick.className = "linklike";
      pick.textContent = (r.kind === "area" ? "▱ " : "— ") + r.points.length + " pts";
      pick.addEventListener("click", function () { selected = i; draw(); });
      var nm = document.createElement("input"); nm.value = r.name; nm.setAttribute("aria-label", "name");
      nm.addEventListener("change", function () { r.name = nm.value.trim(); sync(); draw(); });
      li.append(pick, " ", nm);
      if (r.kind === "area") {
        var cap = document.createElement("input"); cap.value = r.capacity || ""; cap.setAttribute("aria-label", "capacity");
        cap.inputMode = "numeric"; cap.size = 6;
        cap.addEventListener("change", function () { r.capacity = parseInt(cap.value, 10) || cap.value; sync(); });
        li.append(" capacity ", cap);
      }
      list.append(li);
    });
  }
  canvas.addEventListener("click", function (e) {
    if (selected < 0) return;
    var rect = canvas.getBoundingClientRect();
    var x = Math.round((e.clientX - rect.left) * canvas.width / rect.width);
    var y = Math.round((e.clientY - rect.top) * canvas.height / rect.height);
    var r = regions[selected];
    if (r.kind === "line" && r.points.length >= 2) r.points = [];
    r.points.push([x, y]); draw();
  });
  document.getElementById("new-area").addEventListener("click", function () {
    regions.push({ kind: "area", name: "area" + (regions.length + 1), points: [], capacity: 10 });
    selected = regions.length - 1; draw();
  });
  document.getElementById("new-line").addEventListener("click", function () {
    regions.push({ kind: "line", name: "line" + (regions.length + 1), points: [] });
    selected = regions.length - 1; draw();
  });
  document.getElementById("undo").addEventListener("click", function () {
    if (selected >= 0) { regions[selected].points.pop(); draw(); }
  });
  document.getElementById("remove").addEventListener("click", function () {
    if (selected >= 0) { regions.splice(selected, 1); selected = regions.length - 1; draw(); }
  });
  var snap = document.getElementById("snap");
  function loadSnapshot() {
    var img = new Image();
    img.onload = function () { bg = img; document.getElementById("snap-msg").hidden = true; draw(); };
    img.onerror = function () { document.getElementById("snap-msg").hidden = false; };
    img.src = snap.dataset.src + "?t=" + Date.now();
  }
  if (snap) { snap.addEventListener("click", loadSnapshot); loadSnapshot(); }
  document.getElementById("f-width").addEventListener("change", draw);
  document.getElementById("f-height").addEventListener("change", draw);
  document.getElementById("camera-form").addEventListener("submit", sync);
  draw();
})();
