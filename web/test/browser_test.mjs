// Browser test of the dashboard: real server processes on temporary databases, Debian's chromium
// driven by playwright-core. Checks the content that matters and saves screenshots.
//
// Phase 1 (always): the demo history (dashboard/demo_fixture.h, figures chosen by hand) served by
//   `ablate server --http` when the CLI has that flag, otherwise by `ablate-dashboard serve`.
// Phase 2 (when `ablate server --http` and `ablate import-log` exist): a coordinator on a fresh
//   database, ../shared/samples/tuning-diary.txt imported through the real CLI; the leaderboard's
//   top rows are checked against the AP values written in the diary.
//
// Env: ABLATE_BIN_DIR (binaries), ABLATE_SOURCE_DIR (repo root), ABLATE_BUILD_DIR (screenshots go
// to $ABLATE_BUILD_DIR/dashboard-screenshots). Exit 0 on success, 1 on failure.
import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {chromium} from 'playwright-core';

const BIN = process.env.ABLATE_BIN_DIR || path.resolve('build/bin');
const SRC = process.env.ABLATE_SOURCE_DIR || path.resolve('.');
const BUILD = process.env.ABLATE_BUILD_DIR || path.dirname(BIN);
const SHOTS = path.join(BUILD, 'dashboard-screenshots');
const CHROMIUM = process.env.ABLATE_CHROMIUM || '/usr/bin/chromium';
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'ablate-browser-'));
const children = [];
let failures = 0;

function log(...a) { console.log('[browser-test]', ...a); }
function check(cond, what) {
  if (cond) { log('ok  ', what); } else { failures++; console.error('[browser-test] FAIL', what); }
}
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const {port} = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}
function run(cmd, args) {
  const r = spawnSync(cmd, args, {encoding: 'utf8', timeout: 30000});
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}
// Starts a long-running process and waits until `url` answers.
async function startServer(cmd, args, url) {
  const child = spawn(cmd, args, {stdio: ['ignore', 'pipe', 'pipe']});
  children.push(child);
  let out = '';
  child.stdout.on('data', d => { out += d; });
  child.stderr.on('data', d => { out += d; });
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`${cmd} exited ${child.exitCode}: ${out}`);
    try { const r = await fetch(url); if (r.ok) return {child, output: () => out}; } catch { /* not yet */ }
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error(`${cmd} did not answer ${url} within 10 s: ${out}`);
}
function hasHttpFlag() {
  const ablate = path.join(BIN, 'ablate');
  if (!fs.existsSync(ablate)) return false;
  const r = spawnSync(ablate, ['server', '--help'], {encoding: 'utf8'});
  return /--http\b/.test((r.stdout || '') + (r.stderr || ''));
}
// Waits until the single-page app has rendered the current route.
async function loaded(page, name) {
  await page.waitForFunction(n => document.body.dataset.loaded === n, name, {timeout: 10000});
}
// Counts canvas pixels that are not transparent/white: > 0 means something was drawn.
async function drawnPixels(page, selector) {
  return page.$eval(`${selector} canvas`, c => {
    const ctx = c.getContext('2d');
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && (d[i] < 240 || d[i + 1] < 240 || d[i + 2] < 240)) n++;
    return n;
  });
}
const text = (page, sel) => page.$eval(sel, e => e.textContent.trim());

