// The flow's outputs, errors, logs and debugger events as they come, newest
// last, filtered by kind and text, and bounded: the oldest go past `KEEP`.
import { h, fill, json } from "./dom.js";

const KEEP = 500;

export class Tail {
  constructor(flowId) {
    this.flowId = flowId;
    this.entries = [];
    this.dropped = 0;
    this.kind = h("select", { id: "tail-kind", "aria-label": "kinds shown", onchange: () => this.render() },
      ["all", "output", "error", "log", "debug", "state"].map((k) => h("option", { value: k }, k)));
    this.filter = h("input", { type: "text", id: "tail-filter", placeholder: "filter: text in module, port or payload", oninput: () => this.render() });
    this.clear = h("button", { type: "button", id: "tail-clear", onclick: () => { this.entries = []; this.dropped = 0; this.render(); } }, "Clear");
    this.info = h("span.muted", { id: "tail-info" });
    this.list = h("ol.tail", { id: "tail", "aria-live": "off" });
    this.el = h("div", {}, h("div.tail-controls", {}, this.kind, this.filter, this.clear, this.info), this.list);
    this.render();
  }

  add(event) {
    const entry = toEntry(event);
    if (!entry) return;
    this.entries.push(entry);
    if (this.entries.length > KEEP) { this.entries.shift(); this.dropped += 1; }
    if (this.matches(entry)) {
      const stick = this.list.scrollTop + this.list.clientHeight >= this.list.scrollHeight - 4;
      this.list.append(line(entry));
      while (this.list.childElementCount > KEEP) this.list.firstElementChild.remove();
      if (stick) this.list.scrollTop = this.list.scrollHeight;
    }
    this.count();
  }

  matches(e) {
    const k = this.kind.value, f = this.filter.value.trim().toLowerCase();
    return (k === "all" || e.kind === k) && (!f || e.text.toLowerCase().includes(f));
  }

  render() {
    fill(this.list, this.entries.filter((e) => this.matches(e)).map(line));
    this.list.scrollTop = this.list.scrollHeight;
    this.count();
  }

  count() {
    this.info.textContent = `${this.entries.length} kept (last ${KEEP})` + (this.dropped ? `, ${this.dropped} older dropped` : "");
  }
}

function toEntry(ev) {
  const time = new Date().toLocaleTimeString();
  switch (ev.type) {
    case "output": return { kind: "output", time, text: `${ev.module}.${ev.port} ${json(ev.payload)}` };
    case "error": return { kind: "error", time, text: `${ev.module}${ev.port ? "." + ev.port : ""} ${ev.message}${ev.payload !== undefined ? " on " + json(ev.payload) : ""}`, stack: ev.stack };
    case "log": return { kind: "log", time, text: `${ev.module ?? ev.runtime} [${ev.level}] ${ev.text}` };
    case "paused": return { kind: "debug", time, text: `paused${ev.module ? ` at ${ev.module}.${ev.port} on ${json(ev.payload)}` : ""}` };
    case "stepped": return { kind: "debug", time, text: `stepped: ${Object.keys(ev.result || {}).join(", ") || "nothing queued"}` };
    case "resumed": return { kind: "debug", time, text: "resumed" };
    case "state": return { kind: "state", time, text: `flow ${ev.state}${ev.reason ? ": " + ev.reason : ""}` };
    case "instance": return { kind: "state", time, text: `${ev.runtime} instance ${ev.state}${ev.pid ? " (pid " + ev.pid + ")" : ""}${ev.reason ? ": " + ev.reason : ""}` };
    case "swapped": return { kind: "state", time, text: `hot swap to revision ${ev.revision}` };
    case "dropped": return { kind: "state", time, text: `this page fell behind: ${ev.count ?? "some"} events dropped` };
    default: return null;
  }
}

function line(e) {
  return h("li." + e.kind, { dataset: { kind: e.kind } }, h("span.muted", {}, e.time + " "), h("span.kind", {}, e.kind), e.text,
    e.stack ? h("details", {}, h("summary", {}, "stack"), h("pre", {}, e.stack)) : null);
}
