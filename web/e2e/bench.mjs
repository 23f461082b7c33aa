// Edit-latency benchmark of the playground in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core), for one build or several side by side:
//
//   node bench.mjs [DIST ...]        (default: ../../dist, from `cargo xtask build`)
//   ROUNDS=5 EDITS=21 node bench.mjs ../../dist /tmp/baseline-dist
//
// For each build and round a fresh page is opened and, in the default scenario and in the
// 38-link one, two kinds of edit are typed (`insertText` over a selection: a trusted input
// through the browser's editing): retyping a program's attach type (every view changes) and
// typing in a program's text (only that program's fixups change). Each edit is timed inside
// the page as
// - busy: main-thread work for the edit, what must fit in one 16.7 ms frame: from
//   `beforeinput` until the app's render is done (wasm, DOM updates, forced style and layout),
//   plus the next frame's rendering (its requestAnimationFrame callback to the task after it:
//   style, layout, paint, commit), without the idle wait for the frame;
// - toFrame: from `beforeinput` to the end of that frame, wait included.
// A round reports the median of its edits; the summary gives the median and range of rounds.
// Rounds alternate between builds, so a slow spell of the machine hits all of them.
import http from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const dists = (process.argv.slice(2).length ? process.argv.slice(2) : [path.resolve(import.meta.dirname, "../../dist")]).map((d) => path.resolve(d));
const rounds = Number(process.env.ROUNDS || 3);
const edits = Number(process.env.EDITS || 15);
const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".css": "text/css" };

for (const d of dists) if (!fs.existsSync(path.join(d, "web_bg.wasm"))) throw new Error(`${d}: no web_bg.wasm (cargo xtask build)`);
const servers = await Promise.all(dists.map(async (dist) => {
  const server = http.createServer((req, res) => {
    const p = req.url.split(/[?#]/)[0];
    const file = path.join(dist, p === "/" ? "index.html" : p);
    if (!file.startsWith(dist) || !fs.existsSync(file)) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { "Content-Type": types[path.extname(file)] || "application/octet-stream" });
    res.end(fs.readFileSync(file));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return server;
}));
const ctx = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(os.tmpdir(), "fsl-bench-")), {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

// Types words[k % 2] over the text between `after` and the next `until`, `edits` times.
async function timeEdits(page, { after, until, words, changes }) {
  const busy = [], toFrame = [];
  for (let k = 0; k < edits; k++) {
    await page.evaluate(({ after, until, changes }) => {
      const ta = document.querySelector("#scenario");
      const a = ta.value.indexOf(after) + after.length;
      const b = ta.value.indexOf(until, a);
      if (a < after.length || b < a) throw new Error(`no "${after}" in the scenario`);
      ta.focus();
      ta.setSelectionRange(a, b);
      const was = document.querySelector(changes).innerText;
      window.__edit = new Promise((resolve, reject) => {
        ta.addEventListener("beforeinput", () => {
          const t0 = performance.now();
          let rendered = null;
          const mo = new MutationObserver(() => { if (rendered === null) rendered = performance.now(); });
          mo.observe(document.querySelector("main"), { subtree: true, childList: true, characterData: true, attributes: true });
          requestAnimationFrame(() => {
            const frame = performance.now();
            setTimeout(() => {
              const end = performance.now();
              mo.disconnect();
              if (rendered === null || document.querySelector(changes).innerText === was) reject(new Error(`${changes} did not change`));
              else resolve({ busy: rendered - t0 + (end - frame), toFrame: end - t0 });
            }, 0);
          });
        }, { once: true, capture: true });
      });
    }, { after, until, changes });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 20))));
    await page.keyboard.insertText(words[k % 2]);
    const m = await page.evaluate(() => window.__edit);
    busy.push(m.busy);
    toFrame.push(m.toFrame);
  }
  return { busy: median(busy), toFrame: median(toFrame) };
}

const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];

async function round(server) {
  const page = await ctx.newPage();
  const t0 = Date.now();
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await page.waitForSelector("#listing tr", { timeout: 20000 });
  const out = { load: Date.now() - t0 };
  out.attach = await timeEdits(page, { after: 'name = "test11"\nattach = "', until: '"', words: ["fexit", "fentry"], changes: "#listing" });
  out.typing = await timeEdits(page, { after: "*(u64 *)(r9 +", until: ")", words: ["8", "0"], changes: "#programs" });
  const value = await page.$$eval("#gallery option", (os) => os.find((o) => /38-link/.test(o.textContent)).value);
  await page.selectOption("#gallery", value);
  await page.waitForFunction(() => /38\/38 slots/.test(document.querySelector("#links")?.innerText ?? ""));
  out.attach38 = await timeEdits(page, { after: 'name = "s01"\nattach = "', until: '"', words: ["fentry", "fsession"], changes: "#listing" });
  out.typing38 = await timeEdits(page, { after: 'name = "s02"\nattach = "fsession"\ncookie = 2\ntext = "r0 = 0\\n', until: '"', words: ["r1 = 5\\nexit", "exit"], changes: "#programs" });
  await page.close();
  return out;
}

const results = dists.map(() => []);
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < dists.length; i++) results[i].push(await round(servers[i]));
}
const fmt = (v) => `${median(v).toFixed(1)} (${Math.min(...v).toFixed(1)}–${Math.max(...v).toFixed(1)})`;
console.log(`${rounds} rounds of ${edits} edits each; median (range) of the rounds' medians, ms`);
for (let i = 0; i < dists.length; i++) {
  const rs = results[i];
  console.log(`\n${dists[i]}`);
  console.log(`  page load to first render        ${fmt(rs.map((x) => x.load))}`);
  for (const [k, label] of [["attach", "default, attach type retyped"], ["typing", "default, typing in a program"], ["attach38", "38 links, attach type retyped"], ["typing38", "38 links, typing in a program"]]) {
    console.log(`  ${label.padEnd(32)} busy ${fmt(rs.map((x) => x[k].busy))}   toFrame ${fmt(rs.map((x) => x[k].toFrame))}`);
  }
}
await ctx.close();
for (const s of servers) s.close();
