// End-to-end tests of the playground in real headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core). Serves ../../dist (built by `cargo xtask build`) on 127.0.0.1.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { serve, baseUrl, launch, timeEdit, EDITS } from "./harness.mjs";

const dist = path.resolve(import.meta.dirname, "../../dist");
const artifacts = path.resolve(import.meta.dirname, "artifacts");
let server, base, ctx;
const problems = [];

before(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  server = await serve(dist);
  base = baseUrl(server);
  ctx = await launch();
});

after(async () => {
  await ctx?.close();
  server?.close();
});

// The page's link once the state has been written to it (after the next painted frame).
const stateUrl = async (page) => {
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 50))));
  return page.url();
};

// The pipeline alone (no rendering) for the page's current state, in the page's wasm.
const pipelineMs = (page) => page.evaluate(async () => {
  const m = await import("./web.js");
  const ms = m.pipeline_ms(location.hash, 20);
  if (!(ms > 0)) throw new Error(`pipeline_ms gave ${ms}`);
  return Math.round(ms * 100) / 100;
});

// The page's state opened from its link in a new page, once `selector` shows.
async function reopen(page, selector = "#listing tr") {
  const again = await open(await stateUrl(page));
  await again.waitForSelector(selector);
  return again;
}

async function open(url = base) {
  const page = await ctx.newPage();
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e}`));
  page.on("requestfailed", (r) => problems.push(`requestfailed: ${r.url()}`));
  await page.goto(url);
  await page.waitForSelector("#listing tr", { timeout: 20000 });
  return page;
}


test("default scenario: listing, layout, contract", async () => {
  const t0 = Date.now();
  const page = await open();
  const loadMs = Date.now() - t0;
  const rows = Number(await page.getAttribute("#listing", "data-rows"));
  assert.ok(rows > 100, `listing has ${rows} rows`);
  // Only the rows in and near the pane are in the page; scrolling the pane brings the rest.
  const rendered = await page.$$eval("#listing tr[data-i]", (r) => r.length);
  assert.ok(rendered > 10 && rendered < rows, `${rendered} of ${rows} rows rendered`);
  // The im pointer (low 32 bits zero) in the page's wasm32 build prints as on the CLI; iced-x86
  // printed it as `mov rdi, 0` on 32-bit targets before the workaround.
  assert.match(await page.innerText("#listing"), /mov rdi, 0xffff888100000000/);
  await page.$eval("#trampoline .pane", (p) => { p.scrollTop = p.scrollHeight; });
  await page.waitForSelector(`#listing tr[data-i="${rows - 1}"]`);
  const layout = await page.innerText("#layout");
  for (const slot of ["cookie0", "cookie2", "func_meta", "arg0", "retval", "run_ctx"]) assert.match(layout, new RegExp(slot));
  assert.match(await page.innerText("#contract"), /holds for every program and pass/);
  // The verdict from running the bytes: each cookie write lands in the program's cookie slot.
  const exec = await page.innerText("#exec-contract");
  assert.match(exec, /from execution \(linux-7\.0\): holds for every program and pass/);
  await page.click("#exec-contract summary");
  assert.match(await page.innerText("#exec-contract .runs"), /call 0 test7 \(entry\): ctx\[-1\] = 0x201; bpf_session_cookie\(\) → cookie2 \(rbp-32\), bpf_session_is_return\(\) = 0x0, \*cookie = 0xaaaabbbbccccdddd → cookie2 \(rbp-32\)/);
  assert.match(await page.innerText("#sees"), /0x401/);
  await page.screenshot({ path: path.join(artifacts, "default.png"), fullPage: true });
  fs.writeFileSync(path.join(artifacts, "timing.json"), JSON.stringify({ loadToFirstRenderMs: loadMs }));
  await page.close();
});

