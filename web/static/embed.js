// The fsession-lab docs widget as a script mount. On a host page:
//
//   <div data-fsession-lab="v2.…" data-view="trampoline">static text shown until it loads</div>
//   <script type="module" src="https://…/embed.js"></script>
//
// data-fsession-lab holds a playground link's fragment (what follows `#`); data-view is the first
// view: trampoline, programs, frame, sees or links. The widget's files (web.js, web_bg.wasm,
// embed.css, index.html) are found next to this script.
import init, { mount } from "./web.js";

const here = new URL(".", import.meta.url);
if (!document.querySelector('link[data-fsession-lab-css]')) {
  const css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = new URL("embed.css", here).href;
  css.dataset.fsessionLabCss = "";
  document.head.appendChild(css);
}
try {
  await init({ module_or_path: new URL("web_bg.wasm", here) });
  for (const el of document.querySelectorAll("[data-fsession-lab]")) {
    mount(el, el.dataset.fsessionLab, el.dataset.view || "trampoline", new URL("index.html", here).href);
  }
} catch (e) {
  for (const el of document.querySelectorAll("[data-fsession-lab]")) {
    const p = document.createElement("p");
    p.textContent = "fsession-lab could not start: " + e;
    el.appendChild(p);
  }
}
