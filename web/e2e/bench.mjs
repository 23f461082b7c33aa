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
import path from "node:path";
import { serve, launch, timeEdit, median, EDITS } from "./harness.mjs";

const dists = (process.argv.slice(2).length ? process.argv.slice(2) : [path.resolve(import.meta.dirname, "../../dist")]).map((d) => path.resolve(d));
const rounds = Number(process.env.ROUNDS || 3);
const edits = Number(process.env.EDITS || 15);

const servers = await Promise.all(dists.map(serve));
const ctx = await launch();

async function round(server) {
  const page = await ctx.newPage();
  const t0 = Date.now();
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await page.waitForSelector("#listing tr", { timeout: 20000 });
  const out = { load: Date.now() - t0 };
  out.attach = await timeEdit(page, { ...EDITS.attach, runs: edits });
  out.typing = await timeEdit(page, { ...EDITS.typing, runs: edits });
  const value = await page.$$eval("#gallery option", (os) => os.find((o) => /38-link/.test(o.textContent)).value);
  await page.selectOption("#gallery", value);
  await page.waitForFunction(() => /38\/38 slots/.test(document.querySelector("#links")?.innerText ?? ""));
  out.attach38 = await timeEdit(page, { ...EDITS.attach38, runs: edits });
  out.typing38 = await timeEdit(page, { ...EDITS.typing38, runs: edits });
  // The 38-link run in the executor alone, in the page's wasm (builds without it give -1).
  out.exec38 = await page.evaluate(async () => {
    const m = await import("./web.js");
    return m.execution_ms ? m.execution_ms(location.hash, 50) : -1;
  });
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
  if (rs.every((x) => x.exec38 > 0)) console.log(`  38 links, one call in the executor ${fmt(rs.map((x) => x.exec38))}`);
}
await ctx.close();
for (const s of servers) s.close();
