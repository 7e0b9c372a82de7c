#!/usr/bin/env node
'use strict';
// Bench-only fake "node" runtime: a frame blaster for the host-routing case.
// It speaks docs/protocol.md just enough (hello, configure -> configured,
// stop -> stats + bye) and runs no module code. A data frame
// `D<slot> {"n": N, "bytes": B}` makes it write N pre-encoded data frames
// `D<route> <payload of about B bytes>` on the route of its module's first
// output, as fast as the fifo takes them, then ack the trigger.
// Started by the real host when POLYFLOW_RUNTIMES points at bench/fake_runtimes.
const fs = require('node:fs');
const path = require('node:path');
const { openWire } = require(path.join(__dirname, '..', 'fake_wire.js'));

const { inFd, writeAll, answer } = openWire(process.argv.slice(2));

let routes = [];      // [{module, port, remote}]
let received = 0;     // data frames received
let sent = 0;         // data frames written

function blast(trigger) {
  const n = trigger.n | 0;
  const bytes = Math.max(trigger.bytes | 0, 20);
  const route = routes.find((r) => r.remote !== null && r.remote !== undefined);
  if (!route) throw new Error('fake blaster: no remote route in configure');
  const filler = 'x'.repeat(Math.max(0, bytes - 36));
  const payload = JSON.stringify({ i: 123456, sku: 'ABC-12345', f: filler });
  const frame = `D${route.remote} ${payload}\n`;
  const perChunk = Math.max(1, Math.floor((1 << 20) / frame.length));
  const chunk = Buffer.from(frame.repeat(perChunk));
  let left = n;
  while (left >= perChunk) { writeAll(chunk); left -= perChunk; }
  if (left > 0) writeAll(Buffer.from(frame.repeat(left)));
  sent += n;
}

function control(obj) {
  if (obj.routes) routes = obj.routes;
  const { text, stopped } = answer(obj, { in: received, out: sent });
  if (text) writeAll(text);
  if (stopped) process.exit(0);
}

const buf = Buffer.alloc(1 << 20);
let rest = Buffer.alloc(0);
for (;;) {
  let n;
  try {
    n = fs.readSync(inFd, buf, 0, buf.length, null);
  } catch (e) {
    if (e.code === 'EAGAIN') continue;
    if (e.code === 'EOF') break;
    throw e;
  }
  if (n === 0) break;
  let data = rest.length ? Buffer.concat([rest, buf.subarray(0, n)]) : buf.subarray(0, n);
  let start = 0;
  let nl;
  while ((nl = data.indexOf(10, start)) !== -1) {
    const line = data.toString('utf8', start, nl);
    start = nl + 1;
    if (line[0] === 'D') {
      received++;
      blast(JSON.parse(line.slice(line.indexOf(' ') + 1)));
      writeAll(Buffer.from(`A${received}\n`));
    } else if (line[0] === '{') {
      control(JSON.parse(line));
    }
  }
  rest = Buffer.from(data.subarray(start));
}
process.exit(0);