test("editing a program changes the listing; a broken program shows its error inline", async () => {
  const page = await open();
  const text = await page.inputValue("#scenario");
  // test11 becomes an fexit program: the lists and the listing change.
  const edited = text.replace('name = "test11"\nattach = "fentry"', 'name = "test11"\nattach = "fexit"');
  assert.notEqual(edited, text);
  // Two kinds of edit: retyping an attach type changes every view; typing in a program's text
  // changes only that program's fixups.
  const edit = await timeEdit(page, EDITS.attach);
  const typing = await timeEdit(page, EDITS.typing);
  const pipeline = await pipelineMs(page);
  // The timing ends on the original text: make the edit once more and check it.
  await page.fill("#scenario", edited);
  await page.waitForFunction(() => /test11 \(fexit\)/.test(document.querySelector("#links").innerText));
  assert.match(await page.innerText("#links"), /fexit\s+6\s+test11 \(fexit\)/);
  const broken = edited.replace("r7 = r0                      // the cookie", "r7 = r0\nr0 += r13");
  await page.fill("#scenario", broken);
  await page.waitForSelector("#errors li");
  assert.match(await page.innerText("#errors"), /line \d+: program 'test\d': invalid register: r13/);
  // Next to its line too: the editor's gutter marks that line, with the message as its title.
  const line = Number((await page.innerText("#errors")).match(/line (\d+)/)[1]);
  assert.equal(Number((await page.innerText(".editor .gutter .mark")).replace(/\D/g, "")), line);
  assert.match(await page.getAttribute(".editor .gutter .mark", "title"), /invalid register: r13/);
  // The error in the list takes the editor to its line.
  await page.click("#errors button.goto");
  const picked = await page.evaluate(() => { const t = document.querySelector("#scenario"); return [document.activeElement.id, t.value.slice(t.selectionStart, t.selectionEnd)]; });
  assert.deepEqual(picked, ["scenario", "r0 += r13"]);
  await page.screenshot({ path: path.join(artifacts, "error.png"), fullPage: true });
  const t = JSON.parse(fs.readFileSync(path.join(artifacts, "timing.json")));
  fs.writeFileSync(path.join(artifacts, "timing.json"), JSON.stringify({ ...t, editRuns: edit.runs, attachEditBusyMs: edit.busy, attachEditToFrameMs: edit.toFrame, typingBusyMs: typing.busy, typingToFrameMs: typing.toFrame, pipelineMs: pipeline }));
  await page.close();
});

test("the 38-link trampoline: an edit updates the views (timed)", async () => {
  const page = await open();
  const i = await page.$$eval("#gallery option", (os) => os.findIndex((o) => /38-link/.test(o.textContent)));
  await page.selectOption("#gallery", String(i));
  await page.waitForFunction(() => /s19/.test(document.querySelector("#links")?.innerText ?? ""));
  assert.match(await page.innerText("#links"), /38\/38 slots/);
  const text = await page.inputValue("#scenario");
  const edited = text.replace('name = "s01"\nattach = "fsession"', 'name = "s01"\nattach = "fentry"');
  assert.notEqual(edited, text);
  const edit = await timeEdit(page, EDITS.attach38);
  const typing = await timeEdit(page, EDITS.typing38);
  const pipeline38 = await pipelineMs(page);
  await page.fill("#scenario", edited);
  await page.waitForFunction(() => /s01 \(fentry\)/.test(document.querySelector("#links").innerText));
  // s01 now takes one slot; the freed slot goes to the next link in attach order.
  const links = await page.innerText("#links");
  assert.match(links, /s01 \(fentry\)/);
  assert.match(links, /extra_fentry \(fentry\)/);
  assert.match(links, /38\/38 slots, 18 fsession/);
  const t = JSON.parse(fs.readFileSync(path.join(artifacts, "timing.json")));
  fs.writeFileSync(path.join(artifacts, "timing.json"), JSON.stringify({ ...t, attachEdit38BusyMs: edit.busy, attachEdit38ToFrameMs: edit.toFrame, typing38BusyMs: typing.busy, typing38ToFrameMs: typing.toFrame, pipeline38LinksMs: pipeline38 }));
  await page.close();
});

