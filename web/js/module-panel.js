// The selected module: its state, counters, held messages, last error and
// logs, and its breakpoint with an optional condition on the payload
// (`{pointer, equals}` or `{pointer, exists}`, as in docs/debugging.md).
import { call } from "./api.js";
import { h, fill, json } from "./dom.js";
import { countersOf, placementOf } from "./module-status.js";

export class ModulePanel {
  constructor(flowId, changed) {
    this.flowId = flowId;
    this.changed = changed;
    this.error = h("p.error", { id: "breakpoint-error", role: "alert" });
    this.note = h("p.note", { role: "status" });
    this.body = h("div", {}, h("h2", {}, "Module"), h("p.muted", {}, "Click a module in the graph to see it here."));
    this.el = h("div", {}, this.body, this.error, this.note);
    this.shownId = null;
    this.form = null;
  }

  /** Sets or removes the breakpoint without a condition (the dot on a module). */
  async toggle(id, info) {
    this.error.textContent = "";
    this.note.textContent = "";
    const has = (info?.breakpoints || []).some((b) => b.module === id);
    try {
      if (has) await call("removeBreakPointAtModule", { flowModuleId: `${this.flowId}/${id}` });
      else await call("setBreakPointAtModule", { flowModuleId: `${this.flowId}/${id}` });
      this.note.textContent = has ? `Breakpoint on ${id} removed.` : `Breakpoint set on ${id}: the flow pauses when a message reaches it.`;
    } catch (e) {
      this.error.textContent = e.message;
    }
    this.changed();
  }

  show(id, info) {
    if (!id) {
      if (this.shownId !== null) fill(this.body, h("h2", {}, "Module"), h("p.muted", {}, "Click a module in the graph to see it here."));
      this.shownId = null;
      return;
    }
    const module = info.flow.modules.find((m) => m.id === id);
    const st = (info.modules || []).find((m) => m.id === id);
    const bp = (info.breakpoints || []).find((b) => b.module === id);
    if (this.shownId !== id) {
      this.shownId = id;
      this.form = this.breakpointForm(id);
      this.live = h("div");
      fill(this.body, h("h2", {}, `Module ${id}`), this.live, this.form.el);
      this.error.textContent = "";
      this.note.textContent = "";
    }
    this.form.update(bp);
    const c = countersOf(st);
    const p = placementOf(st, module);
    const state = st?.state || "unknown";
    fill(this.live,
      h("p", {}, h("span.tag", {}, module?.runtime), h("span.pill." + state, { id: "module-state" }, state),
        " ", h("span.muted", { id: "module-runner" }, p.state === "unplaced" ? "runs on no runner"
          : p.state === "unreachable" ? `runner ${p.runner ?? "?"} does not answer`
          : p.runner ? `on runner ${p.runner}` : "the server did not say which runner runs it")),
      p.reason ? h("div.placement", { id: "module-placement" },
        h("p", {}, h("strong", {}, state === "unplaced" ? "Why it runs nowhere: " : "Why it is unreachable: "), p.reason),
        h("p", {}, h("strong", {}, "Waits for: "), p.waitsFor),
        h("p", {}, h("strong", {}, "Messages waiting: "), p.waiting !== null ? String(p.waiting)
          : "held until it is placed")) : null,
      c ? h("p.mono", { id: "module-counters", dataset: { in: c.in, out: c.out, errors: c.errors, queued: c.queued } },
        `in ${c.in} · out ${c.out} · errors ${c.errors} · queued ${c.queued}`) : null,
      st?.queuedPayloads?.length ? [h("h3", {}, `Held (${st.queued})`), h("pre.held-payloads", {}, st.queuedPayloads.map((p) => json(p)).join("\n"))] : null,
      st?.moduleState !== undefined && st?.moduleState !== null ? [h("h3", {}, "State"), h("pre", { id: "module-state-json" }, json(st.moduleState, true))] : null,
      st?.lastError ? [h("h3", {}, "Last error"), h("pre.error", { id: "module-last-error" }, st.lastError.message + (st.lastError.stack ? "\n" + st.lastError.stack : ""))] : null,
      st?.recentLogs?.length ? [h("h3", {}, "Recent logs"), h("pre", { id: "module-logs" }, st.recentLogs.slice(-10).map((l) => `${l.level} ${l.text}`).join("\n"))] : null);
  }

  breakpointForm(id) {
    const mode = h("select", { id: "bp-mode", "aria-label": "when to pause" },
      h("option", { value: "always" }, "on every message"),
      h("option", { value: "equals" }, "when the value at the pointer equals"),
      h("option", { value: "exists" }, "when the pointer exists"),
      h("option", { value: "missing" }, "when the pointer is missing"));
    const pointer = h("input", { type: "text", id: "bp-pointer", placeholder: "/order/total (empty: the whole payload)", value: "" });
    const equals = h("input", { type: "text", id: "bp-equals", placeholder: "JSON, e.g. \"world\" or 0" });
    const set = h("button.primary", { type: "submit", id: "bp-set" }, "Set breakpoint");
    const remove = h("button", { type: "button", id: "bp-remove", onclick: async () => {
      this.error.textContent = ""; this.note.textContent = "";
      try {
        await call("removeBreakPointAtModule", { flowModuleId: `${this.flowId}/${id}` });
        this.note.textContent = `Breakpoint on ${id} removed.`;
      } catch (e) { this.error.textContent = e.message; }
      this.changed();
    } }, "Remove");
    const current = h("p.muted", { id: "bp-current" });
    const sync = () => {
      pointer.disabled = mode.value === "always";
      equals.disabled = mode.value !== "equals";
    };
    mode.addEventListener("change", sync);
    sync();
    const el = h("form", {
      onsubmit: async (ev) => {
        ev.preventDefault();
        this.error.textContent = ""; this.note.textContent = "";
        const params = { flowModuleId: `${this.flowId}/${id}` };
        if (mode.value !== "always") {
          const p = pointer.value;
          if (p !== "" && !p.startsWith("/")) {
            this.error.textContent = `Pointer "${p}" is not a JSON Pointer: start it with "/" (e.g. /user/id), or leave it empty for the whole payload.`;
            pointer.focus();
            return;
          }
          const condition = { pointer: p };
          if (mode.value === "equals") {
            try { condition.equals = JSON.parse(equals.value); } catch (e) {
              this.error.textContent = `The value to compare is not JSON (${e.message}): write strings in quotes, e.g. "world".`;
              equals.focus();
              return;
            }
          } else {
            condition.exists = mode.value === "exists";
          }
          params.condition = condition;
        }
        try {
          await call("setBreakPointAtModule", params);
          this.note.textContent = `Breakpoint set on ${id}.`;
        } catch (e) { this.error.textContent = e.message; }
        this.changed();
      },
    },
    h("h3", {}, "Breakpoint"), current,
    h("label", { for: "bp-mode" }, "Pause"), mode,
    h("label", { for: "bp-pointer" }, "JSON Pointer into the payload"), pointer,
    h("label", { for: "bp-equals" }, "Value (JSON)"), equals,
    h("div.toolbar.actions", {}, set, remove));
    return {
      el,
      update: (bp) => {
        remove.disabled = !bp;
        set.textContent = bp ? "Update breakpoint" : "Set breakpoint";
        current.textContent = bp ? (bp.condition ? `Set, when ${json(bp.condition)}` : "Set, on every message") : "None.";
      },
    };
  }
}
