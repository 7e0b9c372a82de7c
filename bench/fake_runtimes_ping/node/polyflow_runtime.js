#!/usr/bin/env node
'use strict';
// Bench-only fake "node" runtime for the host-latency probe: echoes every data frame at once,
// unparsed, on the route of its module's first output, with an ack. No module code runs.
// Speaks docs/protocol.md just enough: hello, configure -> configured, stop -> stats + bye.
const fs = require('node:fs');
const path = require('node:path');
const { openWire } = require(path.join(__dirname, '..', '..', 'fake_runtimes', 'fake_wire.js'));

const { inFd, writeAll, answer } = openWire(process.argv.slice(2));

let route = null;
let received = 0;
const buf = Buffer.alloc(1 << 20);
let rest = '';
for (;;) {
  let n;
  try { n = fs.readSync(inFd, buf, 0, buf.length, null); } catch (e) { if (e.code === 'EAGAIN') continue; if (e.code === 'EOF') break; throw e; }
  if (n === 0) break;
  const lines = (rest + buf.toString('utf8', 0, n)).split('\n');
  rest = lines.pop();
  let out = '';
  for (const line of lines) {
    if (line[0] === 'D') {
      received++;
      out += `D${route} ${line.slice(line.indexOf(' ') + 1)}\nA${received}\n`;
    } else if (line[0] === '{') {
      const obj = JSON.parse(line);
      if (obj.routes) route = obj.routes.find((r) => r.remote !== null && r.remote !== undefined).remote;
      const { text, stopped } = answer(obj, { in: received, out: received });
      out += text;
      if (stopped) { writeAll(out); process.exit(0); }
    }
  }
  if (out) writeAll(out);
}
process.exit(0);