test("program controls: reorder, retype, remove, add and the prototype edit the text and the views", async () => {
  const page = await open();
  const order = () => page.$$eval("#controls tr.prog-control td:first-child", (tds) => tds.map((t) => t.textContent));
  const start = await order();
  assert.equal(start.length, 6);
  await page.click(`#controls button[title="move ${start[0]} down"]`);
  assert.deepEqual(await order(), [start[1], start[0], ...start.slice(2)]);
  assert.ok((await page.inputValue("#scenario")).indexOf(`name = "${start[1]}"`) < (await page.inputValue("#scenario")).indexOf(`name = "${start[0]}"`));
  await page.selectOption(`#controls select[aria-label="attach type of ${start[5]}"]`, "fexit");
  await page.waitForFunction((n) => document.querySelector("#links").innerText.includes(`${n} (fexit)`), start[5]);
  await page.click(`#controls button[title="remove ${start[2]}"]`);
  assert.equal((await order()).length, 5);
  assert.doesNotMatch(await page.innerText("#links"), new RegExp(`\\b${start[2]} \\(`));
  await page.click("#add-program");
  await page.waitForFunction(() => /prog1 \(fentry\)/.test(document.querySelector("#links").innerText));
  await page.fill("#prototype", "u64 bpf_fentry_test1(u64 a, u64 b)");
  await page.press("#prototype", "Enter");
  await page.waitForFunction(() => /u64 bpf_fentry_test1\(u64 a, u64 b\)/.test(document.querySelector("#scenario").value));
  await page.waitForFunction(() => /\barg1\b/.test(document.querySelector("#layout").innerText));
  await page.fill("#prototype", 'int f("');
  await page.press("#prototype", "Enter");
  assert.match(await page.innerText("#edit-error"), /not a prototype: prototype, column/);
  assert.match(await page.inputValue("#scenario"), /# The kernel's fsession selftest/, "comments survive");
  await page.screenshot({ path: path.join(artifacts, "controls.png"), fullPage: true });
  await page.close();
});

test("fsession-v9-patch05 shows the contract error; the link carries the state", async () => {
  const page = await open();
  await page.selectOption("#profile", "fsession-v9-patch05");
  await page.waitForFunction(() => document.querySelector("#contract")?.innerText.includes("VIOLATED"));
  assert.match(await page.innerText("#contract"), /bpf_session_cookie\(\) returns ctx\[-0\] \(rbp-16, arg0\)/);
  // From execution: the cookie write lands in argument 0, and the traced function gets it.
  const exec = await page.innerText("#exec-contract");
  assert.match(exec, /from execution \(fsession-v9-patch05\): VIOLATED/);
  assert.match(exec, /test7 \(fsession, entry\): the cookie write of 0xaaaabbbbccccdddd landed in arg0 \(rbp-16\)/);
  assert.match(exec, /the traced function received argument word 0 = 0xaaaabbbbccccdddd, the caller passed 0x1; it returned 0xffffffffccccddde/);
  await page.screenshot({ path: path.join(artifacts, "patch05.png"), fullPage: true });
  assert.match(await stateUrl(page), /#v2\./);
  const again = await reopen(page);
  assert.equal(await again.inputValue("#profile"), "fsession-v9-patch05");
  assert.match(await again.innerText("#contract"), /VIOLATED/);
  await again.close();
  await page.close();
});

/** Runs the call, goes to test7's first program call and steps to its cookie write; returns the
 * frame row written and the value the slot held one step earlier. */
async function stepToTest7CookieWrite(page) {
  await page.click("#run-start");
  await page.waitForSelector("#run-step");
  await page.focus("#run");
  for (let i = 0; i < 40 && !(await page.innerText("#run-next")).includes("test7: bpf_func entered"); i++) await page.keyboard.press("]");
  assert.match(await page.innerText("#run-next"), /test7: bpf_func entered/);
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press(".");
    const row = await page.$("#run .frame tr.now");
    if (row && (await row.innerText()).includes("0xaaaabbbbccccdddd")) {
      const slot = await row.getAttribute("data-slot");
      await page.keyboard.press(",");
      const before = await page.innerText(`#run .frame tr[data-slot="${slot}"]`);
      await page.keyboard.press(".");
      return { slot, before };
    }
  }
  assert.fail("test7 never wrote its cookie");
}

test("Run view: test7's cookie write lands in arg0 under patch05, in its cookie slot under linux-7.0; back restores", async () => {
  const page = await open();
  assert.match(await page.innerText("#run"), /keys: \. step, , back, \] next program call/);
  const ok = await stepToTest7CookieWrite(page);
  assert.match(ok.slot, /^cookie\d$/, "linux-7.0: the cookie slot");
  assert.match(ok.before, /0x0\b/, "the trampoline zeroed it");
  assert.match(await page.innerText("#run .meta"), /ctx\[-1\] = 0x201: nr_args 1, cookie index 2, is_return 0/);
  await page.selectOption("#profile", "fsession-v9-patch05");
  await page.waitForFunction(() => document.querySelector("#exec-contract")?.innerText.includes("VIOLATED"));
  const bad = await stepToTest7CookieWrite(page);
  assert.equal(bad.slot, "arg0", "patch05: the cookie write overwrites argument 0");
  // The BPF instruction about to run is selected in the fixups table.
  assert.match(await page.innerText("#program-rows tr.sel"), /r3 = \*\(u64 \*\)\(r7 \+0\)/);
  assert.match(await page.innerText("#run-next"), /test7 insn \d+: r3 = \*\(u64 \*\)\(r7 \+0\)/);
  assert.match(bad.before, /0x1111222233334444/, "back: arg0 holds test8's cookie again");
  await page.screenshot({ path: path.join(artifacts, "run-patch05.png"), fullPage: true });
  // Back to the start and one step: the trampoline's first line is selected in the listing.
  await page.keyboard.press("0");
  await page.keyboard.press(".");
  await page.keyboard.press(".");
  const next = await page.innerText("#run-next");
  const m = next.match(/trampoline \+(0x[0-9a-f]+): (.*)$/);
  assert.ok(m, next);
  assert.match(await page.innerText("#listing tr.sel"), new RegExp(m[2].replace(/[[\]()*+.]/g, "\\$&")));
  await page.focus("#run");
  // To the end: the traced function got the clobbered argument.
  await page.keyboard.press("$");
  assert.match(await page.innerText("#run-next"), /the call returned 0xffffffffccccddde; data after the call: \[0x0, 0x0, /);
  // An edit that changes only what execution shows (test7's cookie value) updates the verdict.
  const text = await page.inputValue("#scenario");
  await page.fill("#scenario", text.replaceAll("0xaaaabbbbccccdddd", "0xaaaabbbbcccc0001"));
  await page.waitForFunction(() => document.querySelector("#exec-contract")?.innerText.includes("cookie write of 0xaaaabbbbcccc0001 landed in arg0"));
  await page.fill("#scenario", text);
  await page.waitForFunction(() => document.querySelector("#exec-contract")?.innerText.includes("cookie write of 0xaaaabbbbccccdddd landed in arg0"));
  await page.close();
});

test("compare: fsession-v9 against patch 05, differences marked in ctx[-1], slots and bytes", async () => {
  const page = await open();
  await page.selectOption("#profile", "fsession-v9");
  await page.selectOption("#compare", "fsession-v9-patch05");
  await page.waitForSelector("#compare-listing tr.diff");
  assert.match(await page.innerText("#compare > p"), /contract holds under fsession-v9, VIOLATED under fsession-v9-patch05/);
  // The cookie users' ctx[-1] differs and is marked with text, not only colour.
  const sees = await page.$$eval("#compare-sees tr.diff", (rows) => rows.map((r) => r.innerText));
  assert.ok(sees.some((r) => /^≠\s+test9 entry/.test(r)), sees.join("\n"));
  const marks = await page.$$eval("#compare-listing tr.diff td.mark", (tds) => tds.map((t) => t.textContent));
  assert.ok(marks.includes("-"), "v9 has instructions patch 05 lacks");
  await page.screenshot({ path: path.join(artifacts, "compare.png"), fullPage: true });
  // The comparison is part of the link.
  const again = await reopen(page, "#compare-listing");
  assert.equal(await again.inputValue("#compare"), "fsession-v9-patch05");
  await again.close();
  await page.close();
});

test("linux-6.12: its example from the gallery, and compared with linux-7.0", async () => {
  const page = await open();
  const i = await page.$$eval("#gallery option", (os) => os.findIndex((o) => /6\.12: fentry \+ fexit/.test(o.textContent)));
  assert.ok(i >= 0, "the 6.12 examples are in the gallery");
  await page.selectOption("#gallery", String(i));
  await page.waitForFunction(() => /t0_fentry \(fentry\)/.test(document.querySelector("#links")?.innerText ?? ""));
  const profiles = await page.$$eval("#profile option", (os) => os.map((o) => o.value));
  assert.ok(profiles.includes("linux-6.12"), profiles.join(", "));
  // The return is the listing's last line: render every row to see it.
  await page.check("#all-rows");
  const total = Number(await page.getAttribute("#listing", "data-rows"));
  await page.waitForFunction((n) => document.querySelectorAll("#listing tr[data-i]").length === n, total);
  const listing = await page.innerText("#listing");
  assert.match(listing, /int3/, "6.12 returns with ret; int3");
  assert.match(listing, /func \+ 9/, "the original is called past its endbr64");
  await page.selectOption("#compare", "linux-7.0");
  await page.waitForSelector("#compare-listing tr.diff");
  const diffs = await page.$$eval("#compare-listing tr.diff", (rows) => rows.map((r) => r.innerText));
  assert.ok(diffs.some((r) => /int3/.test(r)), diffs.join("\n"));
  assert.ok(diffs.some((r) => /rbp\+0x18/.test(r)), diffs.join("\n"));
  // The programs' JIT images are aligned too: 6.12's endbr64 (IBT) has no counterpart in 7.0.
  await page.waitForSelector("#compare-jit-0 tr.diff");
  const jit = await page.$$eval("#compare-jit-0 tr.diff", (rows) => rows.map((r) => r.innerText));
  assert.ok(jit.some((r) => /endbr64/.test(r)), jit.join("\n"));
  await page.close();
});

test("keyboard: the listing is one tab stop, arrows move the selection, slots are marked", async () => {
  const page = await open();
  await page.focus("#listing");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("ArrowUp");
  const sel = await page.$$eval("#listing tr[data-i]", (rows) => rows.findIndex((r) => r.classList.contains("sel")));
  assert.equal(sel, 0, "the first arrow selects the first line");
  // Row 3 is `mov [rbp-0x38], rbx`: it writes the rbx slot, which the frame table marks.
  for (let i = 0; i < 3; i++) await page.keyboard.press("ArrowDown");
  assert.match(await page.innerText("#layout tr.hit"), /▶ rbx/);
  // The selected line is explained with its operands (and on hover, as the cell's title).
  assert.equal(await page.innerText("#explain"), "8: mov: store rbx into the memory at [rbp-0x38]");
  assert.equal(await page.getAttribute("#listing tr.sel td.code", "title"), "mov: store rbx into the memory at [rbp-0x38]");
  // The other way round: picking a frame slot marks the instructions that touch it.
  await page.click('#layout button.slotpick:text-is("arg0")');
  // The explanation counts every line that touches it (the listing renders only the rows near
  // its view); the rendered ones are marked with text as well as colour.
  await page.waitForFunction(() => /^arg0 touched by \d+ instructions/.test(document.querySelector("#explain").innerText));
  const count = Number((await page.innerText("#explain")).match(/touched by (\d+)/)[1]);
  assert.ok(count >= 2, "arg0 is saved at entry and reloaded for the call to the function");
  const touching = await page.$$eval("#listing tr.hit", (rows) => rows.map((r) => r.innerText));
  assert.ok(touching.length >= 1, "the listing scrolls to the first line touching the slot");
  assert.ok(touching.every((t) => /▶ .*arg0/.test(t)), touching.join("\n"));
  assert.match(await page.innerText("#frame .stack .cell.hit"), /▶ arg0/);
  // Jumps inside the image are followable: by their button, and with Enter on the selected line.
  const selOffset = async () => { await page.waitForSelector("#listing tr.sel"); return page.$eval("#listing tr.sel td.off", (td) => td.textContent); };
  const firstJump = page.locator("#listing tr", { has: page.locator("button.follow") }).first();
  const target = (await firstJump.locator("button.follow").innerText()).replace("→ ", "");
  await firstJump.locator("button.follow").click();
  assert.equal(await selOffset(), target);
  await firstJump.locator("td.off").click();
  await page.focus("#listing");
  await page.keyboard.press("Enter");
  assert.equal(await selOffset(), target);
  // The fixups table is a listing too: one tab stop, arrows select a row and explain it.
  await page.focus("#program-rows");
  for (let i = 0; i < 6; i++) await page.keyboard.press("ArrowDown");
  await page.waitForSelector("#program-rows tr.sel");
  assert.match(await page.innerText("#program-explain"), /^test1: as written, insn 4: call bpf_session_is_return: .*; after fixups, insn 4: load: r0 = 8 bytes at r1 -8 .*; bpf_session_is_return: /);
  const titles = await page.$$eval("#programs td.code[title]", (tds) => tds.map((t) => t.title));
  assert.ok(titles.some((t) => /^load: r\d = 8 bytes at r1 -8 \(zero-extended\)$/.test(t)), "the ctx[-1] load of an inline is explained");
  await page.close();
});

test("mode, mitigations, attach cookie and syntax: inputs that change the views and travel in the link", async () => {
  const page = await open();
  const summary = () => page.innerText("#trampoline > p");
  // linux-7.0 enters the trampoline by jmp; the page can ask for call.
  assert.match(await summary(), /jmp mode/);
  await page.selectOption("#mode", "call");
  await page.waitForFunction(() => /call mode/.test(document.querySelector("#trampoline > p").innerText));
  // IBT: the original function is called past its endbr64, so a call target moves. The call is
  // mid-listing: render every row to see it.
  await page.check("#all-rows");
  const total = Number(await page.getAttribute("#listing", "data-rows"));
  assert.equal(await page.$$eval("#listing tr[data-i]", (r) => r.length), total);
  const calls = () => page.$$eval("#listing tr[data-i] td.code", (tds) => tds.map((t) => t.textContent).filter((t) => t.startsWith("call")).join("|"));
  const before = await calls();
  await page.check('input[data-mitigation="IBT"]');
  await page.waitForFunction((b) => [...document.querySelectorAll("#listing tr[data-i] td.code")].map((t) => t.textContent).filter((t) => t.startsWith("call")).join("|") !== b, before);
  // The attach cookie control writes the scenario text.
  await page.fill('input[aria-label="attach cookie of test10"]', "0x2a");
  await page.press('input[aria-label="attach cookie of test10"]', "Enter");
  await page.waitForFunction(() => /name = "test10"\nattach = "fexit"\ncookie = 42\n/.test(document.querySelector("#scenario").value));
  await page.fill('input[aria-label="attach cookie of test10"]', "-3");
  await page.press('input[aria-label="attach cookie of test10"]', "Enter");
  assert.match(await page.innerText("#edit-error"), /'-3' is not an attach cookie/);
  // Converting a program to the conformance syntax rewrites its text; it still verifies.
  await page.selectOption('select[aria-label="syntax of test11"]', "conformance");
  await page.waitForFunction(() => /syntax = "conformance"/.test(document.querySelector("#scenario").value));
  assert.match(await page.inputValue("#scenario"), /ldxdw %r7, \[%r1\]\nlddw %r9, map_value 0, 0\n/);
  assert.match(await page.innerText("#programs > p"), /test11 accepted/);
  // The programs view can show every program in the conformance syntax.
  await page.selectOption("#bpf-syntax", "conformance");
  await page.waitForFunction(() => /%r\d/.test(document.querySelector("#program-rows").innerText));
  // Explanations still read the instructions' meaning, whatever the syntax shown.
  const ctitles = await page.$$eval("#program-rows td.code[title]", (tds) => tds.map((t) => t.title));
  assert.ok(ctitles.some((t) => /^load: r\d = 8 bytes at r1 -8 \(zero-extended\)$/.test(t)), ctitles.join("\n"));
  await page.screenshot({ path: path.join(artifacts, "options.png"), fullPage: true });
  const again = await reopen(page);
  assert.equal(await again.inputValue("#mode"), "call");
  assert.ok(await again.isChecked('input[data-mitigation="IBT"]'));
  assert.equal(await again.inputValue("#bpf-syntax"), "conformance");
  await again.click("#options-reset");
  await again.waitForFunction(() => /jmp mode/.test(document.querySelector("#trampoline > p").innerText));
  assert.ok(!(await again.isChecked('input[data-mitigation="IBT"]')));
  await again.close();
  await page.close();
});

test("compare two scenarios: a frozen copy against the edited text", async () => {
  const page = await open();
  await page.selectOption("#compare-scenario", "snapshot");
  await page.waitForSelector("#compare");
  assert.match(await page.innerText("#compare > p"), /^0 differing rows/);
  await page.selectOption('select[aria-label="attach type of test11"]', "fexit");
  await page.waitForSelector("#compare-listing tr.diff");
  assert.match(await page.innerText("#compare h2"), /this scenario \(linux-7\.0\) vs the other scenario \(linux-7\.0\)/);
  assert.doesNotMatch(await page.innerText("#compare > p"), /^0 differing/);
  await page.screenshot({ path: path.join(artifacts, "compare-scenarios.png"), fullPage: true });
  const again = await reopen(page, "#compare-listing tr.diff");
  // The frozen copy is the unedited default scenario, so the select names that example.
  assert.equal(await again.inputValue("#compare-scenario"), "0");
  await again.close();
  await page.close();
});

test("a version 1 link still opens", async () => {
  // Written by the playground before version 2 (the minimal link of the unit tests, with a real
  // scenario): {"s": <the basic example>, "p": "fsession-v9", "a": true}.
  const page = await open();
  const v1 = await page.evaluate(() => {
    const s = JSON.stringify({ s: document.querySelector("#scenario").value, p: "fsession-v9", a: true });
    return "v1." + btoa(String.fromCharCode(...new TextEncoder().encode(s))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  });
  const old = await open(`${base}#${v1}`);
  assert.equal(await old.inputValue("#profile"), "fsession-v9");
  assert.ok(await old.isChecked("#att"));
  assert.match(await old.innerText("#listing"), /%rbp/);
  assert.match(await stateUrl(old), /#v2\./, "it is rewritten as version 2");
  await old.close();
  await page.close();
});

test("embed.html: one view at a time, a switcher, and Open in playground with the exact state", async () => {
  // Take a real playground link: the patch 05 profile, AT&T syntax.
  const play = await open();
  await play.selectOption("#profile", "fsession-v9-patch05");
  await play.waitForSelector("#contract.error");
  const fragment = new URL(await stateUrl(play)).hash;
  await play.close();

  const page = await ctx.newPage();
  page.on("pageerror", (e) => problems.push(`pageerror: ${e}`));
  // Static text first (the wasm is held back), then the widget.
  await page.route("**/web_bg.wasm", async (r) => { await new Promise((t) => setTimeout(t, 300)); await r.continue(); });
  await page.goto(`${base}embed.html${fragment}`);
  assert.match(await page.innerText("#embed"), /x86-64 code the kernel generates/);
  await page.waitForSelector("#embed #listing tr", { timeout: 20000 });
  assert.equal(await page.$$eval("#embed .fsl-view > div", (d) => d.length), 1, "one view at a time");
  await page.click('button[data-view="sees"]');
  assert.match(await page.innerText("#embed #contract"), /fsession-v9-patch05\): VIOLATED/);
  assert.equal(await page.$$eval("#embed #listing", (d) => d.length), 0);
  await page.screenshot({ path: path.join(artifacts, "embed.png"), fullPage: true });
  const href = await page.getAttribute(".fsl-open", "href");
  assert.equal(new URL(href, page.url()).hash, fragment, "Open in playground carries the exact state");
  const [opened] = await Promise.all([ctx.waitForEvent("page"), page.click(".fsl-open")]);
  await opened.waitForSelector("#listing tr", { timeout: 20000 });
  assert.equal(await opened.inputValue("#profile"), "fsession-v9-patch05");
  assert.match(await opened.innerText("#contract"), /VIOLATED/);
  await opened.close();
  await page.close();
});

test("script mount: a host element becomes the widget, the host page keeps its styles", async () => {
  const page = await ctx.newPage();
  page.on("pageerror", (e) => problems.push(`pageerror: ${e}`));
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
  await page.goto(`${base}embed-example.html`);
  await page.waitForSelector("#mount-default .fsl-embed #contract", { timeout: 20000 });
  assert.match(await page.innerText("#mount-default #contract"), /linux-7.0\): holds/);
  assert.doesNotMatch(await page.innerText("#mount-default"), /loading/i, "the static text is replaced");
  assert.equal(await page.$eval("body", (b) => getComputedStyle(b).fontFamily), "Georgia, serif");
  const href = await page.getAttribute("#mount-default .fsl-open", "href");
  assert.match(href, /^http:\/\/127\.0\.0\.1:\d+\/index\.html#v2\./);
  const frame = page.frameLocator("#frame-embed");
  await frame.locator("#listing tr").first().waitFor({ timeout: 20000 });
  await page.screenshot({ path: path.join(artifacts, "embed-example.png"), fullPage: true });
  await page.close();
});

test("phone-sized viewport: one column, the page itself does not scroll sideways", async () => {
  const page = await ctx.newPage();
  await page.setViewportSize({ width: 390, height: 844 });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e}`));
  await page.goto(base);
  await page.waitForSelector("#listing tr", { timeout: 20000 });
  const box = async (sel) => (await page.locator(sel).boundingBox());
  // A read-only stack: the views first, the editor folded below them.
  const input = await box("section.input");
  const views = await box("section.views");
  assert.ok(input.y >= views.y + views.height - 1, "the editor comes below the views");
  assert.equal(await page.$eval("#editor", (d) => d.open), false);
  assert.ok(!(await page.isVisible("#scenario")));
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 1, `the page is ${overflow}px wider than the phone`);
  await page.screenshot({ path: path.join(artifacts, "phone.png") });
  await page.click("#editor > summary");
  assert.ok(await page.isVisible("#scenario"), "tapping Scenario opens the editor");
  await page.close();
});

test("JIT images: each program's x86, linked both ways with the programs table", async () => {
  const page = await open();
  // Closed (and not compiled) until opened.
  assert.equal(await page.locator("#jit tbody tr").count(), 0);
  await page.locator("#jit > summary").click();
  await page.waitForSelector("#jit tbody tr[data-slot]");
  const rows = await page.locator("#jit .jitprog").count();
  assert.ok(rows >= 1, "one JIT image per loaded program");
  // The prologue: the patch site nop, push rbp, mov rbp, rsp.
  const text = await page.locator("#jit .jitprog").first().innerText();
  assert.match(text, /patch site/);
  assert.match(text, /push rbp/);
  // A click on an x86 instruction selects its BPF row after fixups...
  const slot = await page.locator("#jit tbody tr[data-slot]:not([data-slot=''])").first().getAttribute("data-slot");
  await page.locator("#jit tbody tr[data-slot]:not([data-slot=''])").first().click();
  await page.waitForSelector("#program-rows tr.sel");
  const selText = await page.locator("#program-rows tr.sel td.idx").nth(1).innerText();
  assert.equal(selText.trim(), slot);
  // ...and the selected BPF row marks its x86 instructions.
  assert.ok((await page.locator("#jit tbody tr.sel").count()) >= 1);
  await page.close();
});

test("the gzipped wasm stays under the 600 KB budget", () => {
  const wasm = fs.readFileSync(path.join(dist, "web_bg.wasm"));
  const gz = zlib.gzipSync(wasm, { level: 9 }).length;
  const t = JSON.parse(fs.readFileSync(path.join(artifacts, "timing.json")));
  fs.writeFileSync(path.join(artifacts, "timing.json"), JSON.stringify({ ...t, wasmBytes: wasm.length, wasmGzipBytes: gz }));
  assert.ok(gz < 600_000, `web_bg.wasm is ${gz} bytes gzipped`);
});

test("no console errors, failed requests or page errors", () => {
  assert.deepEqual(problems, []);
});
