// Throughput of the browser runner's JavaScript (in Node, no browser, no network): the test plays
// a dispatcher over an in-memory socket and sends PF1 batches of small frames to one browser
// module (`module.exports = (msg) => msg.payload`) whose output goes back to the peer runner as
// PF1 batches; acks flow both ways within the window.
//   node runtimes/browser/bench/runner_bench.js [messages]
// What it measures: the codec, streams, the in-tab pipe to the core and the core itself: an upper
// bound for a tab, whose WebSocket and the dispatcher come on top.

import { connect } from '../polyflow.js';
import { FakeSocket } from '../test_support/fake_socket.js';
import { systemClock } from '../runner/clock.js';
import { encodeBatch, decodeBatch } from '../protocol/data_batch.js';

const total = Number(process.argv[2] || 200000);
const BATCH = 256;
const WINDOW = 1024;
const sockets = [];
const quiet = { log() {}, info() {}, debug() {}, warn() {}, error() {}, trace() {} };
const runner = connect({ server: '127.0.0.1:1', name: 'tab-1', clock: systemClock(), console: quiet, pageErrors: false,
  openSocket: (url) => { const s = new FakeSocket(url); sockets.push(s); return s; } });
const socket = sockets[0];

const flow = {
  id: 'b', connections: [{ from: 'up.out', to: 'echo.in' }, { from: 'echo.out', to: 'down.in' }],
  modules: [
    { id: 'echo', runtime: 'browser', code: 'module.exports = (msg) => msg.payload;' },
    { id: 'up', runtime: 'python3', code: '' }, { id: 'down', runtime: 'python3', code: '' },
  ],
};

let sent = 0; // frames to the tab
let theirAck = 0; // the tab's ack of our frames
let received = 0; // frames from the tab
let started = 0n;
let done = null;
let pumpPlanned = false;
let ackedBack = 0; // the recv/ack we last told the tab

function pump() {
  let moved = false;
  while (sent < total && sent - theirAck < WINDOW) {
    const n = Math.min(BATCH, total - sent, WINDOW - (sent - theirAck));
    const frames = [];
    for (let i = 0; i < n; i++) frames.push({ gen: 1, flow: 'b', module: 'echo', port: 'in', payload: `{"i":${sent + i}}` });
    const bytes = encodeBatch({ from: 'cpu-1', fromSession: 2, to: 'tab-1', toSession: 1, firstSeq: sent + 1, recv: received, ack: received }, frames);
    sent += n;
    moved = true;
    socket.onmessage({ data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) });
  }
  if (!moved && received > ackedBack) { // a bare ack: our recv and ack of the tab's frames moved
    const bytes = encodeBatch({ from: 'cpu-1', fromSession: 2, to: 'tab-1', toSession: 1, firstSeq: sent + 1, recv: received, ack: received }, []);
    socket.onmessage({ data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) });
  }
  ackedBack = received;
}

socket.send = (data) => {
  if (typeof data === 'string') {
    const m = JSON.parse(data);
    if (m.t === 'reply' && m.id === 1) { started = process.hrtime.bigint(); pump(); }
    return;
  }
  const batch = decodeBatch(data);
  received += batch.frames.length;
  theirAck = Math.max(theirAck, batch.header.ack);
  if (received >= total && done === null) {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    done = seconds;
    console.log(`browser runner (node ${process.versions.node}) ${total} messages: ${Math.round(total / seconds).toLocaleString('en-US')} msg/s`);
    runner.close();
    process.exit(0);
  }
  if (!pumpPlanned) {
    pumpPlanned = true;
    setImmediate(() => { pumpPlanned = false; pump(); });
  }
};

socket.open();
socket.receive({ t: 'welcome', protocol: 1, runner: 'tab-1', session: 1, heartbeatMs: 1000, lostAfterMs: 3000, window: WINDOW, maxFrameBytes: 16777216, maxMessageBytes: 16842752, drop: [] });
socket.receive({ t: 'command', id: 1, command: { op: 'deploy', deploy: { flow, placed: [{ module: 'echo', gen: 1 }], routes: [{ module: 'up', runner: 'cpu-1', session: 2, gen: 1 }, { module: 'down', runner: 'cpu-1', session: 2, gen: 1 }], start: true } } });
