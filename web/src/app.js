// Ablate dashboard: a dependency-free single page over the coordinator's read-only JSON API
// (docs/dashboard.md). Hash routes: #/sweeps, #/leaderboard?..., #/run/NAME, #/compare?runs=a,b,
// #/lineage?root=X. Live updates: the current view re-polls its endpoints every POLL_MS with
// If-None-Match; only a changed response re-renders (charts update their data in place).
'use strict';

const POLL_MS = 3000;
const STATS = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100', 'ARs', 'ARm', 'ARl'];
const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'diverged', 'stopped'];
const STATUS_COLORS = {queued: '#8a93a6', running: '#2f6fde', succeeded: '#1a7f37', failed: '#c62828',
                       cancelled: '#6d4c41', diverged: '#e65100', stopped: '#7b1fa2'};
const PALETTE = ['#2f6fde', '#e8590c', '#2b8a3e', '#c2255c', '#7048e8', '#0c8599', '#f08c00',
                 '#5c940d', '#862e9c', '#495057'];

// ---------------------------------------------------------------- helpers
const $view = () => document.getElementById('view');
function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]));
}
function fmt(v, digits = 3) { return v === null || v === undefined ? '–' : Number(v).toFixed(digits); }
function fmtDelta(v) {
  if (v === null || v === undefined) return '–';
  const s = (v * 100).toFixed(1);
  return (v > 0 ? '+' : v < 0 ? '' : '±') + s;
}
// Background for a delta: green up / red down, stronger with size (full at 2 AP points).
function deltaStyle(v) {
  if (v === null || v === undefined || v === 0) return '';
  const a = Math.min(1, Math.abs(v) / 0.02) * 0.55 + 0.1;
  return v > 0 ? `background: rgba(26,127,55,${a.toFixed(2)})` : `background: rgba(198,40,40,${a.toFixed(2)})`;
}
function deltaClass(v) { return v > 0 ? 'pos' : v < 0 ? 'neg' : 'zero'; }
function pill(status) { return `<span class="pill s-${esc(status)}">${esc(status)}</span>`; }
// A run's status pill; an early-stopped run shows its rung ("stopped @ 300") and why on hover.
function runPill(run) {
  if (run.status !== 'stopped' || run.stopped_at_step == null) return pill(run.status);
  return `<span class="pill s-stopped" title="${esc(run.stop_reason || '')}">stopped @ ${run.stopped_at_step}</span>`;
}
function runLink(name) { return `<a href="#/run/${encodeURIComponent(name)}">${esc(name)}</a>`; }
// Sizes as the CLI prints them (common/human_bytes.h): "512 B", "4.9 KiB", "3.0 MiB", "5.00 GiB".
function fmtBytes(b) {
  if (!b) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0; let x = b;
  while (x >= 1024 && i < u.length - 1) { x /= 1024; i++; }
  return `${x.toFixed(i === 0 ? 0 : i === 3 ? 2 : 1)} ${u[i]}`;
}
// Axis ticks: small values (learning rates) in exponent form so neighbouring ticks differ.
function fmtTick(v) {
  if (v === null || v === undefined) return '';
  const a = Math.abs(v);
  if (a !== 0 && (a < 0.01 || a >= 1e5)) return v.toExponential(1);
  return String(+v.toPrecision(4));
}
function fmtTime(ms) { return ms ? new Date(ms).toLocaleString() : '–'; }
function errorBox(e) { return `<div class="error">${esc(e.message || e)}</div>`; }

// GET a JSON endpoint; remembers ETags so unchanged data costs a 304 and no re-render.
const etags = new Map();
async function api(url) {
  const prev = etags.get(url);
  const headers = prev ? {'If-None-Match': prev.etag} : {};
  const res = await fetch(url, {headers, cache: 'no-store'});
  if (res.status === 304 && prev) return {data: prev.data, changed: false};
  const body = await res.json().catch(() => ({error: `HTTP ${res.status}`}));
  if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
  const etag = res.headers.get('ETag');
  if (etag) etags.set(url, {etag, data: body});
  return {data: body, changed: true};
}
async function apiAll(urls) {
  const rs = await Promise.all(urls.map(api));
  return {data: rs.map(r => r.data), changed: rs.some(r => r.changed)};
}
function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
}

