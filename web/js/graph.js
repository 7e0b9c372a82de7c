// Draws a flow as SVG: one box per module (coloured by runtime, with its
// runner and live counters), one path per connection. Layout from layout.js;
// counters and marks are updated in place by `update`, without redrawing.
import { s } from "./dom.js";
import { layout } from "./layout.js";
import { compact, countersOf, placementOf, describe } from "./module-status.js";

/** A module's box; the breakpoint dot's hit area is a 28 px circle, so at the smallest scale the page uses (MIN_SCALE) it stays 24 px. */
export const BOX = { width: 232, height: 64 };
const HIT_R = 14, DOT_R = 8, TEXT_X = 32;
export const MIN_SCALE = 24 / (2 * HIT_R);

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
    const L = layout(ids, edges, BOX);
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
    const countersTitle = s("title");
    const counters = s("text", { x: x + TEXT_X, y: y + 52, class: "counters" }, countersTitle);
    const countersText = document.createTextNode("");
    counters.prepend(countersText);
    const runner = s("tspan", { class: "runner" });
    const placeTitle = s("title");
    const place = s("text", { x: x + TEXT_X, y: y + 36, class: "place" }, s("tspan", { class: "runtime" }, m.runtime), " · ", runner, placeTitle);
    const held = s("text", { x: x + W - 8, y: y + 36, class: "held", "text-anchor": "end" });
    // The dot: a 28 px hit area (focusable, the button) around a 16 px visible dot.
    const gutter = s("circle", {
      cx: x + 14, cy: y + H / 2, r: HIT_R, class: "bp", tabindex: 0, role: "button",
      "aria-label": `breakpoint on ${m.id}`, "aria-pressed": "false", "data-breakpoint": m.id,
      onclick: toggle, onkeydown: key(() => this.actions.onToggleBreakpoint(m.id)),
    }, s("title", {}, `toggle the breakpoint on ${m.id}`));
    const dot = s("circle", { cx: x + 14, cy: y + H / 2, r: DOT_R, class: "bp-dot", "aria-hidden": "true" });
    const g = s("g", {
      class: `module rt-${m.runtime}`, "data-module": m.id, tabindex: 0, role: "button",
      "aria-label": `module ${m.id} (${m.runtime})`, onclick: select, onkeydown: key(select),
    },
    s("rect", { x, y, width: W, height: H, rx: 6, class: "box" }),
    s("rect", { x, y, width: 4, height: H, class: "stripe" }),
    s("text", { x: x + TEXT_X, y: y + 20, class: "name" }, clip(m.id, 22), s("title", {}, m.id)),
    place, held, counters, gutter, dot);
    return { g, module: m, counters, countersText, countersTitle, runner, place, placeTitle, held, gutter, dot, avail: W - TEXT_X - 8, shown: null };
  }

  /**
   * Updates the live parts from getFlow: counters, module states, where each
   * module runs (or why it runs nowhere), the breakpoints, the paused module
   * and the held messages.
   */
  update(info, selected) {
    const statuses = new Map((info.modules || []).map((m) => [m.id, m]));
    const bps = new Map((info.breakpoints || []).map((b) => [b.module, b]));
    const pausedAt = info.status === "paused" ? info.pausedAt?.module : null;
    for (const [id, box] of this.boxes) {
      const st = statuses.get(id);
      const c = countersOf(st);
      const text = c
        ? `in ${compact(c.in)} · out ${compact(c.out)} · err ${compact(c.errors)} · q ${compact(c.queued)}`
        : "no status";
      box.countersTitle.textContent = c ? `in ${c.in}, out ${c.out}, errors ${c.errors}, queued ${c.queued}` : "the server reported no status for this module";
      box.counters.setAttribute("data-in", c?.in ?? 0);
      box.counters.setAttribute("data-out", c?.out ?? 0);
      box.counters.setAttribute("data-errors", c?.errors ?? 0);
      box.counters.setAttribute("data-queued", c?.queued ?? 0);
      if (box.shown !== text) {
        box.shown = text;
        box.countersText.data = text;
        fitText(box.counters, box.avail);
      }
      const p = placementOf(st, box.module);
      box.runner.textContent = p.state === "unplaced" ? "unplaced"
        : p.state === "unreachable" ? `${clip(p.runner ?? "runner", 12)} unreachable`
        : p.runner ? clip(p.runner, 18) : "runner not reported";
      box.placeTitle.textContent = p.reason
        ? `${p.state}: ${p.reason}` + (p.waitsFor ? `; waits for ${p.waitsFor}` : "")
        : p.runner ? `runs on runner ${p.runner}` : "the server did not say which runner runs it";
      const heldCount = info.status === "paused" && st ? st.queued : 0;
      box.held.textContent = heldCount ? `${compact(heldCount)} held` : (p.waiting ? `${compact(p.waiting)} wait` : "");
      const bp = bps.get(id);
      box.gutter.classList.toggle("on", !!bp);
      box.dot.classList.toggle("on", !!bp);
      box.gutter.setAttribute("aria-pressed", bp ? "true" : "false");
      box.g.classList.toggle("has-breakpoint", !!bp);
      box.g.classList.toggle("paused", pausedAt === id);
      box.g.classList.toggle("holding", heldCount > 0);
      box.g.classList.toggle("errored", !!c && c.errors > 0);
      box.g.classList.toggle("selected", selected === id);
      box.g.classList.toggle("unplaced", p.state === "unplaced" || p.state === "unreachable");
      box.g.setAttribute("data-state", st?.state ?? "unknown");
      box.g.setAttribute("aria-label", `module ${id} (${box.module.runtime}): ${describe(st, box.module)}`
        + (bp ? ", breakpoint set" : "") + (pausedAt === id ? ", the flow is paused here" : "") + (heldCount ? `, ${heldCount} held` : ""));
    }
  }
}

/** Squeezes a text that is wider than `avail` (a counter of many digits in a long line) into it. */
function fitText(text, avail) {
  text.removeAttribute("textLength");
  text.removeAttribute("lengthAdjust");
  let width = 0;
  try { width = text.getComputedTextLength(); } catch { return; } // not laid out (detached): left as is
  if (width > avail) {
    text.setAttribute("textLength", avail);
    text.setAttribute("lengthAdjust", "spacingAndGlyphs");
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
