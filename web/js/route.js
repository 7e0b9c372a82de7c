// What the URL fragment names: `#/` the overview, `#/flows/ID` one flow, or
// a fragment that cannot be read (a malformed percent-escape such as
// `%E0%A4%A`, an id that is not a flow id). Pure: no DOM, so it can be
// tested alone (web/tests/route.test.mjs).

const FLOW_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * @param {string} hash `location.hash`, with or without its `#`
 * @returns {{view: "overview"} | {view: "flow", id: string} | {view: "bad", fragment: string, reason: string}}
 */
export function parseRoute(hash) {
  const raw = String(hash ?? "").replace(/^#/, "");
  let path;
  try {
    path = decodeURIComponent(raw);
  } catch {
    return { view: "bad", fragment: raw, reason: "it holds a malformed percent-escape (a % not followed by a valid UTF-8 sequence)" };
  }
  if (path === "" || path === "/") return { view: "overview" };
  const flow = path.match(/^\/flows\/([^/]*)\/?$/);
  if (flow) {
    if (FLOW_ID.test(flow[1])) return { view: "flow", id: flow[1] };
    return { view: "bad", fragment: raw, reason: "a flow id is 1 to 64 letters, digits, _ or -" };
  }
  return { view: "bad", fragment: raw, reason: "the page knows #/ (the flows) and #/flows/ID (one flow)" };
}
