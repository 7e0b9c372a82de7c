// How one module's status from getFlow reads on the page: its counters (made
// consistent with its recorded errors), compact numbers for the graph's
// boxes, and where it runs, or why it runs nowhere. Pure: no DOM, so it can
// be tested alone (web/tests/module-status.test.mjs).

/** 999 → "999", 12345 → "12.3k", 123456 → "123k", 1234567 → "1.23M": at most 5 characters. */
export function compact(n) {
  if (typeof n !== "number" || !Number.isFinite(n)) return "?";
  const a = Math.abs(n), sign = n < 0 ? "-" : "";
  if (a < 1000) return sign + String(Math.round(a));
  for (const [size, unit] of [[1e3, "k"], [1e6, "M"], [1e9, "G"], [1e12, "T"]]) {
    const v = a / size;
    if (v < 999.5 || unit === "T") {
      const digits = v < 9.995 ? 2 : v < 99.95 ? 1 : 0;
      // 1.20k reads as 1.2k: trailing zeros go.
      return sign + String(Number(v.toFixed(digits))) + unit;
    }
  }
  return sign + String(a);
}

/**
 * The counters to show. The server counts messages from each runtime's
 * periodic stats, but records an error (lastError, recentErrors) at once, so
 * for up to ~2 s a fresh error sits beside `errors 0`. Shown errors are never
 * fewer than the errors recorded in the same answer.
 */
export function countersOf(st) {
  if (!st) return null;
  const recorded = Math.max(Array.isArray(st.recentErrors) ? st.recentErrors.length : 0, st.lastError ? 1 : 0);
  const errors = Math.max(num(st.errors), recorded);
  return { in: num(st.messagesIn), out: num(st.messagesOut), errors, queued: num(st.queued) };
}

function num(v) { return typeof v === "number" && Number.isFinite(v) ? v : 0; }

/**
 * Where the module runs, as text, and why it runs nowhere when it does not:
 * `{runner, state, placed, reason, waitsFor, waiting}`. `runner` is what the
 * server says (never a guess); `waiting` is the number of messages held for
 * an unplaced or unreachable module when the server reports it (`waiting`),
 * else null.
 *
 * @param {object|undefined} st the module's entry in getFlow's `modules`
 * @param {object|undefined} module the module in the flow document
 */
export function placementOf(st, module) {
  const state = st?.state ?? "unknown";
  const waiting = typeof st?.waiting === "number" ? st.waiting : null;
  if (state === "unplaced") {
    return { runner: null, state, placed: false, reason: st.unplacedReason || "no runner can take it", waitsFor: waitsFor(module, st), waiting };
  }
  if (state === "unreachable") {
    const runner = st.runner ?? null;
    return {
      runner, state, placed: false,
      reason: st.unreachableReason || (runner ? `runner ${runner} does not answer` : "its runner does not answer"),
      waitsFor: runner ? `runner ${runner} to answer again, or another runner to take it` : "its runner to answer again",
      waiting,
    };
  }
  return { runner: st?.runner ?? null, state, placed: !!st?.runner, reason: null, waitsFor: null, waiting: null };
}

/** "a python3 runner with the tags gpu, eu" from the module's runtime and requireTags. */
function waitsFor(module, st) {
  const runtime = module?.runtime ?? st?.runtime ?? "matching";
  const tags = module?.requireTags ?? [];
  if (runtime === "browser" && !tags.length) return "a browser runner: a tab with the runner page, or the page's switch";
  return `a ${runtime} runner` + (tags.length ? ` with the tag${tags.length === 1 ? "" : "s"} ${tags.join(", ")}` : "") + " to join";
}

/** "running, in 3, out 3, errors 0, queued 0": a module's state and counters as one sentence (aria-label). */
export function describe(st, module) {
  const c = countersOf(st);
  const p = placementOf(st, module);
  const where = p.state === "unplaced" ? `unplaced: ${p.reason}`
    : p.state === "unreachable" ? `unreachable: ${p.reason}`
    : p.runner ? `on runner ${p.runner}` : "runner not reported";
  const counts = c ? `in ${c.in}, out ${c.out}, errors ${c.errors}, queued ${c.queued}` : "no counters";
  return `${p.state}, ${where}, ${counts}`;
}
