// The flow's outputs, errors, logs and debugger events as they come, newest
// last, filtered by kind and text, and bounded: the oldest go past `KEEP`.
// Lines are drawn once per frame (a burst of thousands costs one layout).
// Events the server dropped for this page (`dropped` notices) are said in a
// line of the tail and in a note above it that stays.
import { h, fill, json } from "./dom.js";

const KEEP = 500;

export class Tail {
  constructor(flowId) {
    this.flowId = flowId;
    this.entries = [];
    this.dropped = 0;
    this.serverDropped = 0;
    this.fresh = 0;
    this.kind = h("select", { id: "tail-kind", onchange: () => this.render() },
      ["all", "output", "error", "log", "debug", "state"].map((k) => h("option", { value: k }, k)));
    this.filter = h("input", { type: "search", id: "tail-filter", placeholder: "text in module, port or payload", oninput: () => this.render() });
    this.clear = h("button", { type: "button", id: "tail-clear", onclick: () => {
      this.entries = []; this.dropped = 0; this.serverDropped = 0; this.notice.hidden = true; this.render();
    } }, "Clear");
    this.info = h("span.muted", { id: "tail-info" });
    this.notice = h("p.tail-notice", { id: "tail-notice", role: "status", hidden: true });
    this.list = h("ol.tail", { id: "tail", "aria-live": "off" });
    this.el = h("div", {}, h("div.tail-controls", {},
      h("label", { for: "tail-kind" }, "Show"), this.kind,
      h("label", { for: "tail-filter" }, "Filter"), this.filter, this.clear, this.info), this.notice, this.list);
    this.render();
  }

  add(event) {
    if (event.type === "dropped") this.noteDropped(event);
    const entry = toEntry(event);
    if (!entry) return;
    this.entries.push(entry);
    if (this.entries.length > KEEP) { this.entries.shift(); this.dropped += 1; }
    this.fresh = Math.min(this.fresh + 1, KEEP);
    if (!this.planned) {
      this.planned = true;
      requestAnimationFrame(() => { this.planned = false; this.flush(); });
    }
  }

  /** Draws the entries added since the last frame. */
  flush() {
    if (!this.fresh) return;
    const added = this.entries.slice(this.entries.length - this.fresh).filter((e) => this.matches(e));
    this.fresh = 0;
    const stick = this.list.scrollTop + this.list.clientHeight >= this.list.scrollHeight - 4;
    this.list.append(...added.map(line));
    while (this.list.childElementCount > KEEP) this.list.firstElementChild.remove();
    if (stick) this.list.scrollTop = this.list.scrollHeight;
    this.count();
  }

  noteDropped(event) {
    const n = Number(event.count) || 0;
    this.serverDropped += n;
    this.notice.hidden = false;
    this.notice.textContent = `The server dropped ${this.serverDropped} event${this.serverDropped === 1 ? "" : "s"} for this page `
      + `(${n} at ${new Date().toLocaleTimeString()}): it sent faster than the page could read. The tail misses them; `
      + "the counters above do not (they come from getFlow).";
  }

  matches(e) {
    if (e.kind === "notice") return true; // the tail's own gaps show whatever the filter
    const k = this.kind.value, f = this.filter.value.trim().toLowerCase();
    return (k === "all" || e.kind === k) && (!f || e.text.toLowerCase().includes(f));
  }

  render() {
    this.fresh = 0;
    fill(this.list, this.entries.filter((e) => this.matches(e)).map(line));
    this.list.scrollTop = this.list.scrollHeight;
    this.count();
  }

  count() {
    this.info.textContent = `${this.entries.length} kept (last ${KEEP})` + (this.dropped ? `, ${this.dropped} older dropped` : "")
      + (this.serverDropped ? `; the server dropped ${this.serverDropped} event${this.serverDropped === 1 ? "" : "s"} for this page` : "");
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
    case "dropped": return {
      kind: "notice", time,
      text: ev.flowId
        ? `this page fell behind: the server dropped ${ev.count ?? "some"} events of this flow (the counters above stay right: they come from getFlow)`
        : `this page fell behind: the server dropped ${ev.count ?? "some"} events of its subscription, of this flow or others (the counters above stay right: they come from getFlow)`,
    };
    default: return null;
  }
}

function line(e) {
  return h("li." + e.kind, { dataset: { kind: e.kind } }, h("span.muted", {}, e.time + " "), h("span.kind", {}, e.kind), e.text,
    e.stack ? h("details", {}, h("summary", {}, "stack"), h("pre", {}, e.stack)) : null);
}