// ---------------------------------------------------------------- charts (uPlot)
const charts = new Map();  // container id -> uPlot
// Aligns several [[x, y], ...] series on the union of their x values (nulls elsewhere).
function align(seriesList) {
  const xs = new Set();
  for (const s of seriesList) for (const p of s) xs.add(p[0]);
  const x = [...xs].sort((a, b) => a - b);
  const index = new Map(x.map((v, i) => [v, i]));
  const ys = seriesList.map(s => {
    const y = new Array(x.length).fill(null);
    for (const p of s) y[index.get(p[0])] = p[1];
    return y;
  });
  return [x, ...ys];
}
// Draws (or updates in place) a line chart. series: [{label, points: [[x, y]...], dash?}].
function lineChart(id, title, series, opts = {}) {
  const el = document.getElementById(id);
  if (!el) return;
  const data = align(series.map(s => s.points));
  const npoints = series.reduce((n, s) => n + s.points.length, 0);
  el.dataset.points = String(npoints);
  el.dataset.series = String(series.length);
  const key = series.map(s => s.label).join('\u0001') + '|' + (opts.log ? 'log' : '');
  const existing = charts.get(id);
  if (existing && existing.key === key && existing.plot.root.isConnected) {
    existing.plot.setData(data);
    return;
  }
  if (existing) existing.plot.destroy();
  el.innerHTML = '';
  el.classList.toggle('empty', !npoints);
  if (!npoints) {
    el.innerHTML = `<div class="muted">${esc(title)}: no data yet</div>`;
    charts.delete(id);
    return;
  }
  const width = Math.max(360, el.clientWidth || 600);
  const plot = new uPlot({
    title,
    width,
    height: opts.height || 240,
    scales: {x: {time: false}, y: opts.log ? {distr: 3} : {}},
    axes: [{label: opts.xlabel || 'step'},
           {label: opts.ylabel || '', size: 70, values: (u, vals) => vals.map(fmtTick)}],
    series: [{label: opts.xlabel || 'step'}].concat(series.map((s, i) => ({
      label: s.label,
      stroke: s.color || PALETTE[i % PALETTE.length],
      width: 1.5,
      dash: s.dash,
      spanGaps: true,
      points: {show: s.points.length < 30},
      value: (u, v) => v === null || v === undefined ? '–' : (Math.abs(v) < 0.01 ? v.toExponential(2) : v.toFixed(4)),
    }))),
  }, data, el);
  charts.set(id, {plot, key});
}
function resetCharts() {
  for (const c of charts.values()) c.plot.destroy();
  charts.clear();
}

// Horizontal bar chart in plain HTML: rows [{label, value}], values in [0, 1] or deltas.
function bars(rows, {signed = false, digits = 3} = {}) {
  if (!rows.length) return '<div class="muted">no per-category AP recorded</div>';
  const max = Math.max(1e-9, ...rows.map(r => Math.abs(r.value ?? 0)));
  return `<div class="bars">${rows.map(r => {
    const v = r.value ?? 0;
    let bar;
    if (signed) {
      const w = Math.abs(v) / max * 50;
      const left = v >= 0 ? 50 : 50 - w;
      bar = `<div class="track"><div class="axis" style="left:50%"></div><div class="bar ${deltaClass(v)}" style="left:${left}%;width:${w}%"></div></div>`;
    } else {
      bar = `<div class="track"><div class="bar" style="width:${(v / max * 100).toFixed(1)}%"></div></div>`;
    }
    const text = signed ? fmtDelta(r.value) : fmt(r.value, digits);
    return `<div class="bar-row" data-category="${esc(r.label)}"><span>${esc(r.label)}</span>${bar}<span class="num">${text}</span></div>`;
  }).join('')}</div>`;
}

// ---------------------------------------------------------------- views
// Each view: {load(params) -> {data, changed}, render(data, params)}.
const views = {};

views.sweeps = {
  load: () => api('/api/sweeps'),
  render(d) {
    const rows = d.sweeps.map(s => {
      const c = s.progress;
      const total = Math.max(1, c.total);
      const segs = STATUSES.filter(st => c[st]).map(st =>
        `<span title="${st}: ${c[st]}" style="width:${(c[st] / total * 100).toFixed(1)}%;background:${STATUS_COLORS[st]}"></span>`).join('');
      const name = s.name || '(no sweep)';
      const lb = `#/leaderboard${qs({sweep: s.name})}`;
      return `<tr data-sweep="${esc(name)}">
        <td><a href="${s.name ? lb : '#/leaderboard'}">${esc(name)}</a> ${s.active ? '<span class="tag">live</span>' : ''}</td>
        <td><div class="progress">${segs}</div></td>
        <td class="num">${c.queued}</td><td class="num">${c.running}</td>
        <td class="num">${c.succeeded}</td><td class="num">${c.failed + c.diverged + c.cancelled}</td>
        <td class="num">${c.total}</td>
        <td class="num ap">${s.best ? fmt(s.best.ap) : '–'}</td><td>${s.best_run ? runLink(s.best_run) : ''}</td>
        <td>${fmtTime(s.updated_unix_ms)}</td></tr>`;
    }).join('');
    $view().innerHTML = `<h1>Sweeps</h1>
      <table id="sweeps-table"><thead><tr><th>sweep</th><th>progress</th><th class="num">queued</th><th class="num">running</th>
      <th class="num">done</th><th class="num">failed</th><th class="num">trials</th><th class="num">best AP</th><th>best run</th><th>updated</th></tr></thead>
      <tbody>${rows || '<tr><td colspan="10" class="muted">No runs yet.</td></tr>'}</tbody></table>
      <p class="legend-note">Progress: ${STATUSES.map(s => `<span class="pill s-${s}">${s}</span>`).join(' ')}. Best AP is bbox where recorded.</p>`;
  },
};

