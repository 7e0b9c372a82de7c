// Throughput of the Node runtime against a hand-written fifo relay, with the host's side played
// by this script: node runtimes/node/bench/relay_bench.js [messages] [runtime|relay]
// The flow is one module `module.exports = (msg) => msg.payload` whose output goes back to the
// host; the relay does the same work by hand (split lines, JSON.parse, JSON.stringify, acks).

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import childProcess from 'node:child_process';

const RUNTIME = path.join(import.meta.dirname, '..', 'polyflow_runtime.js');
const WINDOW = Number(process.env.BENCH_WINDOW || 50000); // unacked frames in flight (the host's default is 1024)
const CHUNK_FRAMES = 1000;

const RELAY = `
const fs = require('fs'), net = require('net');
const [inPath, outPath] = process.argv.slice(-2);
const out = fs.openSync(outPath, 'w');
fs.writeSync(out, '{"t":"hello"}\\n');
const socket = new net.Socket({ fd: fs.openSync(inPath, 'r'), readable: true, writable: false });
let rest = null, count = 0;
socket.on('data', (chunk) => {
  if (rest) { chunk = Buffer.concat([rest, chunk]); rest = null; }
  let text = '', start = 0, nl;
  while ((nl = chunk.indexOf(10, start)) !== -1) {
    if (chunk[start] === 0x44) {
      const space = chunk.indexOf(32, start);
      const value = JSON.parse(chunk.utf8Slice(space + 1, nl));
      text += 'D7 ' + JSON.stringify(value) + '\\n';
      count++;
    } else if (chunk.utf8Slice(start, nl).includes('"stop"')) { fs.writeSync(out, text + 'A' + count + '\\n{"t":"bye"}\\n'); process.exit(0); }
    start = nl + 1;
  }
  if (start < chunk.length) rest = chunk.subarray(start);
  const bytes = Buffer.from(text + 'A' + count + '\\n');
  let off = 0; while (off < bytes.length) off += fs.writeSync(out, bytes, off);
});
socket.on('end', () => process.exit(0));
`;

function run(total, kind) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'polyflow-bench-'));
  const toRuntime = path.join(dir, 'to-runtime');
  const fromRuntime = path.join(dir, 'from-runtime');
  childProcess.execFileSync('mkfifo', ['-m', '600', toRuntime, fromRuntime]);
  const writeFd = fs.openSync(toRuntime, 'r+');
  const readFd = fs.openSync(fromRuntime, 'r+');
  const nodeArgs = (process.env.BENCH_NODE_ARGS || '').split(' ').filter(Boolean); // e.g. --cpu-prof
  const args = [...nodeArgs, ...(kind === 'relay' ? ['-e', RELAY, toRuntime, fromRuntime] : [RUNTIME, '--in', toRuntime, '--out', fromRuntime])];
  const child = childProcess.spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  const writer = new net.Socket({ fd: writeFd, readable: false, writable: true });
  const reader = new net.Socket({ fd: readFd, readable: true, writable: false });

  let sent = 0;
  let acked = 0;
  let received = 0;
  let started = 0n;
  let rest = '';
  const pump = () => {
    while (sent < total && sent - acked < WINDOW) {
      let text = '';
      const n = Math.min(CHUNK_FRAMES, total - sent);
      for (let i = 0; i < n; i++) text += `D0 {"n":${sent + i},"name":"order","ok":true}\n`;
      sent += n;
      writer.write(text);
    }
  };
  return new Promise((resolve) => {
    reader.on('data', (chunk) => {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop();
      for (const line of lines) {
        if (line[0] === 'D') received++;
        else if (line[0] === 'A') acked = Number(line.slice(1));
        else if (line.startsWith('{"t":"hello"')) {
          if (kind === 'runtime') {
            writer.write(JSON.stringify({ t: 'configure', flowId: 'bench', modules: [
              { id: 'echo', code: 'module.exports = (msg) => msg.payload', inputs: ['in'], outputs: ['out'], state: null, init: true },
            ], slots: [['echo', 'in']], routes: [{ module: 'echo', port: 'out', local: [], remote: 7 }] }) + '\n');
          }
          started = process.hrtime.bigint();
        }
      }
      if (started !== 0n) pump();
      if (acked === total && received === total) {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        writer.write('{"t":"stop"}\n');
        child.once('exit', () => {
          writer.destroy();
          reader.destroy();
          fs.rmSync(dir, { recursive: true, force: true });
          resolve(total / seconds);
        });
      }
    });
  });
}

async function main() {
  const total = Number(process.argv[2] || 500000);
  const kinds = process.argv[3] ? [process.argv[3]] : ['relay', 'runtime'];
  for (const kind of kinds) {
    const rate = await run(total, kind);
    console.log(`${kind.padEnd(8)} ${total} messages: ${Math.round(rate).toLocaleString('en')} msg/s`);
  }
  process.exit(0);
}

main();
