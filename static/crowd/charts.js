// Control-room charts on the vendored uPlot (static/vendor/uplot): people over time, the
// forecast with its band, the capacity and warning lines, and daily visitor bars, with
// time axes in the scenic areas' own time zone whatever the browser's is.
(function () {
  "use strict";
  var TZ = "Asia/Shanghai";
  var COLORS = { people: "#b3541e", mean: "#1f5fa8", band: "rgba(31,95,168,0.18)",
                 capacity: "#b00020", warning: "#d98c00", bars: "#6b8fb5" };

  function tzDate(ts) { return uPlot.tzDate(new Date(ts * 1e3), TZ); }
  // Time axes in uPlot's own date formats, in the areas' time (tzDate). A table row is
  // [tick size (s), format, then what is added under a tick where the year, month, day,
  // hour, minute, second changes, mode 1 = added below the format]: so hours and minutes
  // read HH:MM, with the day (the page's format) under the first tick and at midnight.
  function timeValues(spec) {
    if (spec.axis === "clock") return "{HH}:{mm}";   // the last hour: times only
    var dayFormat = (spec.labels || {}).day_format || "{M}/{D}";   // translated by the page
    var day = "\n" + dayFormat, _ = null;
    return [
      [86400, dayFormat, "\n{YYYY}", _, _, _, _, _, 1],
      [60, "{HH}:{mm}", day, _, day, _, _, _, 1],
      [1, "{HH}:{mm}:{ss}", day, _, day, _, _, _, 1]
    ];
  }
  // People are counted whole: ticks at whole numbers (uPlot's own would put 2.5 people).
  var PEOPLE_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6];
  var NO_POINTS = { show: false };
  function widthOf(el) { return Math.max(280, Math.floor(el.clientWidth || 600)); }

  // The legend names only the series drawn: a chart without a forecast or a capacity has
  // no "forecast", "low", "high" or "capacity" rows (the first, people or visitors, is always
  // named, if only to say "--"). Visible labels go in data-legend.
  function legendOnlyDrawn(el, chart) {
    var rows = chart.root.querySelectorAll(".u-legend .u-series");
    var shown = [];
    for (var i = 1; i < chart.series.length; i++) {
      var drawn = i === 1 || chart.data[i].some(function (v) { return v !== null && v !== undefined; });
      if (rows[i]) rows[i].style.display = drawn ? "" : "none";
      if (drawn) shown.push(chart.series[i].label);
    }
    el.dataset.legend = shown.join("|");
  }

  // One shared x axis for history and forecast; a series is null where it has no value.
  function align(spec) {
    var hist = spec.history || { t: [], people: [] };
    var fc = spec.forecast || null;
    var xs = hist.t.slice();
    if (fc) fc.t.forEach(function (t) { if (xs.indexOf(t) < 0) xs.push(t); });
    xs.sort(function (a, b) { return a - b; });
    function col(ts, vs) {
      var m = {}; ts.forEach(function (t, i) { m[t] = vs[i]; });
      return xs.map(function (t) { return m[t] === undefined ? null : m[t]; });
    }
    var flat = function (v) { return xs.map(function () { return v === null || v === undefined ? null : v; }); };
    return [xs, col(hist.t, hist.people),
            fc ? col(fc.t, fc.mean) : flat(null), fc ? col(fc.t, fc.low) : flat(null),
            fc ? col(fc.t, fc.high) : flat(null), flat(spec.capacity), flat(spec.warning)];
  }

  function trendOptions(el, spec) {
    var L = spec.labels || {};
    var dash = [6, 4];
    return {
      width: widthOf(el), height: spec.height || 220, tzDate: tzDate,
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(10, max * 1.08)]; } } },
      axes: [
        { stroke: "#333", grid: { stroke: "#eee" }, ticks: { stroke: "#ccc" }, font: "12px sans-serif",
          values: timeValues(spec), size: 48 },
        { stroke: "#333", grid: { stroke: "#eee" }, ticks: { stroke: "#ccc" }, font: "12px sans-serif",
          incrs: PEOPLE_INCRS, label: L.people || "people", labelFont: "12px sans-serif", size: 56 }
      ],
      series: [
        { label: L.time || "time", value: "{YYYY}-{MM}-{DD} {HH}:{mm}" },
        { label: L.people || "people", stroke: COLORS.people, width: 2, spanGaps: true, points: NO_POINTS },
        { label: L.forecast || "forecast", stroke: COLORS.mean, width: 2, dash: [4, 3], spanGaps: true, points: NO_POINTS },
        { label: L.low || "low", stroke: "rgba(31,95,168,0.4)", width: 1, spanGaps: true, points: NO_POINTS },
        { label: L.high || "high", stroke: "rgba(31,95,168,0.4)", width: 1, spanGaps: true, points: NO_POINTS },
        { label: L.capacity || "capacity", stroke: COLORS.capacity, width: 1.5, dash: dash, points: NO_POINTS },
        { label: L.warning || "warning", stroke: COLORS.warning, width: 1.5, dash: dash, points: NO_POINTS }
      ],
      bands: [{ series: [4, 3], fill: COLORS.band }],
      legend: { live: true }
    };
  }

  // A line chart of people over time, with an optional forecast band and level lines.
  // spec: {history: {t: [s...], people: [...]}, forecast: {t, mean, low, high} | null,
  //        capacity, warning (people) | null, labels: {...}, height,
  //        axis ("clock": times only; else hours with the day, labels.day_format)}
  function trend(el, spec) {
    var chart = new uPlot(trendOptions(el, spec), align(spec), el);
    el.dataset.chart = "uplot";
    el.uplot = chart;  // for tests and the browser console
    var api = {
      update: function (next) {
        spec = next;
        chart.setData(align(next));
        legendOnlyDrawn(el, chart);
        el.dataset.points = String(chart.data[0].length);
        el.dataset.band = next.forecast ? "1" : "0";
      },
      chart: chart
    };
    api.update(spec);
    window.addEventListener("resize", function () { chart.setSize({ width: widthOf(el), height: chart.height }); });
    return api;
  }

  // Bars of visitors a day with the forecast's band as whiskers and tickets sold so far.
  // spec: {days: [{date, mean, low, high, booked, holiday}], capacity, labels, height}
  function daily(el, spec) {
    var L = spec.labels || {};
    function data(s) {
      var xs = s.days.map(function (d) { return Date.parse(d.date + "T12:00:00+08:00") / 1e3; });
      var pick = function (k) { return s.days.map(function (d) { return d[k]; }); };
      return [xs, pick("mean"), pick("low"), pick("high"), pick("booked"),
              xs.map(function () { return s.capacity || null; })];
    }
    var opts = {
      width: widthOf(el), height: spec.height || 200, tzDate: tzDate,
      scales: { x: { time: true, range: function (u, min, max) { return [min - 43200, max + 43200]; } }, y: { range: function (u, min, max) { return [0, Math.max(10, max * 1.1)]; } } },
      axes: [
        { stroke: "#333", grid: { show: false }, font: "12px sans-serif",
          splits: function (u) { return u.data[0]; },
          values: function (u, ticks) { return ticks.map(function (t) { var d = tzDate(t); return (d.getMonth() + 1) + "/" + d.getDate(); }); } },
        { stroke: "#333", grid: { stroke: "#eee" }, font: "12px sans-serif", label: L.visitors || "visitors",
          labelFont: "12px sans-serif", size: 60 }
      ],
      series: [
        { label: L.day || "day", value: "{YYYY}-{MM}-{DD}" },
        { label: L.forecast || "forecast", fill: COLORS.bars, stroke: COLORS.bars, paths: uPlot.paths.bars({ size: [0.6, 60] }), points: NO_POINTS },
        { label: L.low || "low", stroke: "#1f5fa8", width: 0, points: { show: true, size: 6, fill: "#1f5fa8" } },
        { label: L.high || "high", stroke: "#1f5fa8", width: 0, points: { show: true, size: 6, fill: "#1f5fa8" } },
        { label: L.booked || "booked", stroke: "#333", width: 0, points: { show: true, size: 8, fill: "#fff" } },
        { label: L.capacity || "capacity", stroke: COLORS.capacity, width: 1.5, dash: [6, 4], points: NO_POINTS }
      ]
    };
    var chart = new uPlot(opts, data(spec), el);
    el.dataset.chart = "uplot";
    el.uplot = chart;
    legendOnlyDrawn(el, chart);
    el.dataset.points = String(spec.days.length);
    window.addEventListener("resize", function () { chart.setSize({ width: widthOf(el), height: chart.height }); });
    return { update: function (next) {
      chart.setData(data(next)); legendOnlyDrawn(el, chart); el.dataset.points = String(next.days.length);
    }, chart: chart };
  }

  window.CrowdCharts = { trend: trend, daily: daily, TZ: TZ };
})();