async function demoPhase(browser, useCoordinator) {
  const db = path.join(TMP, 'demo.db');
  log(run(path.join(BIN, 'ablate-dashboard'), ['demo', '--db', db]).trim());
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  if (useCoordinator) {
    const grpc = await freePort();
    await startServer(path.join(BIN, 'ablate'), ['server', '--db', db, '--listen', `127.0.0.1:${grpc}`, '--http', `127.0.0.1:${port}`], `${base}/api/sweeps`);
  } else {
    log('`ablate server --http` is not available in this build: serving the demo with ablate-dashboard serve');
    await startServer(path.join(BIN, 'ablate-dashboard'), ['serve', '--db', db, '--http', `127.0.0.1:${port}`, '--snapshot-ttl-ms', '500'], `${base}/api/sweeps`);
  }
  const page = await browser.newPage();
  const consoleErrors = [];
  page.on('pageerror', e => consoleErrors.push(String(e)));
  page.on('console', m => { if (m.type() === 'error') consoleErrors.push(m.text()); });

  // Sweeps: progress per status.
  await page.goto(`${base}/#/sweeps`);
  await loaded(page, 'sweeps');
  const sweepRow = 'tr[data-sweep="focal-sweep"]';
  const cells = await page.$$eval(`${sweepRow} td`, tds => tds.map(t => t.textContent.trim()));
  check(cells[2] === '1' && cells[3] === '1' && cells[4] === '3' && cells[5] === '1' && cells[6] === '6',
        `sweeps: focal-sweep queued/running/done/failed/trials = 1/1/3/1/6 (got ${cells.slice(2, 7).join('/')})`);
  check(cells[7] === '0.312', `sweeps: best AP 0.312 (got ${cells[7]})`);
  await page.screenshot({path: path.join(SHOTS, 'sweeps.png'), fullPage: true});

  // Live update without reload: a trial starts running in the store.
  run(path.join(BIN, 'ablate-dashboard'), ['test-set-status', '--db', db, '--run', 'focal-g3.0-lr1e-3', '--status', 'running']);
  const navigations = [];
  page.on('framenavigated', f => navigations.push(f.url()));
  try {
    await page.waitForFunction(sel => {
      const tds = document.querySelectorAll(`${sel} td`);
      return tds.length > 3 && tds[3].textContent.trim() === '2';
    }, sweepRow, {timeout: 10000});
    check(navigations.length === 0, 'sweeps: running count went 1 -> 2 live, without a page reload');
  } catch {
    check(false, 'sweeps: running count went 1 -> 2 live within 10 s');
  }

  // Leaderboard: top rows and their AP.
  await page.goto(`${base}/#/leaderboard`);
  await loaded(page, 'leaderboard');
  const rows = await page.$$eval('#leaderboard-table tbody tr', trs => trs.map(tr => ({
    run: tr.dataset.run, ap: tr.querySelector('td[data-stat="AP"]').textContent.trim()})));
  check(rows.length === 6, `leaderboard: 6 runs in the largest comparable group (got ${rows.length})`);
  check(rows[0]?.run === 'focal-g2.0-lr1e-3' && rows[0]?.ap === '0.312', `leaderboard: #1 focal-g2.0-lr1e-3 AP 0.312 (got ${rows[0]?.run} ${rows[0]?.ap})`);
  check(rows[1]?.run === 'focal-g1.5-lr1e-3' && rows[1]?.ap === '0.305', `leaderboard: #2 focal-g1.5-lr1e-3 AP 0.305 (got ${rows[1]?.run} ${rows[1]?.ap})`);
  check(rows[3]?.run === 'base-r50' && rows[3]?.ap === '0.274', `leaderboard: #4 base-r50 AP 0.274 (got ${rows[3]?.run} ${rows[3]?.ap})`);
  await page.screenshot({path: path.join(SHOTS, 'leaderboard.png'), fullPage: true});
  // Sort by another stat via its header; segm via the selector.
  await page.click('th[data-stat="APs"]');
  await page.waitForFunction(() => location.hash.includes('by=APs') && document.body.dataset.loaded === 'leaderboard');
  check((await text(page, 'th.sorted')).startsWith('APs'), 'leaderboard: clicking APs sorts by APs');
  await page.selectOption('#f-iou', 'segm');
  await page.waitForFunction(() => location.hash.includes('iou=segm') && document.body.dataset.loaded === 'leaderboard');
  const segmTop = await page.$eval('#leaderboard-table tbody tr td[data-stat="AP"]', e => e.textContent.trim());
  check(segmTop === '0.281', `leaderboard segm: best AP 0.281 (got ${segmTop})`);

  // Run page: curves drawn with data, per-category bars, checkpoints.
  await page.goto(`${base}/#/run/focal-g2.0-lr1e-3`);
  await loaded(page, 'run');
  const lossPoints = Number(await page.$eval('#chart-loss', e => e.dataset.points));
  check(lossPoints === 5 * 60, `run: loss chart holds 5 terms x 60 steps = 300 points (got ${lossPoints})`);
  const pixels = await drawnPixels(page, '#chart-loss');
  check(pixels > 2000, `run: loss chart canvas has drawn pixels (${pixels})`);
  const apPoints = Number(await page.$eval('#chart-ap', e => e.dataset.points));
  check(apPoints === 12, `run: AP/AR chart has 3 checkpoints x 4 series = 12 points (got ${apPoints})`);
  const cats = await page.$$eval('#per-category .bar-row', rs => rs.map(r => r.dataset.category));
  check(cats.join(',') === 'circle,square,triangle,star', `run: per-category AP sorted best first (got ${cats.join(',')})`);
  const cpRows = await page.$$eval('#checkpoints-table tbody tr', r => r.length);
  check(cpRows === 3, `run: 3 checkpoints (got ${cpRows})`);
  const cpStates = await page.$$eval('#checkpoints-table tbody td[data-state]', tds => tds.map(t => t.textContent.trim()));
  check(cpStates.join(',') === 'kept,kept,kept', `run: each checkpoint's file state is shown (got ${cpStates.join(',')})`);
  const override = await page.$$eval('#config-table tr.override td:first-child', tds => tds.map(t => t.textContent));
  check(override.includes('conf_loss') && override.includes('focal_loss_gamma'), `run: config overrides from parent highlighted (${override.join(', ')})`);
  await page.screenshot({path: path.join(SHOTS, 'run.png'), fullPage: true});

  // Issue 7: detection counts per evaluation, and the predictions gallery. The demo's best trial
  // evaluated step 6000 at score_threshold 0.05 (912 detections = 600 + 1000 x 0.312) and re-scored
  // it at 0.005 (9400), both on 200 images (dashboard/demo_fixture.h).
  const bboxRows = await page.$$eval('table.stats[data-caption="bbox"] tbody tr', trs => trs.map(tr => ({
    ckpt: tr.cells[1].textContent.trim(),
    dets: tr.querySelector('td[data-col="detections"]').textContent.trim(),
    mean: tr.querySelector('td[data-col="per-image"]').textContent.trim()})));
  const last = bboxRows[bboxRows.length - 1] || {};
  check(last.dets === '912' && last.mean === '4.56', `run: detections of the step-6000 bbox evaluation at 0.05 = 912, 4.56 / image (got ${last.dets}, ${last.mean})`);
  const rescoredRow = await page.$$eval('table.stats[data-caption="bbox/segm re-scored"] tbody tr', trs => trs.map(tr => ({
    ckpt: tr.cells[1].textContent.trim(),
    dets: tr.querySelector('td[data-col="detections"]').textContent.trim(),
    max: tr.querySelector('td[data-col="max-per-image"]').textContent.trim()})));
  check(rescoredRow.length === 1 && rescoredRow[0].dets === '9400' && rescoredRow[0].max === '100' && rescoredRow[0].ckpt === last.ckpt,
        `run: the 0.005 re-scoring of the same checkpoint shows 9400 detections, max 100 / image (got ${JSON.stringify(rescoredRow)} vs ${last.ckpt})`);
  const imagesLoaded = sel => page.waitForFunction(s => {
    const imgs = [...document.querySelectorAll(s)];
    return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0);
  }, sel, {timeout: 10000}).then(() => true, () => false);
  const galleryOptions = await page.$$eval('#gallery-pick option', os => os.map(o => ({value: o.value, text: o.textContent, selected: o.selected})));
  check(galleryOptions.length === 4, `run: 4 evaluation passes with a gallery to pick from (got ${galleryOptions.length})`);
  const picked = galleryOptions.find(o => o.selected) || {};
  check(/score 0\.005 · 9400 detections/.test(picked.text || ''), `run: the latest pass (the re-scoring) is shown first (got ${picked.text})`);
  await page.$eval('#gallery-card', e => e.scrollIntoView());
  check(await imagesLoaded('#gallery img'), 'run: the 4 gallery JPEGs are served and decoded');
  const denseIds = await page.$$eval('#gallery .gallery-item', fs => fs.map(f => f.dataset.imageId));
  check(denseIds.join(',') === '12,139,285,632', `run: gallery image ids 12,139,285,632 (got ${denseIds.join(',')})`);
  const captionDetections = () => page.$$eval('#gallery figcaption', fs => fs.reduce((n, f) => n + Number((/· (\d+) detection/.exec(f.textContent) || [0, 0])[1]), 0));
  const denseDrawn = await captionDetections();
  const normal = galleryOptions.find(o => /step0006000.*score 0\.05 · 912 detections/.test(o.text));
  check(!!normal, `run: the step-6000 pass at 0.05 can be picked (${galleryOptions.map(o => o.text).join(' | ')})`);
  if (normal) {
    await page.selectOption('#gallery-pick', normal.value);
    await page.waitForFunction(v => document.getElementById('gallery')?.dataset.evaluation === v, normal.value);
    check(await imagesLoaded('#gallery img'), 'run: picking another pass loads its images');
    const normalDrawn = await captionDetections();
    check(denseDrawn > 3 * normalDrawn && normalDrawn > 0, `run: the re-scoring's images carry far more detections (${denseDrawn} vs ${normalDrawn})`);
  }
  await (await page.$('#gallery-card')).screenshot({path: path.join(SHOTS, 'run-gallery.png')});
  // Retention (docs/retention.md "Galleries"): a deleted gallery, as /api/runs/{name} reports one
  // (state "deleted", images without url), renders as a note naming the job, never as broken
  // images; a single deleted image renders as a placeholder.
  const deletedHtml = await page.evaluate(() => galleryHtml({id: 5, gallery: {count: 1, seed: 0, bytes: 10, dir: '/w/g',
    state: 'deleted', deleted_by_job: 7, images: [{image_id: 12, detections: 1, bytes: 10, state: 'deleted', deleted_by_job: 7, url: null}]}}));
  check(/deleted by retention job 7/.test(deletedHtml) && !/<img/.test(deletedHtml), `run: a deleted gallery names the job and shows no image (got ${deletedHtml})`);
  const placeholder = await page.evaluate(() => galleryFigure({image_id: 12, detections: 1, url: null, deleted_by_job: 7}));
  check(/deleted by retention job 7/.test(placeholder) && !/<img/.test(placeholder), `run: a deleted image is a placeholder (got ${placeholder})`);

  // Compare: deltas coloured by sign.
  await page.goto(`${base}/#/compare?runs=focal-g1.5-lr1e-3,focal-g2.0-lr1e-3`);
  await loaded(page, 'compare');
  const delta = await page.$eval('#cmp-bbox tr.delta-row td[data-stat="AP"]', e => ({t: e.textContent.trim(), bg: getComputedStyle(e).backgroundColor}));
  check(delta.t === '+0.7', `compare: bbox AP delta +0.7 points (0.312 - 0.305) (got ${delta.t})`);
  check(/rgba\(26, 127, 55/.test(delta.bg), `compare: positive delta is green (${delta.bg})`);
  const segmDelta = await text(page, '#cmp-segm tr.delta-row td[data-stat="AP"]');
  check(segmDelta === '+0.5', `compare: segm AP delta +0.5 (got ${segmDelta})`);
  const cmpPoints = Number(await page.$eval('#chart-compare', e => e.dataset.points));
  check(cmpPoints === 120, `compare: loss/total overlaid for 2 runs x 60 steps (got ${cmpPoints})`);
  check(await drawnPixels(page, '#chart-compare') > 1000, 'compare: overlay chart drawn');
  const diffKeys = await page.$$eval('#config-diff tbody td:first-child', tds => tds.map(t => t.textContent));
  check(diffKeys.join(',') === 'focal_loss_gamma', `compare: config diff shows only focal_loss_gamma (got ${diffKeys.join(',')})`);
  // Issue 7: the same validation images of both runs side by side.
  const cmpRows = await page.$$eval('#cmp-gallery tbody tr', trs => trs.map(tr => ({
    id: tr.dataset.imageId, figures: [...tr.querySelectorAll('.gallery-item')].map(f => f.dataset.imageId)})));
  check(cmpRows.map(r => r.id).join(',') === '12,139,285,632' && cmpRows.every(r => r.figures.length === 2 && r.figures.every(f => f === r.id)),
        `compare: gallery rows 12,139,285,632, each with both runs' image of that id (got ${JSON.stringify(cmpRows)})`);
  const cmpHead = await page.$$eval('#cmp-gallery thead th[data-run]', ths => ths.map(t => t.textContent));
  check(cmpHead.length === 2 && /912 detections/.test(cmpHead[1]), `compare: gallery headers name each run's evaluation and detections (got ${cmpHead.join(' | ')})`);
  await page.$eval('#cmp-gallery', e => e.scrollIntoView());
  check(await imagesLoaded('#cmp-gallery img'), 'compare: all 8 gallery images load');
  await page.screenshot({path: path.join(SHOTS, 'compare.png'), fullPage: true});

  // Lineage below a checkpoint prefix.
  await page.goto(`${base}/#/lineage?root=step0003000`);
  await loaded(page, 'lineage');
  const forks = await page.$$eval('#lineage-tree > ul > li > ul > li > .node.run', n => n.length);
  check(forks === 6, `lineage: 6 runs fork from step0003000 (got ${forks})`);
  const rootAp = await text(page, '#lineage-tree > ul > li > .node .ap');
  check(rootAp === '0.274', `lineage: root checkpoint best AP 0.274 (got ${rootAp})`);
  await page.screenshot({path: path.join(SHOTS, 'lineage.png'), fullPage: true});

  // A malformed API query gets a clear 400.
  const bad = await fetch(`${base}/api/leaderboard?by=mAP`);
  const badBody = await bad.json();
  check(bad.status === 400 && /parameter 'by'/.test(badBody.error), `api: by=mAP -> 400 naming 'by' (${bad.status} ${badBody.error})`);
  const noImage = await fetch(`${base}/api/gallery/1/424242`);
  check(noImage.status === 404, `api: an unregistered gallery image -> 404 (got ${noImage.status})`);
  const post = await fetch(`${base}/api/runs/base-r50`, {method: 'POST', body: '{}'});
  check(post.status === 405, `api: POST -> 405 (got ${post.status})`);
  check(consoleErrors.length === 0, `no page errors (${consoleErrors.join(' | ')})`);
  await page.close();
}

