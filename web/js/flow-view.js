// `#/flows/ID`: the flow's graph with live counters, the debugger (Step,
// Resume, breakpoints, step history), the selected module, the inject form
// and the live tail. Counters come from `getFlow`, fetched again shortly
// after each event of the flow (and every 2 s as a fallback).
import { call } from "./api.js";
import { h, fill, json } from "./dom.js";
import { FlowGraph } from "./graph.js";
import { ModulePanel } from "./module-panel.js";
import { InjectForm } from "./inject-form.js";
import { StepHistory } from "./step-history.js";
import { Tail } from "./tail.js";

export class FlowView {
  constructor(flowId) {
    this.flowId = flowId;
    this.info = null;
    this.graph = null;
    this.selected = null;
    this.revision = null;
  }

  mount(el) {
    this.el = el;
    this.status = h("span.pill", { id: "flow-status" }, "…");
    this.pausedAt = h("span.paused-at", { id: "paused-at" });
    this.stepButton = h("button.primary", { id: "step", onclick: () => this.step(), title: "Each module with a queued message processes its oldest one" }, "Step");
    this.resumeButton = h("button", { id: "resume", onclick: () => this.resume(), title: "Run on until the next breakpoint" }, "Resume");
    this.debugError = h("p.error", { id: "debug-error", role: "alert" });
    this.graphWrap = h("div.graph-wrap", { id: "graph" }, h("p.muted", {}, "Loading the flow…"));
    this.loadError = h("p.error", { role: "alert" });
    this.history = new StepHistory(this.flowId);
    this.panel = new ModulePanel(this.flowId, () => this.refresh());
    this.inject = new InjectForm(this.flowId, () => this.scheduleRefresh());
    this.tail = new Tail(this.flowId);
    fill(el,
      h("div.flow-layout", {},
        h("div", {},
          h("section.card", {},
            h("div.toolbar", {}, h("h1.inline", {}, this.flowId), this.status, this.pausedAt,
              h("span.spacer"), this.stepButton, this.resumeButton),
            this.debugError, this.loadError, this.graphWrap,
            h("div.legend", {}, h("span", {}, h("i.rt-python3"), "python3"),
              h("span", {}, h("i.rt-node"), "node"),
              h("span", {}, h("i.rt-browser"), "browser"),
              h("span", {}, "● breakpoint (click the dot) · click a module for details"))),
          h("section.card", { id: "steps" }, h("h2", {}, "Step results"), this.history.el),
          h("section.card", {}, h("h2", {}, "Live tail"), this.tail.el)),
        h("aside", {},
          h("section.card", { id: "module-panel" }, this.panel.el),
          h("section.card", { id: "inject" }, h("h2", {}, "Inject a message"), this.inject.el))));
    this.refresh();
    this.poll = setInterval(() => this.refresh(), 2000);
  }

  unmount() { clearInterval(this.poll); clearTimeout(this.pending); }

  onEvent(event) {
    if (event.flowId !== this.flowId) return;
    this.tail.add(event);
    if (event.type === "stepped" && !this.isOwnStep(event.result)) this.history.add(event.result || {}, "from another client");
    this.scheduleRefresh();
  }

  scheduleRefresh() {
    if (this.pending) return;
    this.pending = setTimeout(() => { this.pending = null; this.refresh(); }, 120);
  }

  async refresh() {
    let info;
    try {
      info = await call("getFlow", { flowId: this.flowId });
    } catch (e) {
      this.loadError.textContent = e.data?.code === "unknown-flow"
        ? `No flow "${this.flowId}" on this server. Deploy it with flowctl addOrUpdateFlow, or go back to the list.`
        : e.message;
      return;
    }
    this.loadError.textContent = "";
    this.info = info;
    const flow = info.flow;
    if (!this.graph || this.revision !== info.revision) {
      this.revision = info.revision;
      this.graph = new FlowGraph(flow, {
        onSelect: (id) => this.select(id),
        onToggleBreakpoint: (id) => this.panel.toggle(id, this.info),
      });
      fill(this.graphWrap, this.graph.svg);
      // Shrink a graph a little too wide to fit (up to 1/1.5); a larger one scrolls at full size.
      const natural = Number(this.graph.svg.getAttribute("width"));
      this.graph.svg.classList.toggle("fit", natural <= this.graphWrap.clientWidth * 1.5);
      this.inject.setFlow(flow);
    }
    this.graph.update(info, this.selected);
    this.status.textContent = info.status;
    this.status.className = "pill " + info.status;
    const at = info.status === "paused" && info.pausedAt;
    this.pausedAt.textContent = at ? `paused at ${at.module}.${at.port} on ${json(at.payload).slice(0, 80)}` : "";
    this.resumeButton.disabled = info.status !== "paused";
    this.panel.show(this.selected, info);
  }

  select(id) {
    this.selected = this.selected === id ? null : id;
    if (this.info) { this.graph.update(this.info, this.selected); this.panel.show(this.selected, this.info); }
  }

  async step() {
    this.debugError.textContent = "";
    this.stepButton.disabled = true;
    this.stepping = true;
    try {
      const result = await call("singleStepFlow", { flowId: this.flowId });
      this.history.add(result);
      this.lastOwnStep = { keys: Object.keys(result || {}).sort().join(","), until: Date.now() + 2000 };
    } catch (e) {
      this.debugError.textContent = "Step failed: " + e.message;
    }
    this.stepping = false;
    this.stepButton.disabled = false;
    this.refresh();
  }

  /**
   * Whether a `stepped` event is the echo of a step taken here (its result is
   * already in the history): one arrives while our call is in flight, or
   * just after with the same modules. Steps taken elsewhere (flowctl) are not.
   */
  isOwnStep(result) {
    if (this.stepping) return true;
    const own = this.lastOwnStep;
    if (own && Date.now() < own.until && own.keys === Object.keys(result || {}).sort().join(",")) {
      this.lastOwnStep = null;
      return true;
    }
    return false;
  }

  async resume() {
    this.debugError.textContent = "";
    try {
      const resumed = await call("resumeFlow", { flowId: this.flowId });
      if (!resumed) this.debugError.textContent = "Resume: the flow was not paused.";
    } catch (e) {
      this.debugError.textContent = "Resume failed: " + e.message;
    }
    this.refresh();
  }
}
