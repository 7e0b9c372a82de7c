'use strict';
// Hand-wired baseline: the node step of "python writer -> node relay -> python reader",
// no engine. Reads NDJSON from one fifo, parses each line, doubles `qty`, and writes the
// re-encoded line to another fifo. Same techniques as the engine's node runtime: a
// net.Socket on the fifo fd for reading (epoll), one blocking writeSync per chunk read.
//   node handwired_relay.js IN_FIFO OUT_FIFO
const fs = require('node:fs');
const net = require('node:net');

const [inPath, outPath] = process.argv.slice(2);
// input first: opening a fifo blocks until its other end is opened too
const input = new net.Socket({ fd: fs.openSync(inPath, 'r'), readable: true, writable: false });
const outFd = fs.openSync(outPath, 'w');

function writeAll(text) {
  const bytes = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < bytes.length) {
    try {
      off += fs.writeSync(outFd, bytes, off, bytes.length - off);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
    }
  }
}

let rest = '';
input.on('data', (chunk) => {
  const lines = (rest + chunk.toString('utf8')).split('\n');
  rest = lines.pop();
  let out = '';
  for (const line of lines) {
    const p = JSON.parse(line);
    p.qty = p.qty * 2;
    out += JSON.stringify(p) + '\n';
  }
  if (out) writeAll(out);
});
input.on('end', () => { fs.closeSync(outFd); process.exit(0); });
