// What the browser tests (playground.test.mjs) and the edit benchmark (bench.mjs) share: a
// static server for a built `dist/`, Debian's Chromium under playwright-core, and the timing
// of an edit typed as a user types it.
import http from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".css": "text/css" };

/// Serves the files of `dist` on 127.0.0.1 (a free port); resolves to the server.
export async function serve(dist) {
  if (!fs.existsSync(path.join(dist, "web_bg.wasm"))) throw new Error(`${dist}: no web_bg.wasm; build the playground first: cargo xtask build`);
  const server = http.createServer((req, res) => {
    const p = req.url.split(/[?#]/)[0];
    const file = path.join(dist, p === "/" ? "index.html" : p);
    if (!file.startsWith(dist) || !fs.existsSync(file)) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { "Content-Type": types[path.extname(file)] || "application/octet-stream" });
    res.end(fs.readFileSync(file));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return server;
}

/// The server's base URL.
export const baseUrl = (server) => `http://127.0.0.1:${server.address().port}/`;

/// Debian's Chromium, headless, with a fresh profile and no background networking (this
/// machine's network is closed).
export const launch = () => chromium.launchPersistentContext(fs.mkdtempSync(path.join(os.tmpdir(), "fsl-chrome-")), {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

export const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];

// An edit as a user makes it, timed inside the page: the text between `after` and the next
// `until` in the editor is selected and replaced by typing (`insertText`, a trusted input
// through the browser's editing, as a paste or an autocompletion does), alternately with
// `words[0]` and `words[1]`, `runs` times; resolves to the medians. For each edit:
// - busy: the main thread's work for the edit, what must fit in one 16.7 ms frame: from the
//   `beforeinput` event (before the browser changes the text) until the app's render is done
//   (wasm, DOM updates, the style and layout it forces), plus the next frame's rendering (from
//   its requestAnimationFrame callback to the task after it: style, layout, paint, commit),
//   without the idle wait for the frame;
// - toFrame: from `beforeinput` to that frame's end, wait included (what a user sees).
// The element `changes` must show different text after each edit.
export async function timeEdit(page, { after, until, words, changes, runs = 15 }) {
  const busy = [], toFrame = [];
  for (let k = 0; k < runs; k++) {
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
              if (rendered === null || document.querySelector(changes).innerText === was) reject(new Error(`${changes} did not change by the next frame`));
              else resolve({ busy: rendered - t0 + (end - frame), toFrame: end - t0 });
            }, 0);
          });
        }, { once: true, capture: true });
      });
    }, { after, until, changes });
    // Start in a frame's idle time, as a keystroke usually does.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 20))));
    await page.keyboard.insertText(words[k % 2]);
    const m = await page.evaluate(() => window.__edit);
    busy.push(m.busy);
    toFrame.push(m.toFrame);
  }
  const round = (x) => Math.round(x * 10) / 10;
  return { busy: round(median(busy)), toFrame: round(median(toFrame)), runs };
}

/// The edits both timed: retyping an attach type (every view changes) and typing in a
/// program's text (only its fixups change), in the default scenario and the 38-link one.
export const EDITS = {
  attach: { after: 'name = "test11"\nattach = "', until: '"', words: ["fexit", "fentry"], changes: "#listing" },
  typing: { after: "*(u64 *)(r9 +", until: ")", words: ["8", "0"], changes: "#programs" },
  attach38: { after: 'name = "s01"\nattach = "', until: '"', words: ["fentry", "fsession"], changes: "#listing" },
  // A line typed into s02 and taken out again (returning 0 either way, so it stays accepted).
  typing38: { after: 'name = "s02"\nattach = "fsession"\ncookie = 2\ntext = "r0 = 0\\n', until: '"', words: ["r1 = 5\\nexit", "exit"], changes: "#programs" },
};