views.leaderboard = {
  params(p) {
    return {by: p.by || 'AP', iou: p.iou || 'bbox', sweep: p.sweep || '', status: p.status || '',
            group: p.group || '', top: p.top || '200'};
  },
  load(p) {
    const q = this.params(p);
    return apiAll([`/api/leaderboard${qs(q)}`, '/api/sweeps']);
  },
  render([lb, sw], p) {
    const q = this.params(p);
    const kept = new Set([...document.querySelectorAll('.pick:checked')].map(c => c.value));
    const go = (change) => { location.hash = `#/leaderboard${qs({...q, ...change})}`; };
    window.__lbGo = go;
    const sweepOpts = ['<option value="">all</option>'].concat(sw.sweeps.filter(s => s.name).map(s =>
      `<option ${s.name === q.sweep ? 'selected' : ''}>${esc(s.name)}</option>`)).join('');
    const statusOpts = ['', 'succeeded', 'running', 'succeeded,running', 'failed', 'queued'].map(s =>
      `<option value="${s}" ${s === q.status ? 'selected' : ''}>${s || 'any'}</option>`).join('');
    const groupOpts = lb.groups.map(g => {
      const s = g.settings;
      const label = `${g.run_count} runs · score ${s.score_threshold ?? '?'} · top_k ${s.top_k ?? '?'} · nms ${s.nms_iou ?? '?'} · maxDets ${s.max_dets ?? '?'} · ${s.dataset}`;
      return `<option value="${esc(g.eval_key)}" ${g.selected ? 'selected' : ''}>${esc(label)}</option>`;
    }).join('');
    const head = STATS.map(s => `<th class="num sortable ${s === lb.sort_by ? 'sorted' : ''}" data-stat="${s}" onclick="__lbGo({by:'${s}'})">${s}${s === lb.sort_by ? (lb.order === 'asc' ? ' ▲' : ' ▼') : ''}</th>`).join('');
    const best = {};
    for (const s of STATS) best[s] = Math.max(-1, ...lb.rows.map(r => r.evaluation.stats[s] ?? -1));
    const rows = lb.rows.map(r => `<tr data-run="${esc(r.run.name)}">
        <td><input type="checkbox" class="pick" value="${esc(r.run.name)}" ${kept.has(r.run.name) ? 'checked' : ''}></td>
        <td class="num">${r.rank}</td><td>${runLink(r.run.name)}</td><td>${esc(r.run.sweep)}</td><td>${runPill(r.run)}</td>
        <td>${esc(r.evaluation.checkpoint || '–')}</td>
        ${STATS.map(s => {
          const v = r.evaluation.stats[s];
          return `<td class="num${s === lb.sort_by ? ' ap' : ''}" data-stat="${s}" ${v !== null && v === best[s] ? 'style="color:#1a7f37;font-weight:700"' : ''}>${fmt(v)}</td>`;
        }).join('')}</tr>`).join('');
    $view().innerHTML = `<h1>Leaderboard <span class="muted">· ${esc(lb.iou_type)} · by ${esc(lb.sort_by)}</span></h1>
      <div class="controls">
        <label>IoU <select id="f-iou" onchange="__lbGo({iou:this.value, group:''})">
          <option ${q.iou === 'bbox' ? 'selected' : ''}>bbox</option><option ${q.iou === 'segm' ? 'selected' : ''}>segm</option></select></label>
        <label>sweep <select id="f-sweep" onchange="__lbGo({sweep:this.value, group:''})">${sweepOpts}</select></label>
        <label>status <select id="f-status" onchange="__lbGo({status:this.value})">${statusOpts}</select></label>
        <label>eval settings <select id="f-group" onchange="__lbGo({group:this.value})">${groupOpts}</select></label>
        <button id="compare-btn" disabled>Compare selected</button>
      </div>
      <p class="legend-note">Only evaluations with identical settings are ranked together (${lb.groups.length} comparable group${lb.groups.length === 1 ? '' : 's'}); each run shows its best evaluation in the group. ${lb.total_rows} runs. Click a column to sort.</p>
      <table id="leaderboard-table"><thead><tr><th></th><th class="num">#</th><th>run</th><th>sweep</th><th>status</th><th>checkpoint</th>${head}</tr></thead>
      <tbody>${rows || `<tr><td colspan="${6 + STATS.length}" class="muted">No evaluations match.</td></tr>`}</tbody></table>`;
    const btn = document.getElementById('compare-btn');
    const picks = () => [...document.querySelectorAll('.pick:checked')].map(c => c.value);
    btn.disabled = picks().length < 2;
    document.querySelectorAll('.pick').forEach(c => c.addEventListener('change', () => { btn.disabled = picks().length < 2; }));
    btn.addEventListener('click', () => { location.hash = `#/compare${qs({runs: picks().join(',')})}`; });
  },
};

