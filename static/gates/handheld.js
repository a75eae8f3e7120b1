/* Handheld gate page: scan a ticket QR with the phone camera (BarcodeDetector where the
   browser has it, else the vendored jsQR), or type a code / ID number, or upload a photo;
   show a big allow/deny in Chinese and English with a beep. AGPL-3.0-or-later. */
(function () {
  "use strict";
  var textsEl = document.getElementById("gate-texts");
  if (!textsEl) return;
  var T = JSON.parse(textsEl.textContent);
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var $ = function (id) { return document.getElementById(id); };
  var verdict = $("verdict"), main = $("verdict-main"), reasonEl = $("verdict-reason"),
      ticketEl = $("verdict-ticket"), insideEl = $("inside");
  var video = $("video"), canvas = $("canvas");
  var stream = null, detector = null, busy = false, lastCode = "", lastAt = 0;

  function nonce() {
    var a = new Uint8Array(16);
    window.crypto.getRandomValues(a);
    return "hh-" + Array.prototype.map.call(a, function (b) {
      return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  var audio = null;
  function beep(ok) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var tones = ok ? [[1320, 0, 0.15]] : [[330, 0, 0.18], [330, 0.25, 0.18]];
      tones.forEach(function (t) {
        var osc = audio.createOscillator(), gain = audio.createGain();
        osc.type = ok ? "sine" : "square";
        osc.frequency.value = t[0];
        gain.gain.value = 0.2;
        osc.connect(gain); gain.connect(audio.destination);
        osc.start(audio.currentTime + t[1]);
        osc.stop(audio.currentTime + t[1] + t[2]);
      });
    } catch (e) { /* no audio on this device: the colour still tells */ }
  }

  function both(m) { return m ? (m.zh + " / " + m.en) : ""; }

  function show(result) {
    var ok = result.result === "allow";
    verdict.className = "verdict " + (ok ? "allow" : "deny");
    main.textContent = both(ok ? T.allow : T.deny);
    reasonEl.textContent = ok ? "" : both(T.reasons[result.reason] || {zh: result.reason, en: result.reason});
    var tk = result.ticket, parts = [];
    if (tk) {
      if (tk.type) parts.push(typeof tk.type === "object" ? both(tk.type) : tk.type);
      if (tk.holder) parts.push(tk.holder);
      if (tk.slot && tk.slot.start) parts.push(tk.slot.start.slice(11, 16) + "–" + (tk.slot.end || "").slice(11, 16));
      // A fare that needs proof (height, student card...): the officer checks it now.
      if (ok && tk.proof) parts.push(both(T.proof) + ": " + both(tk.proof));
    }
    ticketEl.textContent = parts.join(" · ");
    if (typeof result.inside === "number") insideEl.textContent = result.inside;
    beep(ok);
  }

  function showError(message) {
    verdict.className = "verdict deny";
    main.textContent = both(T.deny);
    reasonEl.textContent = message;
    ticketEl.textContent = "";
    beep(false);
  }

  function direction() {
    var r = document.querySelector('input[name="direction"]:checked');
    return r ? r.value : "entry";
  }

  function post(url, body, isForm) {
    var headers = {"X-CSRF-Token": csrf, "Accept": "application/json"};
    if (!isForm) headers["Content-Type"] = "application/json";
    return fetch(url, {method: "POST", headers: headers, credentials: "same-origin",
                       body: isForm ? body : JSON.stringify(body)})
      .then(function (resp) {
        return resp.json().catch(function () { return {error: "http_" + resp.status}; })
          .then(function (data) { data._status = resp.status; return data; });
      });
  }

  var ID_RE = /^\d{17}[\dX]$/;
  function check(value, method) {
    value = (value || "").trim().toUpperCase().replace(/\s+/g, "");
    if (!value || busy) return;
    busy = true;
    verdict.className = "verdict busy";
    var body = {gate_id: parseInt($("gate").value, 10), direction: direction(), nonce: nonce()};
    if (method !== "photo" && ID_RE.test(value)) { body.document = value; body.method = "document"; }
    else { body.code = value; body.method = method || "code"; }
    post(T.scanUrl, body).then(function (data) {
      if (data.result) show(data); else showError(data.message || data.error);
    }).catch(function () { showError(both(T.network)); })
      .then(function () { busy = false; });
  }

  $("manual").addEventListener("submit", function (ev) {
    ev.preventDefault();
    check($("manual-code").value, "code");
    $("manual-code").value = "";
  });

  $("photo").addEventListener("change", function () {
    var file = this.files && this.files[0];
    if (!file) return;
    var fd = new FormData();
    fd.append("photo", file);
    post(T.photoUrl, fd, true).then(function (data) {
      if (data.code) check(data.code, "photo"); else showError(data.message || data.error);
    }).catch(function () { showError(both(T.network)); });
    this.value = "";
  });

  function onCode(text) {
    var now = Date.now();
    // The same code stays in view for a while: scan it once, not at 10 frames a second.
    if (!text || (text === lastCode && now - lastAt < 4000)) return;
    lastCode = text; lastAt = now;
    check(text, "code");
  }

  function tick() {
    if (!stream) return;
    if (video.readyState >= 2 && !busy) {
      if (detector) {
        detector.detect(video).then(function (codes) {
          if (codes.length) onCode(codes[0].rawValue);
        }).catch(function () {});
      } else if (window.jsQR) {
        var w = video.videoWidth, h = video.videoHeight;
        var scale = Math.min(1, 640 / Math.max(w, h));
        canvas.width = Math.round(w * scale); canvas.height = Math.round(h * scale);
        var ctx = canvas.getContext("2d", {willReadFrequently: true});
        ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
        var img = ctx.getImageData(0, 0, canvas.width, canvas.height);
        var found = window.jsQR(img.data, img.width, img.height, {inversionAttempts: "dontInvert"});
        if (found) onCode(found.data);
      }
    }
    setTimeout(function () { requestAnimationFrame(tick); }, 120);
  }

  $("camera-start").addEventListener("click", function () {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      $("camera-error").hidden = false; return;
    }
    navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}, audio: false})
      .then(function (s) {
        stream = s; video.srcObject = s; video.hidden = false; video.play();
        $("camera-start").hidden = true; $("camera-stop").hidden = false;
        if ("BarcodeDetector" in window) {
          try { detector = new window.BarcodeDetector({formats: ["qr_code"]}); } catch (e) { detector = null; }
        }
        tick();
      }).catch(function () { $("camera-error").hidden = false; });
  });

  $("camera-stop").addEventListener("click", function () {
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null; video.hidden = true;
    $("camera-start").hidden = false; $("camera-stop").hidden = true;
  });

  // Only offer the directions the chosen gate supports.
  function syncDirections() {
    var opt = $("gate").selectedOptions[0], d = opt ? opt.dataset.direction : "both";
    document.querySelectorAll('input[name="direction"]').forEach(function (r) {
      r.disabled = d !== "both" && r.value !== d;
      if (r.disabled && r.checked) {
        r.checked = false;
        document.querySelector('input[name="direction"][value="' + d + '"]').checked = true;
      }
    });
  }
  $("gate").addEventListener("change", syncDirections);
  syncDirections();
})();
