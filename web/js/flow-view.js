// `#/flows/ID`: the flow's graph with live counters, the debugger (Step,
// Resume, breakpoints, step history), the selected module, the inject form
// and the live tail. Counters come from `getFlow`, fetched again shortly
// after each event of the flow (and every 2 s as a fallback), one call in
// flight at a time. A flow that does not exist, or is removed while shown,
// is said so in place of the view.
import { call } from "./api.js";
import { h, fill, json } from "./dom.js";
import { FlowGraph, MIN_SCALE } from "./graph.js";
import { ModulePanel } from "./module-panel.js";
import { InjectForm } from "./inject-form.js";
import { StepHistory } from "./step-history.js";
import { Tail } from "./tail.js";
import { disableAll, disabledBreakpoints, restoreAll } from "./breakpoints.js";

export class FlowView {
  constructor(flowId) {
    this.flowId = flowId;
    this.info = null;
    this.graph = null;
    this.selected = null;
    this.revision = null;
    this.everLoaded = false;
    this.gone = false;
  }

  mount(el) {
    this.el = el;
    this.dead = false;
    this.render();
    this.refresh();
    this.poll = setInterval(() => this.refresh(), 2000);
  }

  render() {
    const el = this.el;
    this.graph = null;
    this.revision = null;
    this.status = h("span.pill", { id: "flow-status" }, "…");
    this.pausedAt = h("span.paused-at", { id: "paused-at" });
    this.reason = h("p.flow-reason", { id: "flow-reason", role: "status" });
    this.stepButton = h("button", { id: "step", onclick: () => this.step(), title: "Each module with a queued message processes its oldest one (a running flow is paused first)" }, "Step");
    this.resumeButton = h("button", { id: "resume", onclick: () => this.resume(), title: "Run on until the next breakpoint" }, "Resume");
    this.resumeIgnoringButton = h("button", { id: "resume-ignoring", onclick: () => this.resume({ ignoreBreakpoints: true }),
      title: "Disable every breakpoint of the flow (they can be restored), then resume: the flow runs on without pausing again" }, "Resume, ignoring breakpoints");
    this.disableButton = h("button", { id: "disable-breakpoints", onclick: () => this.disableBreakpoints(),
      title: "Remove every breakpoint of the flow from the server; this tab keeps them to restore" }, "Disable all breakpoints");
    this.restoreButton = h("button", { id: "restore-breakpoints", onclick: () => this.restoreBreakpoints(), hidden: true }, "Restore breakpoints");
    this.debugError = h("p.error", { id: "debug-error", role: "alert" });
    this.debugNote = h("p.note", { id: "debug-note", role: "status" });
    this.graphWrap = h("div.graph-wrap", { id: "graph" }, h("p.muted", {}, "Loading the flow…"));
    this.loadError = h("p.error", { id: "load-error", role: "alert" });
    this.history = new StepHistory(this.flowId);
    this.panel = new ModulePanel(this.flowId, () => this.refresh());
    this.inject = new InjectForm(this.flowId, () => this.scheduleRefresh());
    this.tail = new Tail(this.flowId);
    fill(el,
      h("div.flow-layout", {},
        h("div", {},
          h("section.card", {},
            h("div.toolbar", {}, h("h1.inline", {}, this.flowId), this.status, this.pausedAt),
            this.reason,
            h("div.toolbar.debug-actions", { role: "group", "aria-label": "debugger" },
              this.stepButton, this.resumeButton, this.resumeIgnoringButton, this.disableButton, this.restoreButton),
            this.debugError, this.debugNote, this.loadError, this.graphWrap,
            h("div.legend", {}, h("span", {}, h("i.rt-python3"), "python3"),
              h("span", {}, h("i.rt-node"), "node"),
              h("span", {}, h("i.rt-browser"), "browser"),
              h("span", {}, "● breakpoint (click the dot) · click a module for details"))),
          h("section.card", { id: "steps" }, h("h2", {}, "Step results"), this.history.el),
          h("section.card", {}, h("h2", {}, "Live tail"), this.tail.el)),
        h("aside", {},
          h("section.card", { id: "module-panel" }, this.panel.el),
          h("section.card", { id: "inject" }, h("h2", {}, "Inject a message"), this.inject.el))));
    this.resized?.disconnect();
    this.resized = typeof ResizeObserver === "function" ? new ResizeObserver(() => this.fitGraph()) : null;
    this.resized?.observe(this.graphWrap);
    this.syncRestore();
  }

  unmount() {
    this.dead = true;
    clearInterval(this.poll);
    clearTimeout(this.pending);
    this.resized?.disconnect();
  }

  onEvent(event) {
    // A `dropped` notice without a flowId concerns the whole subscription (this flow's events among them).
    if (event.type === "dropped" && !event.flowId) {
      if (!this.gone) this.tail.add(event);
      this.scheduleRefresh();
      return;
    }
    if (event.flowId !== this.flowId) return;
    if (!this.gone) {
      this.tail.add(event);
      if (event.type === "stepped" && !this.isOwnStep(event.result)) this.history.add(event.result || {}, "from another client");
    }
    this.scheduleRefresh();
  }

  /** One getFlow shortly after a burst of events (an error, output or log moves the counters too). */
  scheduleRefresh() {
    if (this.pending) return;
    this.pending = setTimeout(() => { this.pending = null; this.refresh(); }, 120);
  }