// Evaluations of one iou type in the run's most used eval-settings group, by step.
function mainGroup(evals, iou) {
  const counts = new Map();
  for (const e of evals) if (e.settings.iou_type === iou) counts.set(e.settings.eval_key, (counts.get(e.settings.eval_key) || 0) + 1);
  let key = null; let n = 0;
  for (const [k, c] of counts) if (c > n) { key = k; n = c; }
  return evals.filter(e => e.settings.eval_key === key);
}
// Detection counts of an evaluation (issue 7): total, mean and max per image; '–' when not recorded.
function countCells(e) {
  const o = e.outputs;
  if (!o) return '<td class="num" data-col="detections">–</td><td class="num" data-col="per-image">–</td><td class="num" data-col="max-per-image">–</td>';
  return `<td class="num" data-col="detections">${o.detections}</td>
    <td class="num" data-col="per-image" title="${o.detections} detections on ${o.images} images">${fmt(o.detections_per_image_mean, 2)}</td>
    <td class="num" data-col="max-per-image">${o.detections_per_image_max ?? '–'}</td>`;
}
function statsTable(evals, caption) {
  if (!evals.length) return `<div class="muted">${esc(caption)}: no evaluations</div>`;
  return `<table class="stats" data-caption="${esc(caption)}"><thead><tr><th>${esc(caption)}</th><th>checkpoint</th>${STATS.map(s => `<th class="num">${s}</th>`).join('')}<th class="num">detections</th><th class="num">per image</th><th class="num">max / image</th></tr></thead><tbody>
    ${evals.map(e => `<tr data-evaluation="${e.id}"><td>${e.rescoring ? '<span class="tag">re-scored</span> ' : ''}score ${e.settings.score_threshold ?? '?'}</td><td>${esc(e.checkpoint || '–')}</td>${STATS.map(s => `<td class="num">${fmt(e.stats[s])}</td>`).join('')}${countCells(e)}</tr>`).join('')}
  </tbody></table>`;
}

// Galleries (issue 7): one per evaluation pass; the bbox and segm evaluations of a pass share it.
function galleryPasses(evals) {
  const seen = new Set();
  const passes = [];
  for (const e of evals) {
    if (!e.gallery) continue;
    const key = `${e.checkpoint}|${e.gallery.dir}`;
    if (seen.has(key)) continue;
    seen.add(key);
    passes.push(e);
  }
  return passes;
}
function galleryLabel(e) {
  const o = e.outputs;
  return `${e.checkpoint || '(no checkpoint)'} · score ${e.settings.score_threshold ?? '?'}${o ? ` · ${o.detections} detections` : ''}`;
}
// Retention deletes gallery files with their checkpoint (docs/retention.md): a deleted image has no
// url and is shown as a placeholder naming the job, never as a broken image.
function galleryFigure(image, caption) {
  const detections = `${image.detections} detection${image.detections === 1 ? '' : 's'}`;
  if (!image.url) {
    return `<figure class="gallery-item deleted" data-image-id="${image.image_id}">
    <div class="gallery-deleted">deleted by retention job ${esc(image.deleted_by_job ?? '?')}</div>
    <figcaption>#${image.image_id} · ${detections}${caption ? ` · ${esc(caption)}` : ''}</figcaption></figure>`;
  }
  return `<figure class="gallery-item" data-image-id="${image.image_id}">
    <a href="${esc(image.url)}" target="_blank"><img src="${esc(image.url)}" alt="image ${image.image_id}"></a>
    <figcaption>#${image.image_id} · ${detections}${caption ? ` · ${esc(caption)}` : ''}</figcaption></figure>`;
}
// "deleted (job 7)" etc. for a gallery or checkpoint whose files retention touched; '' when kept.
function fileStateTag(state, job) {
  if (!state || state === 'kept') return '';
  return `<span class="tag file-${state.replace(' ', '-')}">${esc(state)}${job ? ` (job ${esc(job)})` : ''}</span>`;
}
const gallerySelection = new Map();  // run name -> evaluation id picked on its page
function galleryHtml(e) {
  if (!e) return '<p class="muted">No gallery recorded for this run (evaluations before issue 7, diary imports, or the gallery disabled).</p>';
  const g = e.gallery;
  const meta = `<p class="legend-note" id="gallery-meta">${g.count} images (seed ${g.seed}, ${fmtBytes(g.bytes)}) in <code>${esc(g.dir)}</code> ${fileStateTag(g.state, g.deleted_by_job)}</p>`;
  if (g.state === 'deleted') {
    return `${meta}<p class="muted" id="gallery-deleted" data-evaluation="${e.id}">The gallery's images were deleted by retention job ${esc(g.deleted_by_job)} with their checkpoint's file; the evaluation's numbers stay.</p>`;
  }
  return `${meta}
    <div class="gallery" id="gallery" data-evaluation="${e.id}">${g.images.map(i => galleryFigure(i)).join('')}</div>`;
}

