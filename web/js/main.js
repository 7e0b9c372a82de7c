// The page: asks for the token when the server wants one, keeps one event
// socket open (saying so when it drops, and reconnecting), and shows the view
// the URL fragment names: `#/` the overview, `#/flows/ID` one flow.
import { call, EventSocket, RPCError, storedToken, storeToken } from "./api.js";
import { h, fill } from "./dom.js";
import { OverviewView } from "./overview.js";
import { FlowView } from "./flow-view.js";
import { setUpRunnerSwitch } from "./runner-switch.js";
import { parseRoute } from "./route.js";

const view = document.getElementById("view");
const conn = document.getElementById("conn");
const banner = document.getElementById("banner");
const crumbs = document.getElementById("crumbs");
let current = null;
let socket = null;

async function boot() {
  try {
    await call("listFlows");
  } catch (e) {
    if (e instanceof RPCError && e.unauthorized) return askForToken(storedToken() ? "The server refused the token kept for this tab; enter it again." : "");
    fill(view, h("div.card", {}, h("h1", {}, "Cannot reach the server"), h("p.error", {}, e.message),
      h("button", { onclick: () => boot() }, "Try again")));
    return;
  }
  start();
}

function askForToken(message) {
  conn.textContent = "token needed";
  const input = h("input", { type: "password", id: "token-input", autocomplete: "current-password", required: true, "aria-describedby": "token-error" });
  const error = h("p.error", { id: "token-error", role: "alert" }, message);
  const button = h("button.primary", { type: "submit", id: "token-submit" }, "Use this token");
  const form = h("form.card.token", {
    onsubmit: async (ev) => {
      ev.preventDefault();
      const token = input.value.trim();
      if (!token) { error.textContent = "Enter the token the server was started with (--token or FLOWCTL_TOKEN)."; return; }
      button.disabled = true;
      storeToken(token);
      try {
        await call("listFlows");
        start();
      } catch (e) {
        storeToken("");
        error.textContent = e.unauthorized
          ? "The server refused this token: use the --token (or FLOWCTL_TOKEN) the server was started with."
          : e.message;
        button.disabled = false;
        input.select();
      }
    },
  },
  h("h1", {}, "This server needs a token"),
  h("p.muted", {}, "It is kept for this tab only (sessionStorage) and sent with every call."),
  h("label", { for: "token-input" }, "Token"), input, error, button);
  fill(view, form);
  input.focus();
}

let started = false;

// A token that stops working while the page is open (the server restarted
// with another one) brings the prompt back instead of failing call by call.
window.addEventListener("polyflow:unauthorized", () => {
  if (!started) return;
  started = false;
  socket?.stop();
  current?.unmount?.();
  current = null;
  window.removeEventListener("hashchange", route);
  storeToken("");
  askForToken("The server no longer accepts the token of this tab; enter the current one.");
});

function start() {
  started = true;
  setUpRunnerSwitch();
  socket = new EventSocket({
    onEvent: (event) => current?.onEvent?.(event),
    onStatus: (state, detail) => {
      if (state === "open") {
        const wasDown = !banner.hidden;
        conn.textContent = "live";
        conn.className = "conn live";
        banner.hidden = true;
        if (wasDown) current?.refresh?.();
      } else if (state === "closed") {
        conn.textContent = "disconnected";
        conn.className = "conn down";
        banner.hidden = false;
        banner.textContent = `The connection to the server dropped: live updates are paused. Reconnecting in ${Math.round(detail.delay / 100) / 10} s (attempt ${detail.attempt})…`;
      } else if (state === "refused") {
        banner.hidden = false;
        banner.textContent = `The server refused the event subscription: ${detail}`;
      }
    },
  }).start();
  window.addEventListener("hashchange", route);
  route();
}

function route() {
  current?.unmount?.();
  current = null;
  const r = parseRoute(location.hash);
  if (r.view === "flow") {
    fill(crumbs, h("a", { href: "#/" }, "Flows"), h("span", {}, "›"), h("span", {}, r.id));
    current = new FlowView(r.id);
    document.title = `${r.id} · Polyflow`;
  } else if (r.view === "bad") {
    fill(crumbs, h("a", { href: "#/" }, "Flows"), h("span", {}, "›"), h("span", {}, "unknown address"));
    document.title = "Unknown address · Polyflow";
    fill(view, h("section.card", { id: "bad-address" },
      h("h1", {}, "This address names nothing on this page"),
      h("p", {}, "The part after # is ", h("code", {}, "#" + r.fragment), ": ", r.reason, "."),
      h("p", {}, h("a", { href: "#/" }, "Go to the flows and runners"))));
    return;
  } else {
    fill(crumbs, h("span", {}, "Flows and runners"));
    current = new OverviewView();
    document.title = "Polyflow";
  }
  current.mount(view);
}

boot();
