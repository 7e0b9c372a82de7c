// "Disable all breakpoints" and "Resume, ignoring breakpoints": the API has
// breakpoints set or removed, nothing in between, so disabling removes them
// at the server and keeps them (with their conditions) for this tab, in
// sessionStorage, to be restored with one click.
import { call } from "./api.js";

const key = (flowId) => "polyflow.disabledBreakpoints." + flowId;

/** The breakpoints disabled from this tab: [{module, condition?}]. */
export function disabledBreakpoints(flowId) {
  try {
    const list = JSON.parse(sessionStorage.getItem(key(flowId)) || "[]");
    return Array.isArray(list) ? list.filter((b) => b && typeof b.module === "string") : [];
  } catch { return []; }
}

function keep(flowId, list) {
  if (list.length) sessionStorage.setItem(key(flowId), JSON.stringify(list));
  else sessionStorage.removeItem(key(flowId));
}

/** Removes every breakpoint of the flow at the server, keeping them here; resolves to how many. */
export async function disableAll(flowId, breakpoints) {
  const kept = new Map(disabledBreakpoints(flowId).map((b) => [b.module, b]));
  let n = 0;
  for (const bp of breakpoints || []) {
    await call("removeBreakPointAtModule", { flowModuleId: `${flowId}/${bp.module}` });
    kept.set(bp.module, bp.condition ? { module: bp.module, condition: bp.condition } : { module: bp.module });
    keep(flowId, [...kept.values()]);
    n += 1;
  }
  return n;
}

/**
 * Sets the disabled breakpoints again; resolves to the problems (a module
 * that is gone since): `[{module, message}]`. Those are forgotten too.
 */
export async function restoreAll(flowId) {
  const problems = [];
  for (const bp of disabledBreakpoints(flowId)) {
    const params = { flowModuleId: `${flowId}/${bp.module}` };
    if (bp.condition) params.condition = bp.condition;
    try {
      await call("setBreakPointAtModule", params);
    } catch (e) {
      if (e.unauthorized || e.code === -1) throw e; // not the breakpoint's fault: kept for the next try
      problems.push({ module: bp.module, message: e.message });
    }
    keep(flowId, disabledBreakpoints(flowId).filter((b) => b.module !== bp.module));
  }
  return problems;
}