views.run = {
  load(p) {
    const name = p._arg;
    return (async () => {
      const run = await api(`/api/runs/${encodeURIComponent(name)}`);
      const metrics = await api(`/api/runs/${encodeURIComponent(name)}/metrics`);
      return {data: [run.data, metrics.data], changed: run.changed || metrics.changed};
    })();
  },
  render([r, m]) {
    const run = r.run;
    const passes = galleryPasses(r.evaluations);
    const picked = gallerySelection.get(run.name);
    const shown = passes.find(e => e.id === picked) || passes[passes.length - 1];
    const overridden = new Map(r.config_overrides.map(o => [o.key, o]));
    const flat = [];
    (function walk(prefix, v) {
      if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length) {
        for (const k of Object.keys(v).sort()) walk(prefix ? `${prefix}.${k}` : k, v[k]);
      } else flat.push([prefix, v]);
    })('', r.config);
    const configRows = flat.map(([k, v]) => {
      const o = overridden.get(k);
      const old = !o ? '' : o.parent === null ? '<span class="tag">added</span> '
        : `<span class="old">${esc(JSON.stringify(o.parent))}</span>`;
      return `<tr class="${o ? 'override' : ''}"><td>${esc(k)}</td><td>${old}${esc(JSON.stringify(v))}</td></tr>`;
    }).join('') + r.config_overrides.filter(o => o.value === null).map(o =>
      `<tr class="override"><td>${esc(o.key)}</td><td><span class="old">${esc(JSON.stringify(o.parent))}</span> removed</td></tr>`).join('');
    const bbox = mainGroup(r.evaluations, 'bbox');
    const segm = mainGroup(r.evaluations, 'segm');
    const lastBbox = bbox[bbox.length - 1];
    const cats = (lastBbox ? lastBbox.per_category : []).filter(c => c.AP !== null)
      .sort((a, b) => b.AP - a.AP).map(c => ({label: c.name || `#${c.category_id}`, value: c.AP}));
    const cps = r.checkpoints.map(c => `<tr><td>${esc(c.name)}</td><td class="num">${c.step}</td><td class="num">${c.epoch}</td>
      <td class="num">${fmt(c.loss)}</td><td class="num">${fmtBytes(c.bytes)}</td><td>${c.pinned ? '<span class="tag">pinned</span>' : ''}</td>
      <td data-state="${esc(c.state)}">${c.state === 'kept' ? 'kept' : fileStateTag(c.state, c.deleted_by_job ?? c.deleting_job)}</td>
      <td class="num ap">${c.best ? fmt(c.best.ap) : '–'}</td><td><a href="#/lineage${qs({root: c.name})}">forks</a></td></tr>`).join('');
    const rescorings = r.evaluations.filter(e => e.rescoring);
    const parent = run.parent_run ? `forked from ${runLink(run.parent_run)}${run.parent_checkpoint ? ` @ <a href="#/lineage${qs({root: run.parent_checkpoint})}">${esc(run.parent_checkpoint)}</a>` : ''}` : 'no parent';
    const stopped = run.status === 'stopped'
      ? `<tr id="run-stopped"><td>stopped</td><td>at step ${run.stopped_at_step ?? '?'} by early stopping: ${esc(run.stop_reason || '')}</td></tr>` : '';
    $view().innerHTML = `<h1>${esc(run.name)} ${runPill(run)}</h1>
      <div class="card"><table class="kv">${stopped}
        <tr><td>sweep</td><td>${run.sweep ? `<a href="#/leaderboard${qs({sweep: run.sweep})}">${esc(run.sweep)}</a>` : '–'}</td></tr>
        <tr><td>lineage</td><td>${parent}${r.children.length ? ` · ${r.children.length} fork(s): ${r.children.map(c => runLink(c.name)).join(', ')}` : ''}</td></tr>
        <tr><td>worker</td><td>${r.worker ? esc(r.worker) : '<span class="muted">not recorded</span>'}</td></tr>
        <tr><td>config</td><td class="muted">${esc(run.config_fingerprint)}</td></tr>
        <tr><td>updated</td><td>${fmtTime(run.updated_unix_ms)}</td></tr></table></div>
      <h2>Curves</h2><div class="grid">
        <div class="card"><div class="chart" id="chart-loss"></div></div>
        <div class="card"><div class="chart" id="chart-ap"></div></div>
        <div class="card"><div class="chart" id="chart-lr"></div></div>
        <div class="card"><div class="chart" id="chart-ips"></div></div>
        <div id="chart-other-wrap"></div>
      </div>
      <h2>COCO stats</h2><div class="card">${statsTable(bbox, 'bbox')}<br>${statsTable(segm, 'segm')}</div>
      <h2>Predictions</h2><div class="card" id="gallery-card">
        ${passes.length ? `<div class="controls"><label>evaluation <select id="gallery-pick">${passes.map(e => `<option value="${e.id}" ${e === shown ? 'selected' : ''}>${esc(galleryLabel(e))}</option>`).join('')}</select></label></div>` : ''}
        <div id="gallery-body">${galleryHtml(shown)}</div></div>
      <div class="grid">
        <div class="card"><h2>Per-category AP (bbox${lastBbox ? `, ${esc(lastBbox.checkpoint)}` : ''})</h2><div id="per-category">${bars(cats)}</div></div>
        <div class="card"><h2>Config</h2><p class="legend-note">Highlighted rows override the parent run (old value struck through).</p><table class="kv" id="config-table">${configRows}</table></div>
      </div>
      <h2>Checkpoints</h2><table id="checkpoints-table"><thead><tr><th>name</th><th class="num">step</th><th class="num">epoch</th><th class="num">loss</th><th class="num">size</th><th>pinned</th><th>file</th><th class="num">best AP</th><th></th></tr></thead><tbody>${cps || '<tr><td colspan="9" class="muted">none</td></tr>'}</tbody></table>
      ${r.jobs && r.jobs.length ? `<h2>Jobs</h2><table id="jobs-table"><thead><tr><th class="num">job</th><th>kind</th><th>state</th><th class="num">attempts</th><th>worker</th><th>last error</th><th>updated</th></tr></thead><tbody>${r.jobs.map(j => `<tr><td class="num">${j.id}</td><td>${esc(j.kind)}</td><td>${esc(j.state)}</td><td class="num">${j.attempts}/${j.max_attempts}</td><td>${esc(j.worker || '–')}</td><td>${esc(j.last_error || '')}</td><td>${fmtTime(j.updated_unix_ms)}</td></tr>`).join('')}</tbody></table>` : ''}
      <h2>Eval-only re-scorings</h2>${rescorings.length ? statsTable(rescorings, 'bbox/segm re-scored') : '<p class="muted">none</p>'}`;
    const pick = document.getElementById('gallery-pick');
    if (pick) {
      pick.onchange = () => {
        const e = passes.find(x => x.id === Number(pick.value));
        gallerySelection.set(run.name, e.id);
        document.getElementById('gallery-body').innerHTML = galleryHtml(e);
      };
    }
    const series = m.series;
    const keys = Object.keys(series);
    const lossKeys = keys.filter(k => /loss/i.test(k));
    const lrKeys = keys.filter(k => /^lr$|learning.?rate/i.test(k));
    const ipsKeys = keys.filter(k => /images?_?per_?s|img.?s|throughput/i.test(k));
    lineChart('chart-loss', 'Loss terms', lossKeys.map(k => ({label: k, points: series[k]})), {ylabel: 'loss'});
    lineChart('chart-lr', 'Learning rate', lrKeys.map(k => ({label: k, points: series[k]})));
    lineChart('chart-ips', 'Images / s', ipsKeys.map(k => ({label: k, points: series[k]})));
    const apPoints = (evals, stat) => evals.filter(e => e.step !== null && e.stats[stat] !== null).map(e => [e.step, e.stats[stat]]);
    lineChart('chart-ap', 'AP / AR over steps (evaluated checkpoints)', [
      {label: 'bbox AP', points: apPoints(bbox, 'AP')},
      {label: 'bbox AP50', points: apPoints(bbox, 'AP50'), dash: [4, 3]},
      {label: 'bbox AR100', points: apPoints(bbox, 'AR100'), dash: [1, 3]},
      {label: 'segm AP', points: apPoints(segm, 'AP')},
    ].filter(s => s.points.length), {ylabel: 'AP / AR'});
    const other = keys.filter(k => !lossKeys.includes(k) && !lrKeys.includes(k) && !ipsKeys.includes(k));
    if (other.length) {
      document.getElementById('chart-other-wrap').outerHTML = `<div class="card"><div class="chart" id="chart-other"></div></div>`;
      lineChart('chart-other', 'Other metrics', other.map(k => ({label: k, points: series[k]})));
    }
  },
};

