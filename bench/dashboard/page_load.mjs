// Leaderboard page load time in headless Chromium (playwright-core, /usr/bin/chromium): from
// navigation start until the table is rendered (body[data-loaded=leaderboard]). First load is
// cold (browser cache empty), the others reuse the browser; prints the median.
//   node page_load.mjs http://127.0.0.1:PORT/ [repeats]
import {chromium} from '../../web/node_modules/playwright-core/index.mjs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const base = process.argv[2];
const repeats = Number(process.argv[3] || 7);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ablate-pageload-'));
const ctx = await chromium.launchPersistentContext(dir, {
  executablePath: process.env.ABLATE_CHROMIUM || '/usr/bin/chromium', headless: true,
  viewport: {width: 1400, height: 900},
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await ctx.newPage();
const times = [];
for (let i = 0; i < repeats; i++) {
  const t0 = Date.now();
  await page.goto(`${base}#/leaderboard?top=${i % 2 ? 100 : 200}&r=${i}`);
  await page.waitForFunction(() => document.body.dataset.loaded === 'leaderboard', null, {timeout: 60000});
  const ms = Date.now() - t0;
  const rows = await page.$$eval('#leaderboard-table tbody tr', r => r.length);
  times.push(ms);
  console.log(`page load ${i + 1}: ${ms} ms (${rows} rows)`);
}
await ctx.close();
fs.rmSync(dir, {recursive: true, force: true});
const sorted = [...times].sort((a, b) => a - b);
console.log(`leaderboard page load: first ${times[0]} ms, median ${sorted[Math.floor(sorted.length / 2)]} ms over ${repeats}`);
