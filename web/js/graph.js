// Draws a flow as SVG: one box per module (coloured by runtime, with its
// runner and live counters), one path per connection. Layout from layout.js;
// counters and marks are updated in place by `update`, without redrawing.
import { s } from "./dom.js";
import { layout } from "./layout.js";

export class FlowGraph {
  /**
   * @param {object} flow the flow document
   * @param {{onSelect(id), onToggleBreakpoint(id)}} actions
   */
  constructor(flow, actions) {
    this.flow = flow;
    this.actions = actions;
    this.boxes = new Map();
    const ids = flow.modules.map((m) => m.id);
    const edges = (flow.connections || []).map((c) => ({ from: c.from.split(".")[0], to: c.to.split(".")[0], c }));
    const L = layout(ids, edges);
    const { W, H } = L.size;
    const svg = s("svg", {
      class: "graph", width: L.width, height: L.height, viewBox: `0 0 ${L.width} ${L.height}`,
      role: "group", "aria-label": `graph of flow ${flow.id}: ${ids.length} modules, ${edges.length} connections`,
    });
    svg.append(s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }))));
    const edgeLayer = s("g", { class: "edges" });
    L.edges.forEach((r, i) => {
      const c = edges[i].c;
      const path = s("path", { class: "edge" + (r.back ? " back" : ""), d: pathOf(r, W, H), "marker-end": "url(#arrow)", "data-from": c.from, "data-to": c.to },
        s("title", {}, `${c.from} → ${c.to}`));
      edgeLayer.append(path);
    });
    svg.append(edgeLayer);
    for (const m of flow.modules) {
      const p = L.nodes.get(m.id);
      const box = this.moduleBox(m, p.x, p.y, W, H);
      svg.append(box.g);
      this.boxes.set(m.id, box);
    }
    this.svg = svg;
  }

  moduleBox(m, x, y, W, H) {
    const select = () => this.actions.onSelect(m.id);
    const key = (fn) => (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); fn(); } };
    const toggle = (e) => { e.stopPropagation(); this.actions.onToggleBreakpoint(m.id); };
    const counters = s("text", { x: x + 24, y: y + 52, class: "counters" });
    const runner = s("text", { x: x + W - 8, y: y + 16, class: "runner", "text-anchor": "end" });
    const held = s("text", { x: x + W - 8, y: y + 34, class: "held", "text-anchor": "end" });
    const gutter = s("circle", {
      cx: x + 12, cy: y + H / 2, r: 6, class: "bp", tabindex: 0, role: "button",
      "aria-label": `breakpoint on ${m.id}`, "aria-pressed": "false", "data-breakpoint": m.id,
      onclick: toggle, onkeydown: key(() => this.actions.onToggleBreakpoint(m.id)),
    }, s("title", {}, `toggle the breakpoint on ${m.id}`));
    const g = s("g", {
      class: `module rt-${m.runtime}`, "data-module": m.id, tabindex: 0, role: "button",
      "aria-label": `module ${m.id} (${m.runtime})`, onclick: select, onkeydown: key(select),
    },
    s("rect", { x, y, width: W, height: H, rx: 6, class: "box" }),
    s("rect", { x, y, width: 4, height: H, class: "stripe" }),
    s("text", { x: x + 24, y: y + 20, class: "name" }, clip(m.id, 16)),
    s("text", { x: x + 24, y: y + 35, class: "runtime" }, m.runtime),
    runner, held, counters, gutter);
    return { g, counters, runner, held, gutter };
  }

  /**
   * Updates the live parts from getFlow: counters, module states, the
   * breakpoints, the paused module and the held messages.
   */
  update(info, selected) {
    const statuses = new Map((info.modules || []).map((m) => [m.id, m]));
    const bps = new Map((info.breakpoints || []).map((b) => [b.module, b]));
    const pausedAt = info.status === "paused" ? info.pausedAt?.module : null;
    for (const [id, box] of this.boxes) {
      const st = statuses.get(id);
      box.counters.textContent = st
        ? `in ${st.messagesIn} · out ${st.messagesOut} · err ${st.errors} · q ${st.queued}`
        : "not running";
      box.counters.setAttribute("data-in", st?.messagesIn ?? 0);
      box.counters.setAttribute("data-out", st?.messagesOut ?? 0);
      box.counters.setAttribute("data-errors", st?.errors ?? 0);
      box.counters.setAttribute("data-queued", st?.queued ?? 0);
      box.runner.textContent = st?.runner ?? info.runnerOf?.(id) ?? "local";
      const heldCount = info.status === "paused" && st ? st.queued : 0;
      box.held.textContent = heldCount ? `${heldCount} held` : "";
      const bp = bps.get(id);
      box.gutter.classList.toggle("on", !!bp);
      box.gutter.setAttribute("aria-pressed", bp ? "true" : "false");
      box.g.classList.toggle("has-breakpoint", !!bp);
      box.g.classList.toggle("paused", pausedAt === id);
      box.g.classList.toggle("holding", heldCount > 0);
      box.g.classList.toggle("errored", !!st && st.errors > 0);
      box.g.classList.toggle("selected", selected === id);
      box.g.setAttribute("data-state", st?.state ?? "stopped");
    }
  }
}

function clip(text, n) { return text.length > n ? text.slice(0, n - 1) + "…" : text; }

function pathOf(r, W, H) {
  const p = r.points;
  if (r.loop) {
    const a = p[0], b = p[1];
    return `M${a.x},${a.y} C${a.x + 40},${a.y} ${a.x + 30},${b.y - 30} ${b.x + 20},${b.y - 20} S${b.x},${b.y - 10} ${b.x},${b.y}`;
  }
  let d = `M${p[0].x},${p[0].y}`;
  for (let i = 1; i < p.length; i++) {
    const a = p[i - 1], b = p[i];
    const dx = Math.max(20, (b.x - a.x) / 2);
    d += ` C${a.x + dx},${a.y} ${b.x - dx},${b.y} ${b.x},${b.y}`;
  }
  return d;
}