views.compare = {
  load(p) {
    const runs = (p.runs || '').split(',').filter(Boolean);
    if (runs.length < 2) return Promise.resolve({data: null, changed: true});
    return (async () => {
      const cmp = await api(`/api/compare${qs({runs: runs.join(',')})}`);
      const ms = await apiAll(runs.map(n => `/api/runs/${encodeURIComponent(n)}/metrics`));
      return {data: [cmp.data, ms.data], changed: cmp.changed || ms.changed};
    })();
  },
  render(d, p) {
    if (!d) {
      $view().innerHTML = `<h1>Compare</h1><p>Pick two or more runs on the <a href="#/leaderboard">leaderboard</a> (tick the boxes, then "Compare selected"), or type names:</p>
        <div class="controls"><input type="text" id="cmp-runs" size="60" placeholder="run-a,run-b"><button id="cmp-go">Compare</button></div>`;
      document.getElementById('cmp-go').onclick = () => { location.hash = `#/compare${qs({runs: document.getElementById('cmp-runs').value.replace(/\s+/g, '')})}`; };
      return;
    }
    const [c, metrics] = d;
    const names = c.runs.map(r => r.name);
    const showAll = p.all === '1';
    const diffRows = c.config_diff.filter(x => showAll || !x.same).map(x =>
      `<tr class="${x.same ? '' : 'override'}"><td>${esc(x.key)}</td>${x.values.map(v => `<td>${v === null ? '<span class="muted">—</span>' : esc(JSON.stringify(v))}</td>`).join('')}</tr>`).join('');
    const statBlock = (iou) => {
      const s = c.stats[iou];
      if (!s) return `<div class="card"><h2>${iou}</h2><p class="muted">no ${iou} evaluations</p></div>`;
      const rows = names.map((n, i) => {
        const e = s.evaluations[i];
        const vals = STATS.map(st => `<td class="num">${e ? fmt(e.stats[st]) : '–'}</td>`).join('');
        const dl = s.deltas[i] ? `<tr class="delta-row" data-run="${esc(n)}"><td class="muted">Δ vs ${esc(names[0])} (points)</td><td></td>${STATS.map(st => {
          const v = s.deltas[i][st];
          return `<td class="num delta" data-stat="${st}" data-delta="${v ?? ''}" style="${deltaStyle(v)}">${fmtDelta(v)}</td>`;
        }).join('')}</tr>` : '';
        return `<tr><td>${runLink(n)}</td><td>${e ? esc(e.checkpoint || '–') : '–'}</td>${vals}</tr>${dl}`;
      }).join('');
      const catRows = s.categories.map(cat => ({label: cat.name || `#${cat.category_id}`, value: cat.deltas[1]}));
      return `<div class="card" id="cmp-${iou}"><h2>${iou} ${s.comparable ? '<span class="tag">comparable</span>' : '<span class="tag" style="background:#fdecea">not comparable</span>'}</h2>
        ${s.comparable ? '' : `<p class="error">Different eval settings: ${esc(s.reason)}</p>`}
        <table class="stats"><thead><tr><th>run</th><th>checkpoint</th>${STATS.map(st => `<th class="num">${st}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table>
        <h2>Per-category AP: ${esc(names[1])} − ${esc(names[0])}</h2>${bars(catRows, {signed: true})}</div>`;
    };
    const galleryBlock = () => {
      const g = c.gallery;
      if (!g) return '<div class="card" id="cmp-gallery"><h2>Predictions</h2><p class="muted">The compared evaluations have no gallery.</p></div>';
      const head = g.runs.map(gr => {
        if (gr.evaluation === null) return `<th>${runLink(gr.run)}<br><span class="muted">no gallery</span></th>`;
        const o = gr.outputs;
        return `<th data-run="${esc(gr.run)}">${runLink(gr.run)}<br><span class="muted">${esc(gr.checkpoint || '–')} · score ${gr.settings.score_threshold ?? '?'}${o ? ` · ${o.detections} detections (${fmt(o.detections_per_image_mean, 2)} / image)` : ''}</span> ${fileStateTag(gr.state, gr.deleted_by_job)}</th>`;
      }).join('');
      const rows = g.image_ids.map(id => `<tr data-image-id="${id}"><td class="num">#${id}</td>${g.runs.map(gr => {
        const image = gr.evaluation === null ? null : gr.images[String(id)];
        return `<td>${image ? galleryFigure(image) : '<span class="muted">not in this gallery</span>'}</td>`;
      }).join('')}</tr>`).join('');
      return `<div class="card" id="cmp-gallery"><h2>Predictions side by side</h2>
        <p class="legend-note">The same validation images (a fixed, seeded sample) with each run's detections drawn, from the evaluations compared above.</p>
        <table class="gallery-compare"><thead><tr><th>image</th>${head}</tr></thead><tbody>${rows}</tbody></table></div>`;
    };
    const allKeys = [...new Set(metrics.flatMap(m => Object.keys(m.series)))].sort();
    const key = p.key && allKeys.includes(p.key) ? p.key : (allKeys.includes('loss/total') ? 'loss/total' : allKeys[0]);
    $view().innerHTML = `<h1>Compare ${names.map(runLink).join(' · ')}</h1>
      <p class="legend-note">Deltas are in AP points (×100) against the first run; green = better, red = worse, stronger colour = larger change (full at 2 points).</p>
      ${statBlock('bbox')}${statBlock('segm')}
      ${galleryBlock()}
      <div class="card"><h2>Curves overlaid</h2><div class="controls"><label>metric <select id="cmp-key">${allKeys.map(k => `<option ${k === key ? 'selected' : ''}>${esc(k)}</option>`).join('')}</select></label></div>
        <div class="chart" id="chart-compare"></div></div>
      <div class="card"><h2>Config ${showAll ? '' : 'differences'}</h2>
        <a href="#/compare${qs({...p, _arg: undefined, all: showAll ? '' : '1'})}">${showAll ? 'show differences only' : 'show all keys'}</a>
        <table id="config-diff"><thead><tr><th>key</th>${names.map(n => `<th>${esc(n)}</th>`).join('')}</tr></thead><tbody>${diffRows || '<tr><td class="muted">identical configs</td></tr>'}</tbody></table></div>`;
    document.getElementById('cmp-key').onchange = (ev) => { location.hash = `#/compare${qs({...p, _arg: undefined, key: ev.target.value})}`; };
    if (key) lineChart('chart-compare', key, metrics.map((m, i) => ({label: names[i], points: m.series[key] || []})));
  },
};

