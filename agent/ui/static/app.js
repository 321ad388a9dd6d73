// vigil live page: one EventSource, a snapshot then one frame per second; uPlot charts.
(function () {
  'use strict';
  var WINDOW_MS = 5 * 60 * 1000;
  var series = new Map(); // id -> { meta, t: [], v: [] }
  var charts = new Map(); // "source\u0000metric" -> { el, plot, ids, lastEl, dirty }
  var frames = 0;
  var lastNow = Date.now();
  var $ = function (id) { return document.getElementById(id); };
  var chartsRoot = $('charts');
  var palette = ['#58a6ff', '#3fb950', '#f0883e', '#d2a8ff', '#f85149', '#d29922', '#39c5cf', '#ff7b72'];

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function fmtBytes(v) {
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var i = 0;
    var a = Math.abs(v);
    while (a >= 1024 && i < u.length - 1) { a /= 1024; v /= 1024; i++; }
    return (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1)) + ' ' + u[i];
  }
  function fmtSeconds(s) {
    if (s < 0) return '–';
    if (s < 90) return Math.round(s) + ' s';
    if (s < 5400) return (s < 600 ? (s / 60).toFixed(1) : Math.round(s / 60)) + ' min';
    if (s < 172800) return (s / 3600).toFixed(1) + ' h';
    return (s / 86400).toFixed(1) + ' d';
  }
  function fmt(v, unit, metric) {
    if (v === null || v === undefined || !isFinite(v)) return '–';
    if (unit === 'By') return fmtBytes(v);
    if (unit === 's' && /time_to|age|drain/.test(metric)) return fmtSeconds(v);
    if (unit === '1' && /utilization|ratio|share/.test(metric)) return (v * 100).toFixed(1) + ' %';
    if (Math.abs(v) >= 1e6) return v.toExponential(2);
    return String(Math.round(v * 1000) / 1000) + (unit && unit !== '1' && unit[0] !== '{' ? ' ' + unit : '');
  }
  // Tick labels with as many decimals as the tick spacing needs (0.0148 vs 0.0152 must differ).
  function axisLabels(vals, unit, metric) {
    var step = vals.length > 1 ? Math.abs(vals[1] - vals[0]) : 0;
    var pct = unit === '1' && /utilization|ratio|share/.test(metric);
    if (!step || unit === 'By' || (unit === 's' && /time_to|age|drain/.test(metric))) {
      return vals.map(function (v) { return fmt(v, unit, metric); });
    }
    var scaled = pct ? step * 100 : step;
    var decimals = Math.min(6, Math.max(0, Math.ceil(-Math.log10(scaled) + 0.0001)));
    return vals.map(function (v) {
      if (v === null) return '';
      return pct ? (v * 100).toFixed(decimals) + ' %' : Math.abs(v) >= 1e6 ? v.toExponential(2) : v.toFixed(decimals);
    });
  }

  // Attributes that identify a series but make poor labels: a shorter one says the same
  // (vigil.gpu.index for hw.id and the PCI bus id, the node name for address and port).
  var NOISY = { 'hw.vendor': 1, 'hw.name': 1, 'hw.id': 1, 'vigil.gpu.pci_bus_id': 1, 'server.address': 1, 'server.port': 1, 'db.system.name': 1 };
  function shortKey(k) {
    var i = k.lastIndexOf('.');
    return i >= 0 ? k.slice(i + 1) : k;
  }
  function attrText(attrs, skip, max) {
    var parts = [];
    for (var k in attrs) if ((!skip || !skip[k]) && !NOISY[k]) parts.push(shortKey(k) + '=' + attrs[k]);
    if (parts.length === 0) for (var k2 in attrs) if (!skip || !skip[k2]) parts.push(shortKey(k2) + '=' + attrs[k2]);
    var text = parts.join(' ');
    max = max || 64;
    return text.length > max ? text.slice(0, max - 1) + '…' : text;
  }

  /** A list item: a coloured badge, then what it is about; full attributes on hover. */
  function badgeItem(cls, badgeCls, badge, what, attrs) {
    var li = el('li', cls);
    li.appendChild(el('span', 'badge ' + badgeCls, badge));
    li.appendChild(document.createTextNode(' ' + what + ' ' + attrText(attrs)));
    li.title = fullAttrText(attrs);
    return li;
  }

  function fullAttrText(attrs) {
    var parts = [];
    for (var k in attrs) parts.push(k + '=' + attrs[k]);
    return parts.join(' ');
  }
  function ago(ms) {
    var s = Math.max(0, (Date.now() - ms) / 1000);
    return fmtSeconds(s) + ' ago';
  }

  // ---- series and charts -------------------------------------------------
  function chartKey(m) { return m.source + '\u0000' + m.metric; }

  function addSeries(m, t, v) {
    var s = series.get(m.id);
    if (!s) {
      s = { meta: m, t: t || [], v: v || [] };
      series.set(m.id, s);
    }
    var key = chartKey(m);
    var c = charts.get(key);
    if (!c) c = createChart(m);
    if (c.ids.indexOf(m.id) < 0) { c.ids.push(m.id); c.rebuild = true; }
    c.dirty = true;
  }

  function removeSeries(id) {
    var s = series.get(id);
    if (!s) return;
    series.delete(id);
    var c = charts.get(chartKey(s.meta));
    if (!c) return;
    c.ids = c.ids.filter(function (x) { return x !== id; });
    c.rebuild = true;
    c.dirty = true;
    if (c.ids.length === 0) {
      if (c.plot) c.plot.destroy();
      c.el.remove();
      charts.delete(chartKey(s.meta));
    }
  }

  var CORE_SOURCES = { alerts: 1, detect: 1, forecast: 1, vigil: 1 };
  function sourceBox(source) {
    var id = 'src-' + source.replace(/[^\w-]/g, '_');
    var box = document.getElementById(id);
    if (!box) {
      box = el('div', 'source');
      box.id = id;
      box.appendChild(el('h3', '', source));
      box.appendChild(el('div', 'charts'));
      // Plugins first (alphabetically), then the agent's own modules (alerts, detect, forecast).
      box.dataset.order = (CORE_SOURCES[source] ? '1' : '0') + source;
      var boxes = Array.prototype.slice.call(chartsRoot.children);
      var before = boxes.find(function (b) { return b.dataset.order > box.dataset.order; });
      chartsRoot.insertBefore(box, before || null);
    }
    return box.lastChild;
  }

  function createChart(m) {
    var box = el('div', 'chart');
    box.dataset.metric = m.metric;
    box.dataset.source = m.source;
    var title = el('div', 'title');
    title.appendChild(el('span', '', m.metric + (m.unit ? ' [' + m.unit + ']' : '')));
    var last = el('span', 'last', '');
    title.appendChild(last);
    box.appendChild(title);
    sourceBox(m.source).appendChild(box);
    var c = { el: box, plot: null, ids: [], lastEl: last, dirty: true, rebuild: true, unit: m.unit, metric: m.metric };
    charts.set(chartKey(m), c);
    return c;
  }

  // uPlot wants one shared x array: align the chart's series on the union of their times.
  function aligned(c) {
    var times = new Set();
    c.ids.forEach(function (id) { var s = series.get(id); if (s) s.t.forEach(function (t) { times.add(t); }); });
    var xs = Array.from(times).sort(function (a, b) { return a - b; });
    var index = new Map();
    xs.forEach(function (t, i) { index.set(t, i); });
    var data = [xs.map(function (t) { return t / 1000; })];
    c.ids.forEach(function (id) {
      var s = series.get(id);
      var ys = new Array(xs.length).fill(null);
      if (s) for (var i = 0; i < s.t.length; i++) ys[index.get(s.t[i])] = s.v[i];
      data.push(ys);
    });
    return data;
  }

  function commonAttrs(c) {
    var common = {};
    if (c.ids.length < 2) return null;
    var first = series.get(c.ids[0]);
    if (!first) return null;
    for (var k in first.meta.attrs) {
      var same = c.ids.every(function (id) { var s = series.get(id); return s && s.meta.attrs[k] === first.meta.attrs[k]; });
      if (same) common[k] = true;
    }
    return common;
  }

  function renderChart(c) {
    var data = aligned(c);
    if (c.rebuild || !c.plot) {
      if (c.plot) c.plot.destroy();
      var skip = commonAttrs(c);
      var width = Math.max(300, c.el.clientWidth - 10);
      var opts = {
        width: width, height: 170,
        scales: { x: { time: true, range: function () { return [lastNow / 1000 - WINDOW_MS / 1000, lastNow / 1000]; } } },
        axes: [
          { stroke: '#8a93a6', grid: { stroke: '#2a2f3a' } },
          { stroke: '#8a93a6', grid: { stroke: '#2a2f3a' }, size: 70,
            values: function (u, vals) { return axisLabels(vals, c.unit, c.metric); } },
        ],
        legend: { show: c.ids.length > 1 },
        series: [{}].concat(c.ids.map(function (id, i) {
          var s = series.get(id);
          return { label: (s && attrText(s.meta.attrs, skip)) || c.metric, stroke: palette[i % palette.length], width: 1.5, spanGaps: true,
            value: function (u, v) { return fmt(v, c.unit, c.metric); } };
        })),
      };
      c.plot = new uPlot(opts, data, c.el);
      c.rebuild = false;
    } else {
      c.plot.setData(data);
    }
    var lastS = series.get(c.ids[0]);
    c.lastEl.textContent = lastS && lastS.v.length ? fmt(lastS.v[lastS.v.length - 1], c.unit, c.metric) + (c.ids.length > 1 ? ' (first of ' + c.ids.length + ')' : '') : '';
    c.el.dataset.points = String(data[0].length);
    c.dirty = false;
  }

  function trim(now) {
    lastNow = now;
    var from = now - WINDOW_MS;
    series.forEach(function (s) {
      var n = 0;
      while (n < s.t.length && s.t[n] < from) n++;
      if (n > 0) { s.t.splice(0, n); s.v.splice(0, n); }
    });
  }

  // ---- status panels -------------------------------------------------------
  function renderStatus(m) {
    $('series-count').textContent = String(m.seriesCount);
    $('updated').textContent = 'updated ' + new Date(m.now).toLocaleTimeString();

    var tbody = document.querySelector('#alerts tbody');
    tbody.textContent = '';
    m.alerts.forEach(function (a) {
      var tr = el('tr', 'alert');
      tr.dataset.rule = a.rule;
      tr.dataset.severity = a.severity;
      var td = el('td');
      td.appendChild(el('span', 'badge sev-' + a.severity, a.severity));
      tr.appendChild(td);
      tr.appendChild(el('td', '', a.rule + (a.state !== 'firing' ? ' (' + a.state + ')' : '')));
      tr.appendChild(el('td', '', a.summary || attrText(a.labels)));
      tr.appendChild(el('td', '', a.since ? ago(a.since) : ''));
      tbody.appendChild(tr);
    });
    $('alerts-count').textContent = String(m.alerts.length);
    $('alerts-empty').hidden = m.alerts.length > 0;
    $('alerts').hidden = m.alerts.length === 0;
    $('alerts-error').hidden = !m.alertsError;
    $('alerts-error').textContent = m.alertsError ? 'alerts unavailable: ' + m.alertsError : '';

    var fl = $('forecasts');
    fl.textContent = '';
    m.forecasts.forEach(function (f) {
      var lvl = f.seconds < 300 ? 'lvl-critical' : f.seconds < 1800 ? 'lvl-high' : 'lvl-low';
      fl.appendChild(badgeItem('forecast', lvl, fmtSeconds(f.seconds), f.source, f.attrs));
    });
    $('forecasts-empty').hidden = m.forecasts.length > 0;

    var pl = $('pressure');
    pl.textContent = '';
    m.pressure.forEach(function (p) {
      pl.appendChild(badgeItem('pressure', 'lvl-' + p.level, p.level, p.metric, p.attrs));
    });
    $('pressure-empty').hidden = m.pressure.length > 0;

    var gl = $('plugins');
    gl.textContent = '';
    m.plugins.forEach(function (p) {
      var li = el('li', 'plugin');
      li.appendChild(el('span', 'badge st-' + p.state, p.state));
      li.appendChild(document.createTextNode(' ' + p.name));
      if (p.lastError) { li.title = p.lastError; li.appendChild(el('div', 'error', p.lastError)); }
      gl.appendChild(li);
    });
  }

  // ---- stream ----------------------------------------------------------------
  function onSnapshot(m) {
    series.forEach(function (_s, id) { removeSeries(id); });
    m.series.forEach(function (s) {
      addSeries({ id: s.id, metric: s.metric, unit: s.unit, source: s.source, attrs: s.attrs }, s.t, s.v);
    });
    trim(m.now);
    charts.forEach(renderChart);
    renderStatus(m);
  }

  function onFrame(m) {
    m.removed.forEach(removeSeries);
    m.added.forEach(function (meta) { if (!series.has(meta.id)) addSeries(meta); });
    var p = m.points;
    for (var i = 0; i + 2 < p.length; i += 3) {
      var s = series.get(p[i]);
      if (!s) continue;
      var t = p[i + 1];
      // A viewer may see a point in both its snapshot and the next frame: keep one.
      if (s.t.length && t <= s.t[s.t.length - 1]) continue;
      s.t.push(t);
      s.v.push(p[i + 2]);
      var c = charts.get(chartKey(s.meta));
      if (c) c.dirty = true;
    }
    trim(m.now);
    charts.forEach(function (c) { if (c.dirty) renderChart(c); });
    renderStatus(m);
    frames++;
    document.body.dataset.frames = String(frames);
  }

  function setConn(state, text) {
    var c = $('conn');
    c.className = 'conn conn-' + state;
    c.textContent = text;
  }

  var es = new EventSource('/api/live');
  es.addEventListener('open', function () { setConn('ok', 'live'); });
  es.addEventListener('error', function () { setConn(es.readyState === 2 ? 'down' : 'wait', es.readyState === 2 ? 'disconnected' : 'reconnecting…'); });
  es.addEventListener('snapshot', function (e) { onSnapshot(JSON.parse(e.data)); });
  es.addEventListener('frame', function (e) { onFrame(JSON.parse(e.data)); });
  window.addEventListener('resize', function () { charts.forEach(function (c) { c.rebuild = true; renderChart(c); }); });
})();
