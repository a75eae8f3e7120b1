/* Audio guide pages: large text, offline pack, narration player with resume,
   "near me", and asking by text or voice. No libraries; works offline. */
(function () {
  'use strict';
  var store = {
    get: function (k) { try { return window.localStorage.getItem(k); } catch (e) { return null; } },
    set: function (k, v) { try { window.localStorage.setItem(k, v); } catch (e) { /* private mode */ } }
  };
  function msg(root, name) {
    var t = root.querySelector('template[data-msg="' + name + '"]');
    return t ? t.innerHTML.trim() : name;
  }
  function fill(text, params) {
    return text.replace(/\{(\w+)\}/g, function (_, k) { return params[k] !== undefined ? params[k] : ''; });
  }
  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;   // never innerHTML for server text
    return n;
  }

  /* Large text */
  function applyLarge(on) {
    document.body.classList.toggle('large-text', on);
    document.querySelectorAll('[data-large-text]').forEach(function (b) { b.setAttribute('aria-pressed', on ? 'true' : 'false'); });
  }
  applyLarge(store.get('guide:large') === '1');
  document.querySelectorAll('[data-large-text]').forEach(function (b) {
    b.addEventListener('click', function () {
      var on = !document.body.classList.contains('large-text');
      store.set('guide:large', on ? '1' : '0');
      applyLarge(on);
    });
  });

  /* Offline pack */
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/guide/sw.js', { scope: '/guide/' }).catch(function () {});
  }
  var status = document.querySelector('[data-offline-status]');
  var texts = document.querySelector('[data-offline-texts]') || document.body;
  var T = {   // translated by the page (guide/_macros.html)
    saving: msg(texts, 'saving'), ready: msg(texts, 'ready'), failed: msg(texts, 'failed'),
    unsupported: msg(texts, 'unsupported')
  };
  document.querySelectorAll('[data-offline]').forEach(function (btn) {
    btn.addEventListener('click', function () {
      if (!('caches' in window) || !('serviceWorker' in navigator)) { status.textContent = T.unsupported; return; }
      btn.disabled = true;
      fetch(btn.getAttribute('data-offline'), { credentials: 'same-origin' })
        .then(function (r) { if (!r.ok) throw new Error('manifest'); return r.json(); })
        .then(function (m) {
          // A new cache per content version; older packs of this site and language go
          // only after the new one is complete, so a failed download keeps the old pack.
          var name = m.cache + '-' + String(m.version).replace(/[^A-Za-z0-9]/g, '').slice(-24);
          return caches.open(name).then(function (cache) {
            var done = 0, total = m.urls.length;
            status.textContent = fill(T.saving, { done: 0, total: total });
            // One at a time: gentle on a weak mountain connection and on the server.
            return m.urls.reduce(function (p, url) {
              return p.then(function () {
                return cache.add(new Request(url, { credentials: 'same-origin' })).then(function () {
                  done += 1; status.textContent = fill(T.saving, { done: done, total: total });
                });
              });
            }, Promise.resolve()).then(function () {
              return caches.keys().then(function (keys) {
                return Promise.all(keys.filter(function (k) {
                  return k.indexOf(m.cache + '-') === 0 && k !== name;
                }).map(function (k) { return caches.delete(k); }));
              });
            }).then(function () {
              store.set('guide:pack:' + m.cache, m.version);
              status.textContent = T.ready;
              status.setAttribute('data-ready', '1');
            });
          });
        })
        .catch(function () { status.textContent = T.failed; })
        .then(function () { btn.disabled = false; });
    });
  });

  /* Player: track choice, speed, resume where left off */
  document.querySelectorAll('[data-player]').forEach(function (box) {
    var audio = box.querySelector('[data-audio]');
    var speed = box.querySelector('[data-speed]');
    var resumed = box.querySelector('[data-resumed]');
    var track = 'long';
    function key() { return box.getAttribute('data-key') + ':' + track; }
    function restore() {
      var at = parseFloat(store.get(key()) || '0');
      if (at > 1) {
        if (audio.preload === 'none') { audio.preload = 'metadata'; audio.load(); }
        var seek = function () {
          if (audio.duration && at < audio.duration - 1) { audio.currentTime = at; resumed.hidden = false; }
        };
        if (audio.readyState >= 1) seek(); else audio.addEventListener('loadedmetadata', seek, { once: true });
      }
    }
    var saved = parseFloat(store.get('guide:speed') || '1');
    if (saved) { speed.value = String(saved); audio.playbackRate = saved; }
    speed.addEventListener('change', function () {
      audio.playbackRate = parseFloat(speed.value) || 1;
      store.set('guide:speed', speed.value);
    });
    audio.addEventListener('play', function () { audio.playbackRate = parseFloat(speed.value) || 1; });
    var last = 0;
    audio.addEventListener('timeupdate', function () {
      if (Math.abs(audio.currentTime - last) >= 2) { last = audio.currentTime; store.set(key(), String(audio.currentTime)); }
    });
    audio.addEventListener('pause', function () { store.set(key(), String(audio.currentTime)); });
    /* A scene plays its parts in order: each part's audio, then the next one's. */
    var parts = JSON.parse(audio.getAttribute('data-parts') || '[]'), part = 0;
    function showPart() {
      box.querySelectorAll('[data-part]').forEach(function (li) {
        if (+li.getAttribute('data-part') === part) li.setAttribute('aria-current', 'step');
        else li.removeAttribute('aria-current');
      });
      audio.setAttribute('data-playing-part', String(part + 1));
    }
    audio.addEventListener('ended', function () {
      store.set(key(), '0');
      if (track === 'scene' && part + 1 < parts.length) {
        part += 1;
        audio.src = parts[part];
        showPart();
        audio.play().catch(function () {});
      }
    });
    box.querySelectorAll('[data-track]').forEach(function (b) {
      b.addEventListener('click', function () {
        track = b.getAttribute('data-track');
        box.querySelectorAll('[data-track]').forEach(function (o) { o.setAttribute('aria-pressed', o === b ? 'true' : 'false'); });
        box.querySelectorAll('[data-transcript]').forEach(function (t) { t.hidden = t.getAttribute('data-transcript') !== track; });
        audio.setAttribute('aria-describedby', 'transcript-' + track);
        if (track === 'scene') { part = 0; audio.src = parts[0]; showPart(); }
        else audio.src = audio.getAttribute('data-src-' + track);
        audio.load();
        if (track !== 'scene') restore();
      });
    });
    restore();
  });

  /* Near me */
  function metres(a, b, c, d) {
    var R = 6371000, r = Math.PI / 180;
    var dp = (c - a) * r, dl = (d - b) * r;
    var h = Math.sin(dp / 2) * Math.sin(dp / 2) + Math.cos(a * r) * Math.cos(c * r) * Math.sin(dl / 2) * Math.sin(dl / 2);
    return 2 * R * Math.asin(Math.sqrt(h));
  }
  document.querySelectorAll('[data-near]').forEach(function (box) {
    var out = box.querySelector('[data-near-out]');
    var max = parseFloat(box.getAttribute('data-max-accuracy')) || 100;
    var points = Array.prototype.map.call(box.querySelectorAll('[data-near-list] li'), function (li) {
      return { lat: parseFloat(li.dataset.lat), lon: parseFloat(li.dataset.lon), name: li.dataset.name, url: li.dataset.url };
    });
    function fallback(kind, acc) {
      out.textContent = fill(msg(box, kind), { m: Math.round(acc || 0) });
      var input = box.querySelector('input[name=number]');
      if (input) input.focus();
    }
    box.querySelector('[data-near-btn]').addEventListener('click', function () {
      if (!navigator.geolocation) { fallback('denied'); return; }
      out.textContent = msg(box, 'locating');
      navigator.geolocation.getCurrentPosition(function (pos) {
        var c = pos.coords;
        if (c.accuracy > max) { fallback('inaccurate', c.accuracy); return; }
        var best = null, bestD = Infinity;
        points.forEach(function (p) { var d = metres(c.latitude, c.longitude, p.lat, p.lon); if (d < bestD) { bestD = d; best = p; } });
        if (!best) { fallback('denied'); return; }
        out.textContent = '';
        var a = el('a', 'gitem', fill(msg(box, 'result'), { name: best.name, m: Math.round(bestD) }));
        a.href = best.url;
        out.appendChild(a);
      }, function () { fallback('denied'); }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 30000 });
    });
  });

  /* Ask by text or voice */
  document.querySelectorAll('[data-ask]').forEach(function (box) {
    var form = box.querySelector('form');
    var input = box.querySelector('input[name=question]');
    var out = box.querySelector('.gask-out');
    var site = box.getAttribute('data-site'), alang = box.getAttribute('data-lang');
    function show(data) {
      out.textContent = '';
      var wrap = el('div', data.error ? 'err' : 'answer');
      wrap.setAttribute('role', data.error ? 'alert' : 'status');
      if (data.transcript) wrap.appendChild(el('p', 'muted', msg(box, 'you_said') + ': ' + data.transcript));
      wrap.appendChild(el('p', 'answer-text', data.error ? data.message : data.answer));
      if (data.sources && data.sources.length) {
        var p = el('p', 'muted', msg(box, 'sources') + ': ');
        data.sources.forEach(function (s, i) {
          var a = el('a', null, s.title); a.href = s.url || '#';
          if (i) p.appendChild(document.createTextNode(' · '));
          p.appendChild(a);
        });
        wrap.appendChild(p);
      }
      if (data.citations && data.citations.length) {
        var c = el('p', 'muted gcited', msg(box, 'cited') + ': ');
        data.citations.forEach(function (s, i) {
          if (i) c.appendChild(document.createTextNode(' · '));
          var label = s.title + (s.publisher ? ' (' + s.publisher + ')' : '');
          if (/^https?:\/\//.test(s.url || '')) {
            var a = el('a', null, label); a.href = s.url; a.rel = 'noopener noreferrer'; a.target = '_blank';
            c.appendChild(a);
          } else c.appendChild(document.createTextNode(label));
        });
        wrap.appendChild(c);
      }
      if (data.audio_url) {
        var au = el('audio'); au.controls = true; au.src = data.audio_url; au.preload = 'none';
        au.setAttribute('aria-label', data.answer);
        wrap.appendChild(au);
      }
      out.appendChild(wrap);
    }
    function handle(promise) {
      out.textContent = msg(box, 'thinking');
      promise.then(function (r) { return r.json().catch(function () { return { error: 'http_' + r.status, message: r.statusText }; }); })
        .then(show)
        .catch(function () { show({ error: 'offline', message: msg(box, 'offline') }); });
    }
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      handle(fetch(box.getAttribute('data-ask'), {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ site: site, question: input.value, lang: alang })
      }));
    });
    document.querySelectorAll('[data-question]').forEach(function (b) {
      b.addEventListener('click', function () { input.value = b.getAttribute('data-question'); form.requestSubmit ? form.requestSubmit() : form.submit(); });
    });
    var mic = box.querySelector('[data-mic]');
    var rec = null, chunks = [], timer = null;
    function stop() { if (rec && rec.state === 'recording') rec.stop(); }
    mic.addEventListener('click', function () {
      if (rec && rec.state === 'recording') { stop(); return; }
      if (!navigator.mediaDevices || !window.MediaRecorder) { show({ error: 'no_mic', message: msg(box, 'no_mic') }); return; }
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
        chunks = [];
        rec = new MediaRecorder(stream);
        rec.ondataavailable = function (e) { if (e.data.size) chunks.push(e.data); };
        rec.onstop = function () {
          clearTimeout(timer);
          mic.classList.remove('recording'); mic.setAttribute('aria-pressed', 'false');
          stream.getTracks().forEach(function (t) { t.stop(); });
          var blob = new Blob(chunks, { type: rec.mimeType || 'audio/webm' });
          var fd = new FormData();
          fd.append('audio', blob, 'question.' + ((rec.mimeType || '').indexOf('ogg') >= 0 ? 'ogg' : 'webm'));
          fd.append('site', site); fd.append('lang', alang);
          handle(fetch(box.getAttribute('data-ask-voice'), { method: 'POST', body: fd }));
        };
        rec.start();
        mic.classList.add('recording'); mic.setAttribute('aria-pressed', 'true');
        out.textContent = msg(box, 'recording');
        timer = setTimeout(stop, 29000);   // the server takes up to 30 s
      }).catch(function () { show({ error: 'no_mic', message: msg(box, 'no_mic') }); });
    });
  });
})();
