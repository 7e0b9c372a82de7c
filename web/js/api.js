// The public API as the page uses it: JSON-RPC over `POST /rpc`, and the
// WebSocket at `/rpc` for `subscribe` → `event` notifications. The token
// (when the server has one) lives in sessionStorage: this tab only.

const TOKEN_KEY = "polyflow.token";

/** A JSON-RPC error (or an HTTP refusal) with the server's message. */
export class RPCError extends Error {
  constructor(message, code, data, status) {
    super(message);
    this.code = code;
    this.data = data;
    this.status = status;
  }
  /** The server wants a (different) token. */
  get unauthorized() { return this.status === 401; }
}

export function storedToken() { return sessionStorage.getItem(TOKEN_KEY) || ""; }
export function storeToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token); else sessionStorage.removeItem(TOKEN_KEY);
}

let nextId = 1;

/** Calls one method over HTTP; resolves to its result, rejects with an RPCError. */
export async function call(method, params = {}) {
  const headers = { "Content-Type": "application/json" };
  const token = storedToken();
  if (token) headers.Authorization = "Bearer " + token;
  let response;
  try {
    response = await fetch("/rpc", {
      method: "POST", headers, cache: "no-store",
      body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params }),
    });
  } catch (e) {
    throw new RPCError(`${method}: the server cannot be reached (${e.message}); is flowctl serve running?`, -1, null, 0);
  }
  let body = null;
  try { body = await response.json(); } catch { /* not JSON: handled below */ }
  if (response.status === 401) window.dispatchEvent(new CustomEvent("polyflow:unauthorized"));
  if (body && body.error) {
    const e = body.error;
    const details = detailText(e.data);
    throw new RPCError(`${method}: ${e.message}${details ? " — " + details : ""}`, e.code, e.data, response.status);
  }
  if (!response.ok || !body) {
    throw new RPCError(`${method}: the server answered HTTP ${response.status}`, -1, null, response.status);
  }
  return body.result;
}

function detailText(data) {
  if (!data || typeof data !== "object") return "";
  if (Array.isArray(data.problems)) return data.problems.map((p) => (p.path ? p.path + ": " : "") + (p.reason || p.message || "")).join("; ");
  return "";
}

/**
 * The event socket: subscribes on every (re)connection and reconnects with
 * back-off when it drops. `onEvent(params)` gets each event; `onStatus(state,
 * detail)` hears "open", "closed" (with the attempt's delay) and "refused".
 */
export class EventSocket {
  constructor({ filter = {}, onEvent, onStatus }) {
    this.filter = filter;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.attempt = 0;
    this.stopped = false;
    this.timer = null;
    this.ws = null;
  }

  start() { this.stopped = false; this.open(); return this; }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) { this.ws.onclose = null; this.ws.close(); this.ws = null; }
  }

  /** Changes what is subscribed to (sent again on the open socket). */
  subscribe(filter) {
    this.filter = filter;
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.sendSubscribe();
  }

  open() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const token = storedToken();
    const url = `${scheme}//${location.host}/rpc` + (token ? "?token=" + encodeURIComponent(token) : "");
    const ws = new WebSocket(url);
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.attempt = 0;
      this.sendSubscribe();
      this.onStatus("open");
    };
    ws.onmessage = (m) => {
      let msg;
      try { msg = JSON.parse(m.data); } catch { return; }
      if (msg.method === "event" && msg.params) this.onEvent(msg.params);
      else if (msg.error && msg.id === "subscribe") this.onStatus("refused", msg.error.message);
    };
    ws.onclose = () => {
      if (this.stopped) return;
      this.ws = null;
      const delay = Math.min(500 * 2 ** this.attempt, 5000);
      this.attempt += 1;
      this.onStatus("closed", { delay, attempt: this.attempt, wasOpen: opened });
      this.timer = setTimeout(() => this.open(), delay);
    };
  }

  sendSubscribe() {
    const params = {};
    if (this.filter.flowId) params.flowId = this.filter.flowId;
    this.ws.send(JSON.stringify({ jsonrpc: "2.0", id: "subscribe", method: "subscribe", params }));
  }
}