async function diaryPhase(browser) {
  const db = path.join(TMP, 'diary.db');
  const grpc = await freePort();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  await startServer(path.join(BIN, 'ablate'), ['server', '--db', db, '--listen', `127.0.0.1:${grpc}`, '--http', `127.0.0.1:${port}`], `${base}/api/sweeps`);
  const diary = path.join(SRC, '..', 'shared', 'samples', 'tuning-diary.txt');
  log(run(path.join(BIN, 'ablate'), ['import-log', '--server', `127.0.0.1:${grpc}`, diary]).trim());
  const page = await browser.newPage();
  await new Promise(r => setTimeout(r, 1200));  // past the snapshot TTL
  // The import's runs form the sweep named after the file's stem.
  await page.goto(`${base}/#/sweeps`);
  await loaded(page, 'sweeps');
  const sweepCells = await page.$$eval('tr[data-sweep="tuning-diary"] td', tds => tds.map(t => t.textContent.trim()));
  check(sweepCells.length > 7 && sweepCells[7] === '0.268', `diary sweeps: sweep tuning-diary listed, best AP 0.268 (got ${sweepCells.join(' | ')})`);
  await page.screenshot({path: path.join(SHOTS, 'sweeps-diary.png'), fullPage: true});
  await page.goto(`${base}/#/leaderboard`);
  await loaded(page, 'leaderboard');
  const rows = await page.$$eval('#leaderboard-table tbody tr', trs => trs.map(tr => tr.querySelector('td[data-stat="AP"]').textContent.trim()));
  // The diary's score_threshold=0.05 evaluations: focal 0.268, ohem 0.262, ciou 0.259, baseline 0.231.
  check(rows.slice(0, 4).join(',') === '0.268,0.262,0.259,0.231', `diary leaderboard: top AP 0.268,0.262,0.259,0.231 (got ${rows.join(',')})`);
  await page.screenshot({path: path.join(SHOTS, 'leaderboard-diary.png'), fullPage: true});
  // A diary run: its evaluated checkpoint and the eval-only re-scoring at score_threshold 0.005.
  await page.goto(`${base}/#/run/tuning-diary-3`);
  await loaded(page, 'run');
  const bboxAp = await page.$eval('table.stats[data-caption="bbox"] tbody tr td:nth-child(3)', e => e.textContent.trim());
  check(bboxAp === '0.268', `diary run: bbox AP 0.268 at step0215000 (got ${bboxAp})`);
  const rescored = await page.$$eval('table.stats[data-caption="bbox/segm re-scored"] tbody tr td:nth-child(3)', tds => tds.map(t => t.textContent.trim()));
  check(rescored.join(',') === '0.271', `diary run: re-scoring AP 0.271 listed (got ${rescored.join(',')})`);
  await page.screenshot({path: path.join(SHOTS, 'run-diary.png'), fullPage: true});

  // A sweep submitted through the scheduler (no worker attached): its trials show as queued,
  // and the scheduler's jobs reach /metrics.
  const spec = path.join(SRC, 'sweeps', 'focal-alpha.yaml');
  if (fs.existsSync(spec) && /submit/.test(spawnSync(path.join(BIN, 'ablate'), ['--help'], {encoding: 'utf8'}).stdout || '')) {
    log(run(path.join(BIN, 'ablate'), ['submit', '--server', `127.0.0.1:${grpc}`, spec]).trim().split('\n')[0]);
    await page.goto(`${base}/#/sweeps`);
    await page.waitForFunction(() => document.querySelector('tr[data-sweep="focal-alpha"]'), null, {timeout: 10000});
    const cells = await page.$$eval('tr[data-sweep="focal-alpha"] td', tds => tds.map(t => t.textContent.trim()));
    check(cells[2] === '3' && cells[6] === '3', `submitted sweep focal-alpha: 3 trials queued (got ${cells.slice(2, 7).join('/')})`);
    await page.screenshot({path: path.join(SHOTS, 'sweeps-submitted.png'), fullPage: true});
    const metrics = await (await fetch(`${base}/metrics`)).text();
    check(/^ablate_jobs\{state="queued"\} 3$/m.test(metrics), 'metrics: ablate_jobs{state="queued"} 3 from the scheduler');
    check(/^ablate_runs\{status="succeeded"\} 4$/m.test(metrics), 'metrics: ablate_runs{status="succeeded"} 4 (the diary runs)');
  } else {
    log('NOTE: `ablate submit` or sweeps/focal-alpha.yaml missing: submitted-sweep check not run');
  }
  await page.goto(`${base}/#/lineage?root=step0200000`);
  await loaded(page, 'lineage');
  const forks = await page.$$eval('#lineage-tree > ul > li > ul > li > .node.run', n => n.length);
  check(forks === 2, `diary lineage: 2 runs fork from step0200000 (got ${forks})`);
  await page.screenshot({path: path.join(SHOTS, 'lineage-diary.png'), fullPage: true});
  await page.close();
}

async function main() {
  fs.mkdirSync(SHOTS, {recursive: true});
  // A fresh profile directory per run (Playwright passes it as --user-data-dir).
  const browser = await chromium.launchPersistentContext(path.join(TMP, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: {width: 1400, height: 900},
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const coordinator = hasHttpFlag();
    await demoPhase(browser, coordinator);
    if (coordinator) {
      await diaryPhase(browser);
    } else {
      log('NOTE: diary phase not run: `ablate server --http` / `ablate import-log` are not in this build yet');
    }
  } finally {
    await browser.close();
  }
  log(`screenshots in ${SHOTS}`);
}

main().then(() => {
  for (const c of children) c.kill('SIGTERM');
  fs.rmSync(TMP, {recursive: true, force: true});
  if (failures) { console.error(`[browser-test] ${failures} check(s) failed`); process.exit(1); }
  log('all checks passed');
  process.exit(0);
}, (e) => {
  for (const c of children) c.kill('SIGTERM');
  console.error('[browser-test] ERROR', e);
  process.exit(1);
});