views.lineage = {
  load: (p) => api(`/api/lineage${qs({root: p.root || ''})}`),
  render(d, p) {
    const node = (n) => {
      const best = n.best ? `<span class="ap" title="best ${esc(n.best.iou_type)} AP">${fmt(n.best.ap)}</span>` : '<span class="muted">no eval</span>';
      const label = n.type === 'run'
        ? `<span class="node run" data-node="${esc(n.name)}">${runLink(n.name)} ${pill(n.status)} ${best}</span>`
        : `<span class="node checkpoint" data-node="${esc(n.name)}">⎇ <a href="#/lineage${qs({root: n.name})}">${esc(n.name)}</a> <span class="muted">step ${n.step}</span> ${n.pinned ? '<span class="tag">pinned</span>' : ''} ${best}</span>`;
      const kids = n.children && n.children.length ? `<ul>${n.children.map(node).join('')}</ul>` : '';
      return `<li>${label}${kids}</li>`;
    };
    $view().innerHTML = `<h1>Lineage</h1>
      <div class="controls"><label>root (run or checkpoint prefix, e.g. step1066300) <input type="text" id="lin-root" value="${esc(p.root || '')}"></label><button id="lin-go">Show</button>
      ${p.root ? '<a href="#/lineage">all roots</a>' : ''}</div>
      <p class="legend-note">Runs hold their evaluated, pinned or forked checkpoints (⎇); a run forked from a checkpoint hangs below it. Numbers are each node's best AP (bbox where recorded). ${d.nodes} nodes${d.truncated ? ' (truncated)' : ''}.</p>
      <div class="tree card" id="lineage-tree"><ul>${d.roots.map(node).join('')}</ul></div>`;
    document.getElementById('lin-go').onclick = () => { location.hash = `#/lineage${qs({root: document.getElementById('lin-root').value.trim()})}`; };
  },
};

