// "Run browser modules in this tab": loads the browser runner the server
// serves (`/runtimes/browser/polyflow.js`) and joins this tab as a runner.
// The runner itself is not part of the page; when the server has none the
// switch says so and turns itself off.
import { storedToken } from "./api.js";

export function setUpRunnerSwitch() {
  const box = document.getElementById("runner-switch");
  const message = document.getElementById("runner-message");
  if (!box || box.dataset.ready) return;
  box.dataset.ready = "1";
  let handle = null;
  const say = (text, bad = false) => {
    message.hidden = !text;
    message.textContent = text;
    message.classList.toggle("bad", bad);
  };
  box.addEventListener("change", async () => {
    if (!box.checked) {
      try { await (handle?.close?.() ?? handle?.stop?.() ?? handle?.disconnect?.()); } catch { /* already gone */ }
      handle = null;
      say("This tab no longer runs browser modules.");
      return;
    }
    box.disabled = true;
    say("Loading the browser runner…");
    let runner;
    try {
      runner = await import("/runtimes/browser/polyflow.js");
    } catch (e) {
      box.checked = false;
      box.disabled = false;
      say("This server has no browser runner (/runtimes/browser/polyflow.js was not found): " +
        "install runtimes/browser next to flowctl, or set POLYFLOW_RUNTIMES.", true);
      return;
    }
    try {
      const name = "tab-" + Math.random().toString(36).slice(2, 8);
      handle = await runner.connect({ server: location.origin, token: storedToken() || undefined, name, tags: ["page"] });
      say(`This tab runs browser modules as runner "${name}".`);
    } catch (e) {
      box.checked = false;
      say("The browser runner could not join: " + (e?.message || e), true);
    }
    box.disabled = false;
  });
}
