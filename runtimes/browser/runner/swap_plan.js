// What a hot swap of one flow's browser modules does (docs/protocol.md, "Hot swap"), decided
// from the old and new tables alone: which modules changed (code, config or ports), which were
// added (with their state when they move here from elsewhere), which were removed, and the
// module specs of the core's `swap` frame. Pure: flow_host.js carries it out. The JavaScript twin
// of FlowDiff (Sources/FlowModel/HotSwap/FlowDiff.swift) and of the swap frame FlowRun.swap sends
// (HostMessage.Swap); both pass Tests/Fixtures/vectors/swap-plan.json.

import { jsonEqual } from './json_equal.js';

/** Same code, config (by value, whatever the order of its keys) and ports: not touched. */
function sameSpec(a, b) {
  return a.code === b.code && jsonEqual(a.config, b.config)
    && JSON.stringify(a.inputs) === JSON.stringify(b.inputs) && JSON.stringify(a.outputs) === JSON.stringify(b.outputs);
}

/**
 * before: the tables running now; tables: the new ones; placed: Map module -> { gen, state }.
 * Returns { changed, added, removed, loaded (swap-frame specs), nothing (no swap needed) }.
 */
function planSwap(before, tables, placed) {
  const old = new Map(before.specs.map((s) => [s.id, s]));
  const changed = [];
  const added = [];
  for (const spec of tables.specs) {
    const was = old.get(spec.id);
    if (was === undefined) added.push(spec.id);
    else if (!sameSpec(was, spec)) changed.push(spec.id);
  }
  const removed = [...old.keys()].filter((id) => !placed.has(id));
  const sameTables = JSON.stringify([tables.slots, tables.routes]) === JSON.stringify([before.slots, before.routes]);
  const loaded = tables.specs.filter((s) => changed.includes(s.id) || added.includes(s.id)).map((spec) => {
    const isNew = added.includes(spec.id);
    const state = isNew ? placed.get(spec.id).state : null; // null: a changed module keeps its ctx.state
    return { ...spec, state, init: isNew && state === null, swap: !isNew || state !== null };
  });
  const nothing = changed.length === 0 && added.length === 0 && removed.length === 0 && sameTables;
  return { changed, added, removed, loaded, nothing };
}

export { planSwap };
