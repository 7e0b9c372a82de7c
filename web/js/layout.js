// A layered layout for flow graphs (left to right), readable up to ~50
// modules: cycles broken by reversing DFS back edges, longest-path layers,
// long edges split by dummy points, barycentre ordering sweeps, then
// coordinates. Pure: no DOM, so it can be tested alone.

/**
 * @param {string[]} nodes ids, in document order
 * @param {{from: string, to: string}[]} edges between node ids (duplicates and self-loops allowed)
 * @param {{width?: number, height?: number, gapX?: number, gapY?: number}} size
 * @returns {{nodes: Map<string, {x, y, layer, order}>, edges: {from, to, points: {x, y}[], loop: boolean}[], width, height}}
 */
export function layout(nodes, edges, size = {}) {
  const W = size.width ?? 212, H = size.height ?? 64, GX = size.gapX ?? 48, GY = size.gapY ?? 28, M = 20;
  const index = new Map(nodes.map((id, i) => [id, i]));
  const valid = edges.filter((e) => index.has(e.from) && index.has(e.to));

  // 1. Break cycles: an edge to a node on the DFS stack is reversed for layering.
  const out = new Map(nodes.map((id) => [id, []]));
  for (const e of valid) if (e.from !== e.to) out.get(e.from).push(e.to);
  const reversed = new Set();
  const mark = new Map();
  const visit = (v) => {
    mark.set(v, 1);
    for (const w of out.get(v)) {
      if (mark.get(w) === 1) reversed.add(v + "\u0000" + w);
      else if (!mark.has(w)) visit(w);
    }
    mark.set(v, 2);
  };
  for (const id of nodes) if (!mark.has(id)) visit(id);
  const dag = [];
  for (const e of valid) {
    if (e.from === e.to) continue;
    const key = e.from + "\u0000" + e.to;
    dag.push(reversed.has(key) ? { from: e.to, to: e.from } : { from: e.from, to: e.to });
  }

  // 2. Longest path layering (Kahn's order).
  const preds = new Map(nodes.map((id) => [id, []]));
  const succs = new Map(nodes.map((id) => [id, []]));
  const indeg = new Map(nodes.map((id) => [id, 0]));
  for (const e of dag) { succs.get(e.from).push(e.to); preds.get(e.to).push(e.from); indeg.set(e.to, indeg.get(e.to) + 1); }
  const layer = new Map();
  const queue = nodes.filter((id) => indeg.get(id) === 0);
  for (let i = 0; i < queue.length; i++) {
    const v = queue[i];
    layer.set(v, Math.max(0, ...preds.get(v).map((p) => layer.get(p) + 1)));
    for (const w of succs.get(v)) { indeg.set(w, indeg.get(w) - 1); if (indeg.get(w) === 0) queue.push(w); }
  }
  for (const id of nodes) if (!layer.has(id)) layer.set(id, 0); // unreachable in a DAG; defensive

  // 3. Dummy points for edges spanning several layers.
  const layers = [];
  const put = (id, l) => { (layers[l] ||= []).push(id); };
  for (const id of nodes) put(id, layer.get(id));
  const chains = []; // per dag edge: the ids from its start to its end, dummies between
  const up = new Map(), down = new Map(); // neighbours in the layer before / after
  const link = (a, b) => { (down.get(a) || down.set(a, []).get(a)).push(b); (up.get(b) || up.set(b, []).get(b)).push(a); };
  let dummies = 0;
  for (const e of dag) {
    const chain = [e.from];
    for (let l = layer.get(e.from) + 1; l < layer.get(e.to); l++) {
      const d = "\u0000d" + dummies++;
      layer.set(d, l);
      put(d, l);
      chain.push(d);
    }
    chain.push(e.to);
    for (let i = 0; i + 1 < chain.length; i++) link(chain[i], chain[i + 1]);
    chains.push(chain);
  }
  for (let l = 0; l < layers.length; l++) layers[l] ||= [];

  // 4. Barycentre ordering: sweep down then up, a few times, keeping the best.
  const pos = new Map();
  const number = () => layers.forEach((ids) => ids.forEach((id, i) => pos.set(id, i)));
  number();
  const crossings = () => {
    let c = 0;
    for (let l = 0; l + 1 < layers.length; l++) {
      const es = [];
      for (const a of layers[l]) for (const b of down.get(a) || []) es.push([pos.get(a), pos.get(b)]);
      for (let i = 0; i < es.length; i++) for (let j = i + 1; j < es.length; j++) {
        if ((es[i][0] - es[j][0]) * (es[i][1] - es[j][1]) < 0) c++;
      }
    }
    return c;
  };
  const sortBy = (l, neighbours) => {
    const bary = new Map(layers[l].map((id) => {
      const ns = neighbours.get(id) || [];
      return [id, ns.length ? ns.reduce((s, n) => s + pos.get(n), 0) / ns.length : pos.get(id)];
    }));
    layers[l].sort((a, b) => bary.get(a) - bary.get(b) || pos.get(a) - pos.get(b));
    layers[l].forEach((id, i) => pos.set(id, i));
  };
  let best = layers.map((ids) => ids.slice()), bestCrossings = crossings();
  for (let sweep = 0; sweep < 8 && bestCrossings > 0; sweep++) {
    if (sweep % 2 === 0) for (let l = 1; l < layers.length; l++) sortBy(l, up);
    else for (let l = layers.length - 2; l >= 0; l--) sortBy(l, down);
    const c = crossings();
    if (c < bestCrossings) { bestCrossings = c; best = layers.map((ids) => ids.slice()); }
  }
  best.forEach((ids, l) => { layers[l] = ids; });
  number();

  // 5. Coordinates: columns by layer; in each column, in order, each box as
  // near as it may be to the mean height of its neighbours in the column
  // before (then, for the first column, after), never closer than a row.
  const STEP = H + GY;
  const ys = new Map();
  const placeColumn = (ids, neighbours) => {
    let next = -Infinity;
    const placedYs = ids.map((id) => {
      const ns = (neighbours.get(id) || []).filter((n) => ys.has(n));
      const want = ns.length ? ns.reduce((t, n) => t + ys.get(n), 0) / ns.length : next === -Infinity ? 0 : next;
      const y = Math.max(want, next);
      next = y + STEP;
      return y;
    });
    // Boxes pushed down by those above them: lift the column by half the push, not above 0.
    const push = ids.reduce((t, id, i) => {
      const ns = (neighbours.get(id) || []).filter((n) => ys.has(n));
      return t + (ns.length ? placedYs[i] - ns.reduce((u, n) => u + ys.get(n), 0) / ns.length : 0);
    }, 0) / Math.max(1, ids.length);
    const lift = Math.min(push / 2, placedYs[0] ?? 0);
    ids.forEach((id, i) => ys.set(id, placedYs[i] - lift));
  };
  layers.forEach((ids) => placeColumn(ids, up));
  if (layers.length > 1) { layers[0].forEach((id) => ys.delete(id)); placeColumn(layers[0], down); }
  const top = Math.min(0, ...ys.values());
  const coord = new Map();
  layers.forEach((ids, l) => ids.forEach((id, i) => coord.set(id, { x: M + l * (W + GX), y: M + ys.get(id) - top, layer: l, order: i })));
  const bottom = Math.max(0, ...[...coord.values()].map((c) => c.y));
  const placed = new Map(nodes.map((id) => [id, coord.get(id)]));

  // Routes: out of the right side, through the dummy points, into the left side.
  const routeOf = new Map();
  dag.forEach((e, i) => routeOf.set(e.from + "\u0000" + e.to, chains[i]));
  const center = (id) => ({ x: coord.get(id).x + (id.startsWith("\u0000d") ? W / 2 : 0), y: coord.get(id).y + H / 2 });
  const routes = valid.map((e) => {
    if (e.from === e.to) {
      const c = coord.get(e.from);
      return { from: e.from, to: e.to, loop: true, points: [{ x: c.x + W, y: c.y + H / 2 }, { x: c.x + W / 2, y: c.y }] };
    }
    const back = reversed.has(e.from + "\u0000" + e.to);
    let chain = routeOf.get(back ? e.to + "\u0000" + e.from : e.from + "\u0000" + e.to);
    if (back) chain = chain.slice().reverse();
    const points = chain.map(center);
    points[0] = { x: coord.get(e.from).x + W, y: coord.get(e.from).y + H / 2 };
    points[points.length - 1] = { x: coord.get(e.to).x, y: coord.get(e.to).y + H / 2 };
    return { from: e.from, to: e.to, loop: false, back, points };
  });
  return {
    nodes: placed, edges: routes,
    width: M * 2 + layers.length * (W + GX) - GX,
    height: bottom + H + M,
    size: { W, H },
  };
}
