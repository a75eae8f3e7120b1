// Control-room dashboard: live state by Server-Sent Events, alert feed with acknowledge
// and a sound, MJPEG live views, heatmaps, and trend charts drawn by static/crowd/charts.js
// (the vendored uPlot).
(function () {
  "use strict";
  var me = document.currentScript;
  var urls = { stream: me.dataset.stream, state: me.dataset.state, trend: me.dataset.trend,
               forecast: me.dataset.forecast };
  var T = JSON.parse(document.getElementById("crowd-i18n").textContent);
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var seenAlerts = null, soundOn = false, audioCtx = null;
  var camCards = {};

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function name(n) { return (n && (n[T.lang] || n.zh || n.en)) || ""; }
  function pct(r) { return r === null || r === undefined ? "—" : Math.round(r * 100) + "%"; }
  function num(v) { return v === null || v === undefined ? "—" : v; }
  function badge(level) { return el("span", { "class": "badge bg-" + (level === "unknown" ? "offline" : level) }, T.levels[level] || level); }

  function beep() {
    if (!soundOn) return;
    try {
      audioCtx = audioCtx || new (window.AudioContext || window.webkitAudioContext)();
      var o = audioCtx.createOscillator(), g = audioCtx.createGain();
      o.frequency.value = 880; g.gain.value = 0.15;
      o.connect(g); g.connect(audioCtx.destination);
      o.start(); o.stop(audioCtx.currentTime + 0.35);
    } catch (e) { /* no audio device: the visual feed still shows the alert */ }
  }
  document.getElementById("sound").addEventListener("click", function () {
    soundOn = true; this.disabled = true; beep();
  });

  function renderSites(sites) {
    var tbody = document.querySelector("#sites tbody");
    tbody.replaceChildren();
    sites.forEach(function (s) {
      var tr = el("tr", { "data-site": s.site_id });
      var th = el("th", null, name(s.name));
      if (s.sales_paused) { th.append(" "); th.append(el("span", { "class": "badge bg-warning" }, T.paused)); }
      tr.append(th, el("td", { "class": "people" }, num(s.people)), el("td", null, s.capacity),
        el("td", null, pct(s.ratio)));
      var lv = el("td", { "class": "level" }); lv.append(badge(s.level)); tr.append(lv);
      tr.append(el("td", null, num(s.camera_people)), el("td", null, num(s.gate_people)));
      tbody.append(tr);
      s.zones.forEach(function (z) {
        var zr = el("tr", { "class": "zone-row", "data-zone": z.zone_id });
        zr.append(el("td", null, "↳ " + T.zone + " " + name(z.name)), el("td", null, num(z.people)),
          el("td", null, z.capacity), el("td", null, pct(z.ratio)));
        var zl = el("td"); zl.append(badge(z.level)); zr.append(zl, el("td"), el("td"));
        tbody.append(zr);
      });
    });
  }

  function expectedText(at, ratio) {
    return T.fc.expected.replace("{time}", at.slice(11, 16)).replace("{pct}", Math.round(ratio * 100));
  }
  function alertText(a) {
    var what = a.kind === "camera_offline" ? (T.status.offline + ": " + a.target_id)
      : a.kind === "predicted" ? (T.fc.predicted + " · " + a.target_id + " · " +
          expectedText(a.expected_at || "", a.capacity ? Math.min(1, a.people / a.capacity) : 0.8))
      : (a.scope + " " + a.target_id + " " + num(a.people) + "/" + num(a.capacity));
    return what + " · " + a.opened_at.replace("T", " ").slice(0, 19);
  }

  function renderAlerts(alerts) {
    var ul = document.getElementById("alerts");
    ul.replaceChildren();
    document.getElementById("no-alerts").hidden = alerts.length > 0;
    var fresh = false, ids = {};
    alerts.forEach(function (a) {
      ids[a.id] = true;
      if (seenAlerts && !seenAlerts[a.id] && a.state === "open") fresh = true;
      var li = el("li", { "class": "alert level-" + a.level, "data-alert": a.id, "data-kind": a.kind });
      li.append(badge(a.kind === "camera_offline" ? "unknown" : a.level), " ", el("span", null, alertText(a)));
      if (a.state === "open") {
        var b = el("button", { type: "button", "class": "ack" }, T.ack);
        b.addEventListener("click", function () { ack(a.id, b); });
        li.append(" ", b);
      } else {
        li.append(" ", el("span", { "class": "muted" }, T.acked_by + (a.acknowledged_by || "")));
      }
      ul.append(li);
    });
    if (fresh) beep();
    seenAlerts = ids;
  }

  function ack(id, button) {
    button.disabled = true;
    fetch("/api/crowd/alerts/" + id + "/ack", { method: "POST", headers: { "X-CSRF-Token": csrf },
      credentials: "same-origin" }).then(function () { return fetch(urls.state, { credentials: "same-origin" }); })
      .then(function (r) { return r.json(); }).then(render).catch(function () { button.disabled = false; });
  }

  function liveImg(cam) {
    var img = el("img", { alt: T.live + " " + cam.name, width: 384, height: 288, "class": "live" });
    var retry = function () {
      setTimeout(function () { img.src = "/crowd/cameras/" + encodeURIComponent(cam.camera_id) + "/live.mjpg?t=" + Date.now(); }, 3000);
    };
    img.addEventListener("error", retry);
    img.src = "/crowd/cameras/" + encodeURIComponent(cam.camera_id) + "/live.mjpg";
    return img;
  }

  function drawHeat(canvas, h) {
    var ctx = canvas.getContext("2d"), cw = canvas.width / h.cols, ch = canvas.height / h.rows;
    ctx.fillStyle = "#111"; ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (!h.max) return;
    for (var r = 0; r < h.rows; r++) for (var c = 0; c < h.cols; c++) {
      var v = h.cells[r * h.cols + c] / h.max;
      if (v <= 0) continue;
      ctx.fillStyle = "hsla(" + Math.round(240 - 240 * Math.sqrt(v)) + ",100%,50%," + (0.25 + 0.75 * v) + ")";
      ctx.fillRect(c * cw, r * ch, Math.ceil(cw), Math.ceil(ch));
    }
  }
  function refreshHeat(id) {
    var card = camCards[id]; if (!card) return;
    fetch("/api/crowd/cameras/" + encodeURIComponent(id) + "/heatmap", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; }).then(function (h) { if (h) drawHeat(card.heat, h); });
  }

  function renderCameras(cams) {
    var grid = document.getElementById("cameras");
    cams.forEach(function (c) {
      var card = camCards[c.camera_id];
      if (!card) {
        var box = el("article", { "class": "panel cam", "data-camera": c.camera_id });
        var h = el("h3", null, c.name);
        var status = el("p", { "class": "cam-status" });
        var media = el("div", { "class": "cam-media" });
        var heat = el("canvas", { width: 192, height: 144, "class": "heat", "aria-label": T.heatmap + " " + c.name });
        media.append(liveImg(c), heat);
        var stats = el("ul", { "class": "cam-stats" });
        box.append(h, status, media, stats);
        grid.append(box);
        card = camCards[c.camera_id] = { box: box, status: status, stats: stats, heat: heat };
        refreshHeat(c.camera_id);
      }
      card.status.replaceChildren(el("span", { "class": "badge bg-" + (c.status === "online" ? "normal" : "offline") },
        T.status[c.status] || c.status), " ", el("span", { "class": "muted" }, c.error || ""));
      var items = [["people", num(c.people)], ["counted", num(c.counted)], ["in", c.ins], ["out", c.outs],
                   ["fps", c.fps === null ? "—" : c.fps], ["dropped", c.dropped]];
      card.stats.replaceChildren();
      items.forEach(function (kv) { card.stats.append(el("li", { "data-k": kv[0] }, kv[0] + ": " + kv[1])); });
      c.areas.forEach(function (a) {
        var li = el("li", { "data-area": a.name }, a.name + ": " + num(a.people) + "/" + a.capacity + " ");
        li.append(badge(a.level)); card.stats.append(li);
      });
    });
  }

  function render(state) {
    renderSites(state.sites); renderAlerts(state.alerts); renderCameras(state.cameras);
    document.body.dataset.updated = state.at;
  }

  var trendCharts = {};
  function refreshTrends() {
    ["hour", "day"].forEach(function (w) {
      fetch(urls.trend + "?window=" + w, { credentials: "same-origin" }).then(function (r) { return r.json(); })
        .then(function (d) {
          var pts = d.points.filter(function (p) { return p.people !== null; });
          var spec = { history: { t: pts.map(function (p) { return p.t; }), people: pts.map(function (p) { return p.people; }) },
                       forecast: null, capacity: null, warning: null, labels: T.chart, height: 180 };
          var el = document.getElementById("trend-" + w);
          if (trendCharts[w]) trendCharts[w].update(spec); else trendCharts[w] = CrowdCharts.trend(el, spec);
        });
    });
  }

  // The forecast of one site: the last 3 hours, the next 3 with their band, capacity and
  // warning lines; and the next 7 days.
  var fcChart = null, dailyChart = null, siteSel = document.getElementById("forecast-site");
  function times(isoList) { return isoList.map(function (t) { return Date.parse(t) / 1000; }); }
  function renderForecast(f) {
    var occ = f.occupancy, summary = document.getElementById("forecast-summary");
    var notes = [];
    if (f.source === "simulated") notes.push(T.fc.simulated);
    if (f.basis === "prior") notes.push(T.fc.prior);
    document.getElementById("forecast-note").textContent = notes.join(" · ");
    summary.replaceChildren();
    if (!occ) { summary.textContent = T.fc.closed; }
    else if (f.crossing) {
      summary.append(el("span", { "class": "badge bg-warning", "data-predicted": "1" }, T.fc.predicted), " ",
                     expectedText(f.crossing.at, f.crossing.ratio));
    } else { summary.textContent = T.fc.none; }
    var spec = { history: occ ? { t: times(occ.history.times), people: occ.history.people } : { t: [], people: [] },
                 forecast: occ ? { t: times(occ.times), mean: occ.mean, low: occ.low, high: occ.high } : null,
                 capacity: f.capacity, warning: f.capacity ? Math.round(f.capacity * f.warning_ratio) : null,
                 labels: T.chart, height: 240 };
    var chartEl = document.getElementById("forecast-chart");
    if (fcChart) fcChart.update(spec); else fcChart = CrowdCharts.trend(chartEl, spec);
    chartEl.dataset.site = f.site_id;
    var dailyEl = document.getElementById("daily-chart");
    document.getElementById("daily-note").hidden = !!f.daily;
    if (f.daily) {
      var dspec = { days: f.daily.days, capacity: f.daily.capacity, labels: T.chart, height: 240 };
      if (dailyChart) dailyChart.update(dspec); else dailyChart = CrowdCharts.daily(dailyEl, dspec);
    }
  }
  function refreshForecast() {
    fetch(urls.forecast + "?site=" + encodeURIComponent(siteSel.value), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (f) { if (f && f.site_id === siteSel.value) renderForecast(f); });
  }
  siteSel.addEventListener("change", refreshForecast);

  var conn = document.getElementById("conn");
  function connect() {
    var es = new EventSource(urls.stream);
    es.addEventListener("state", function (e) { conn.textContent = conn.dataset.live; render(JSON.parse(e.data)); });
    es.addEventListener("bye", function () { es.close(); setTimeout(connect, 500); });
    es.onerror = function () { conn.textContent = conn.dataset.lost; };
  }

  render(JSON.parse(document.getElementById("crowd-initial").textContent));
  connect();
  refreshTrends();
  refreshForecast();
  setInterval(refreshTrends, 30000);
  setInterval(refreshForecast, 60000);
  setInterval(function () { Object.keys(camCards).forEach(refreshHeat); }, 10000);
})();