  /** getFlow, one call in flight at a time: a refresh asked for meanwhile runs once it is back. */
  refresh() {
    if (this.dead) return Promise.resolve();
    if (this.inFlight) { this.again = true; return this.inFlight; }
    this.inFlight = this.load().finally(() => {
      this.inFlight = null;
      if (this.again && !this.dead) { this.again = false; this.refresh(); }
    });
    return this.inFlight;
  }

  async load() {
    let info;
    try {
      info = await call("getFlow", { flowId: this.flowId });
    } catch (e) {
      if (this.dead) return;
      if (e.data?.code === "unknown-flow") this.showGone(e);
      else {
        this.loadError.textContent = e.message;
        if (!this.graph) fill(this.graphWrap, h("p.muted", {}, "The flow could not be loaded (above); trying again every 2 s."));
      }
      return;
    }
    if (this.dead) return;
    if (this.gone) { this.gone = false; this.render(); } // deployed again
    this.everLoaded = true;
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
      this.fitGraph();
      this.inject.setFlow(flow);
    }
    this.graph.update(info, this.selected);
    this.status.textContent = info.status;
    this.status.className = "pill " + info.status;
    this.reason.textContent = info.reason ? `${info.status === "degraded" ? "Degraded" : "Note"}: ${info.reason}` : "";
    const at = info.status === "paused" && info.pausedAt;
    this.pausedAt.textContent = at ? `paused at ${at.module}.${at.port} on ${json(at.payload).slice(0, 80)}` : "";
    const paused = info.status === "paused";
    // Step is the thing to do only while the flow is paused; while it runs, a Step would pause it first.
    this.stepButton.classList.toggle("primary", paused);
    this.resumeButton.disabled = !paused;
    this.resumeIgnoringButton.disabled = !paused;
    this.disableButton.disabled = !(info.breakpoints || []).length;
    this.syncRestore();
    this.panel.show(this.selected, info);
  }

  /** The flow is not (or no longer) on the server: say so instead of the view; a later deploy brings it back. */
  showGone(error) {
    const message = String(error.message || "").replace(/^getFlow: /, "");
    if (!this.gone) {
      this.gone = true;
      this.graph = null;
      this.resized?.disconnect();
      const removed = this.everLoaded;
      fill(this.el, h("section.card", { id: "flow-gone", role: "alert" },
        h("h1", {}, removed ? `The flow ${this.flowId} was removed` : `No flow named ${this.flowId}`),
        h("p", {}, removed ? "It is no longer on the server; what this page showed of it is gone. " : "The server has no flow by that name. ",
          "It shows here again if it is deployed again."),
        h("p.muted", { id: "flow-gone-reason" }, "The server said: " + message),
        h("p", {}, h("a", { href: "#/", id: "flow-gone-home" }, "Back to the flows and runners"))));
    }
  }

  fitGraph() {
    const svg = this.graph?.svg;
    if (!svg) return;
    // Shrinks a graph a little too wide to fit, only as far as the breakpoint dots stay 24 px; a larger one scrolls in its box.
    const natural = Number(svg.getAttribute("width"));
    svg.classList.toggle("fit", natural * MIN_SCALE <= this.graphWrap.clientWidth);
  }

  select(id) {
    this.selected = this.selected === id ? null : id;
    if (this.info) { this.graph.update(this.info, this.selected); this.panel.show(this.selected, this.info); }
  }

  async step() {
    this.clearNotes();
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

  async resume({ ignoreBreakpoints = false } = {}) {
    this.clearNotes();
    try {
      let disabled = 0;
      if (ignoreBreakpoints) disabled = await disableAll(this.flowId, this.info?.breakpoints);
      const resumed = await call("resumeFlow", { flowId: this.flowId });
      if (!resumed) this.debugError.textContent = "Resume: the flow was not paused.";
      else if (ignoreBreakpoints) this.debugNote.textContent = `Resumed with ${disabled} breakpoint${disabled === 1 ? "" : "s"} disabled: the flow runs on. Restore them with "Restore breakpoints".`;
    } catch (e) {
      this.debugError.textContent = "Resume failed: " + e.message;
    }
    this.syncRestore();
    this.refresh();
  }

  async disableBreakpoints() {
    this.clearNotes();
    try {
      const n = await disableAll(this.flowId, this.info?.breakpoints);
      this.debugNote.textContent = `${n} breakpoint${n === 1 ? "" : "s"} disabled (kept in this tab: "Restore breakpoints" sets them again).`;
    } catch (e) {
      this.debugError.textContent = "Disabling the breakpoints failed: " + e.message;
    }
    this.syncRestore();
    this.refresh();
  }

  async restoreBreakpoints() {
    this.clearNotes();
    try {
      const problems = await restoreAll(this.flowId);
      if (problems.length) this.debugError.textContent = "Not restored: " + problems.map((p) => `${p.module} (${p.message})`).join("; ");
      else this.debugNote.textContent = "Breakpoints restored.";
    } catch (e) {
      this.debugError.textContent = "Restoring the breakpoints failed: " + e.message;
    }
    this.syncRestore();
    this.refresh();
  }

  syncRestore() {
    const n = disabledBreakpoints(this.flowId).length;
    this.restoreButton.hidden = n === 0;
    this.restoreButton.textContent = `Restore ${n} breakpoint${n === 1 ? "" : "s"}`;
  }

  clearNotes() { this.debugError.textContent = ""; this.debugNote.textContent = ""; }
}
