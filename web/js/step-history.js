// The results of the steps taken from this page, newest first, each one
// shown per module: what it consumed per input port, what it emitted per
// output port, its errors with their stacks, and its state after the step.
import { h, fill, json } from "./dom.js";

const KEEP = 200;

export class StepHistory {
  constructor(flowId) {
    this.flowId = flowId;
    this.steps = [];
    this.shown = null;
    this.list = h("ol.step-list", { id: "step-list", "aria-label": "steps taken" });
    this.detail = h("div", { id: "step-detail", "aria-live": "polite" },
      h("p.muted", {}, "Set a breakpoint (the dot on a module), inject a message, then Step: each step's result shows here."));
    this.el = h("div.steps", {}, this.list, this.detail);
    this.count = 0;
  }

  /** Adds a step's result; `source` says when it was not taken on this page. */
  add(result, source) {
    this.count += 1;
    this.steps.unshift({ n: this.count, time: new Date(), result: result || {}, source });
    if (this.steps.length > KEEP) this.steps.length = KEEP;
    this.show(this.steps[0]);
  }

  show(step) {
    this.shown = step;
    fill(this.list, this.steps.map((s) => h("li", {}, h("button", {
      "aria-current": s === step ? "true" : "false",
      onclick: () => this.show(s),
    }, `Step ${s.n} · ${Object.keys(s.result).length} module${Object.keys(s.result).length === 1 ? "" : "s"}`,
    h("br"), h("span.muted", {}, s.time.toLocaleTimeString() + (s.source ? ", " + s.source : ""))))));
    const entries = Object.entries(step.result);
    fill(this.detail,
      h("h3", {}, `Step ${step.n}` + (step.source ? ` (${step.source})` : "")),
      entries.length === 0
        ? h("p.muted.empty-step", {}, "Nothing was queued: this step ran no module.")
        : entries.map(([key, r]) => moduleResult(key, r)));
  }
}

function moduleResult(key, r) {
  const ports = (o) => {
    const e = Object.entries(o || {});
    return e.length ? e.map(([port, v]) => h("div", {}, h("code", {}, port), ": ", h("code.payload", {}, json(v)))) : h("span.muted", {}, "nothing");
  };
  const errors = r.errors || [];
  return h("section.step-module", { dataset: { module: key } },
    h("h4", {}, key),
    h("dl", {},
      h("dt", {}, "inputs"), h("dd.inputs", {}, ports(r.inputStates)),
      h("dt", {}, "outputs"), h("dd.outputs", {}, ports(r.outputStates)),
      h("dt", {}, "errors"), h("dd.err", {}, errors.length
        ? errors.map((e) => h("pre", {}, (e.message || "") + (e.stack ? "\n" + e.stack : "")))
        : h("span.muted", {}, "none")),
      h("dt", {}, "state"), h("dd.state", {}, h("pre", {}, json(r.state, true)))));
}
