// The booking form's proof of work (ALTCHA): fetched and solved in Web Workers (the altcha
// package's own SHA worker, vendored in static/vendor/altcha) while the visitor fills the
// form, renewed before it expires, and sent as the hidden field "altcha". A visitor who
// submits before it is ready waits for it; nothing inline, so a strict CSP holds.
(function () {
  var form = document.querySelector('form[data-pow-challenge]');
  if (!form || !window.Worker || !window.fetch) return;
  var field = form.querySelector('input[name=altcha]');
  var status = form.querySelector('[data-pow-status]');
  var pending = null;
  var renewTimer = null;

  function solveWith(challenge) {
    var n = Math.max(1, Math.min(navigator.hardwareConcurrency || 2, 4));
    var workers = [];
    return new Promise(function (resolve, reject) {
      var left = n;
      function stop() { workers.forEach(function (w) { w.terminate(); }); }
      for (var i = 0; i < n; i++) {
        var w = new Worker(form.dataset.powWorker);
        workers.push(w);
        w.onmessage = function (msg) {
          var sol = msg.data;
          if (sol && sol.derivedKey !== undefined) { stop(); resolve(sol); return; }
          if (--left === 0) { stop(); reject(new Error('no solution')); }
        };
        w.onerror = function () { if (--left === 0) { stop(); reject(new Error('worker failed')); } };
        w.postMessage({ type: 'work', challenge: challenge, counterStart: i, counterStep: n,
                        counterMode: 'uint32', timeout: 90000 });
      }
    });
  }

  function solve() {
    field.value = '';
    form.removeAttribute('data-pow-ready');
    var started = performance.now();
    pending = fetch(form.dataset.powChallenge, { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) { if (!r.ok) throw new Error('challenge ' + r.status); return r.json(); })
      .then(function (challenge) {
        return solveWith(challenge).then(function (solution) {
          field.value = btoa(JSON.stringify({ challenge: challenge, solution: solution }));
          form.setAttribute('data-pow-ready', '1');
          form.setAttribute('data-pow-ms', String(Math.round(performance.now() - started)));
          var exp = (challenge.parameters.data || {}).exp;
          if (exp) {   // renew 30 s before the server would call it expired
            clearTimeout(renewTimer);
            renewTimer = setTimeout(solve, Math.max(5000, exp * 1000 - Date.now() - 30000));
          }
        });
      })
      .catch(function () { pending = null; });
    return pending;
  }

  form.addEventListener('submit', function (event) {
    if (field.value) return;
    event.preventDefault();
    if (status) status.hidden = false;
    (pending || solve()).then(function () {
      if (status) status.hidden = true;
      form.submit();   // the server explains a missing answer (pow_missing) if solving failed
    });
  });
  solve();
})();
