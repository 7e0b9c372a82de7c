// `#/`: every flow (state, revision, runtimes) and every runner (runtimes,
// tags, heartbeat age) at a glance. Runners come from `listRunners`; a
// server without it (JSON-RPC -32601) is shown as itself, "this server",
// with the runtimes of `listRuntimes`: the page does not name a runner the
// server did not name.
import { call } from "./api.js";
import { h, fill, age } from "./dom.js";

export class OverviewView {
  mount(el) {
    this.flows = h("div", { id: "flows" }, h("p.muted", {}, "Loading flows…"));
    this.runners = h("div", { id: "runners" }, h("p.muted", {}, "Loading runners…"));
    this.error = h("p.error", { role: "alert" });
    fill(el,
      h("section.card", {}, h("h1", {}, "Flows"), this.error, this.flows),
      h("section.card", {}, h("h2", {}, "Runners"), this.runners));
    this.refresh();
    this.poll = setInterval(() => this.refresh(), 3000);
  }

  unmount() { clearInterval(this.poll); clearTimeout(this.pending); }

  onEvent(event) {
    if (event.type === "state" || event.type === "swapped" || event.type === "paused" || event.type === "resumed") {
      clearTimeout(this.pending);
      this.pending = setTimeout(() => this.refresh(), 150);
    }
  }

  async refresh() {
    try {
      const flows = await call("listFlows");
      const runners = await runnersOrLocal(flows);
      this.error.textContent = "";
      this.renderFlows(flows);
      this.renderRunners(runners);
    } catch (e) {
      this.error.textContent = e.message;
    }
  }

  renderFlows(flows) {
    if (!flows.length) {
      fill(this.flows, h("p.muted", {}, "No flow is deployed. Deploy one with ",
        h("code", {}, "flowctl addOrUpdateFlow examples/flows/pipeline.json"), "."));
      return;
    }
    fill(this.flows, h("div.table-wrap", {}, h("table", {},
      h("thead", {}, h("tr", {}, ["Flow", "State", "Revision", "Modules", "Runtimes", "Description"].map((t) => h("th", {}, t)))),
      h("tbody", {}, flows.map((f) => h("tr", { dataset: { flow: f.id } },
        h("td", {}, h("a", { href: `#/flows/${encodeURIComponent(f.id)}` }, f.id)),
        h("td", {}, h("span.pill." + f.status, {}, f.status), f.started ? "" : h("span.muted", {}, " (not started)")),
        h("td", {}, String(f.revision)),
        h("td", {}, String(f.modules)),
        h("td", {}, (f.runtimes || []).map((r) => h("span.tag", {}, r))),
        h("td.muted", {}, f.description || "")))))));
  }

  renderRunners(runners) {
    fill(this.runners, h("div.table-wrap", {}, h("table", {},
      h("thead", {}, h("tr", {}, ["Runner", "State", "Runtimes", "Tags", "Last heartbeat", "Modules"].map((t) => h("th", {}, t)))),
      h("tbody", {}, runners.map((r) => h("tr", { dataset: { runner: r.id } },
        h("td", {}, r.name || r.id),
        h("td", {}, h("span.pill." + (r.state || "connected"), {}, r.state || "connected")),
        h("td", {}, (r.runtimes || []).map((rt) => h("span.tag", { title: rt.name ? `${rt.name} ${rt.version || ""}` : "" },
          typeof rt === "string" ? rt : `${rt.id} ${rt.version || ""}`))),
        h("td", {}, (r.tags || []).length ? r.tags.map((t) => h("span.tag", {}, t)) : h("span.muted", {}, "—")),
        h("td", {}, r.local ? "in this server" : age(heartbeatAge(r.lastSeenMs))),
        h("td", {}, moduleCount(r.modules))))))));
  }
}

/** `lastSeenMs` as an age: an epoch time (ms) is turned into one; a small number already is one. */
function heartbeatAge(lastSeenMs) {
  if (typeof lastSeenMs !== "number") return null;
  return lastSeenMs > 1e12 ? Math.max(0, Date.now() - lastSeenMs) : lastSeenMs;
}

function moduleCount(modules) {
  if (modules === undefined || modules === null) return "—";
  if (Array.isArray(modules)) return String(modules.length);
  return String(modules);
}

/** `listRunners`, or, for a server that does not have it, the server itself (its runtimes, no runner name guessed). */
export async function runnersOrLocal(flows = []) {
  try {
    return await call("listRunners");
  } catch (e) {
    if (e.code !== -32601) throw e;
    const runtimes = await call("listRuntimes");
    const modules = flows.reduce((n, f) => n + (f.modules || 0), 0);
    return [{ id: "this-server", name: "this server (it does not list its runners)", state: "connected", runtimes, tags: [], local: true, modules }];
  }
}