// ---------------------------------------------------------------- router + live updates
let current = null;  // {name, params, timer}
function parseHash() {
  const h = location.hash.replace(/^#\/?/, '');
  const [path, query] = h.split('?');
  const parts = path.split('/');
  const params = Object.fromEntries(new URLSearchParams(query || ''));
  let name = parts[0] || 'sweeps';
  if (name === 'run') params._arg = decodeURIComponent(parts.slice(1).join('/'));
  if (!views[name]) name = 'sweeps';
  return {name, params};
}
async function refresh(initial) {
  const route = current;
  const live = document.getElementById('live');
  try {
    const {data, changed} = await views[route.name].load(route.params);
    if (route !== current) return;
    if (initial || changed) views[route.name].render(data, route.params);
    live.classList.remove('stale');
    live.textContent = `● live · ${new Date().toLocaleTimeString()}`;
    document.body.dataset.loaded = route.name;
  } catch (e) {
    if (route !== current) return;
    if (initial) $view().innerHTML = errorBox(e);
    live.classList.add('stale');
    live.textContent = `● ${e.message}`;
    document.body.dataset.loaded = route.name;
  }
}
function navigate() {
  if (current && current.timer) clearInterval(current.timer);
  resetCharts();
  const {name, params} = parseHash();
  current = {name, params, timer: null};
  document.querySelectorAll('nav a').forEach(a => a.classList.toggle('active', a.dataset.nav === name));
  delete document.body.dataset.loaded;
  refresh(true);
  current.timer = setInterval(() => { if (!document.hidden) refresh(false); }, POLL_MS);
}
window.addEventListener('hashchange', navigate);
window.addEventListener('DOMContentLoaded', navigate);
