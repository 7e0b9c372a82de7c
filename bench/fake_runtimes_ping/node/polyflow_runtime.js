#!/usr/bin/env node
'use strict';
// Bench-only fake "node" runtime for the host-latency probe: echoes every data frame at once,
// unparsed, on the route of its module's first output, with an ack. No module code runs.
// Speaks docs/protocol.md just enough: hello, configure -> configured, stop -> stats + bye.
const fs = require('node:fs');

const args = process.argv.slice(2);
const arg = (name) => args[args.indexOf(name) + 1];
const inFd = fs.openSync(arg('--in'), 'r');
const outFd = fs.openSync(arg('--out'), 'w');
const writeAll = (text) => {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) {
    try { off += fs.writeSync(outFd, buf, off, buf.length - off); } catch (e) { if (e.code !== 'EAGAIN') throw e; }
  }
};
writeAll(JSON.stringify({ t: 'hello', protocol: 1, runtime: 'node', name: 'Node.js', version: process.versions.node, pid: process.pid }) + '\n');

let route = null;
let ids = [];
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
      if (obj.t === 'configure' || obj.t === 'swap') {
        ids = (obj.modules || []).map((m) => m.id);
        route = (obj.routes || []).find((r) => r.remote !== null && r.remote !== undefined).remote;
        const modules = {};
        for (const id of ids) modules[id] = { ok: true };
        out += JSON.stringify({ t: obj.t === 'swap' ? 'swapped' : 'configured', modules }) + '\n';
      } else if (obj.t === 'stop' || obj.t === 'report') {
        const modules = {};
        for (const id of ids) modules[id] = { in: received, out: received, errors: 0, state: {} };
        out += JSON.stringify({ t: 'stats', modules }) + '\n';
        if (obj.t === 'stop') { writeAll(out + '{"t":"bye"}\n'); process.exit(0); }
      }
    }
  }
  if (out) writeAll(out);
}
process.exit(0);
