'use strict';
// What the bench's fake node runtimes share (bench/fake_runtimes, bench/fake_runtimes_ping): the
// fifos from the command line, `hello`, and the answers to control frames. docs/protocol.md, just
// enough; no module code runs.
const fs = require('node:fs');

function openWire(argv) {
  const arg = (name) => argv[argv.indexOf(name) + 1];
  const inFd = fs.openSync(arg('--in'), 'r');
  const outFd = fs.openSync(arg('--out'), 'w');
  let moduleIds = [];

  function writeAll(data) {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) {
      try {
        off += fs.writeSync(outFd, buf, off, buf.length - off);
      } catch (e) {
        if (e.code !== 'EAGAIN') throw e;
      }
    }
  }

  // The frames that answer control frame `obj` (configure/swap -> configured/swapped,
  // report -> stats, stop -> stats + bye), as text; `stopped` is true after `stop`.
  function answer(obj, counts) {
    const modules = {};
    switch (obj.t) {
      case 'configure':
      case 'swap':
        moduleIds = (obj.modules || []).map((m) => m.id);
        for (const id of moduleIds) modules[id] = { ok: true };
        return { text: JSON.stringify({ t: obj.t === 'swap' ? 'swapped' : 'configured', modules }) + '\n', stopped: false };
      case 'report':
      case 'stop': {
        for (const id of moduleIds) modules[id] = { in: counts.in, out: counts.out, errors: 0, state: {} };
        const stats = JSON.stringify({ t: 'stats', modules }) + '\n';
        return obj.t === 'stop' ? { text: stats + '{"t":"bye"}\n', stopped: true } : { text: stats, stopped: false };
      }
      default:
        return { text: '', stopped: false }; // mode: ignored
    }
  }

  writeAll(JSON.stringify({ t: 'hello', protocol: 1, runtime: 'node', name: 'Node.js', version: process.versions.node, pid: process.pid }) + '\n');
  return { inFd, writeAll, answer };
}

module.exports = { openWire };
