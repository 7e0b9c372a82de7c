// A stand-in dispatcher for the Chromium smoke test: serves runtimes/ over HTTP (with the CSP
// the runner page needs: script-src 'self' 'unsafe-eval') and answers on /runners with a
// minimal WebSocket (RFC 6455, text frames, no fragmentation): welcome, then `script` commands.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

const RUNTIMES = path.join(import.meta.dirname, '..', '..');
const TYPES = { '.js': 'text/javascript', '.html': 'text/html', '.css': 'text/css' };
const CSP = "default-src 'self'; script-src 'self' 'unsafe-eval'; connect-src 'self'";

function wsFrame(opcode, payload) {
  const n = payload.length;
  let head;
  if (n < 126) head = Buffer.from([0x80 | opcode, n]);
  else if (n < 65536) head = Buffer.from([0x80 | opcode, 126, n >> 8, n & 255]);
  else { head = Buffer.alloc(10); head[0] = 0x80 | opcode; head[1] = 127; head.writeBigUInt64BE(BigInt(n), 2); }
  return Buffer.concat([head, payload]);
}

/** Reads the client's (masked) frames from `buffer`; returns [{ opcode, data }] and the rest. */
function wsRead(buffer) {
  const frames = [];
  for (;;) {
    if (buffer.length < 2) break;
    let length = buffer[1] & 127;
    let at = 2;
    if (length === 126) { if (buffer.length < 4) break; length = buffer.readUInt16BE(2); at = 4; }
    else if (length === 127) { if (buffer.length < 10) break; length = Number(buffer.readBigUInt64BE(2)); at = 10; }
    if (buffer.length < at + 4 + length) break;
    const mask = buffer.subarray(at, at + 4);
    const data = Buffer.from(buffer.subarray(at + 4, at + 4 + length));
    for (let i = 0; i < length; i++) data[i] ^= mask[i % 4];
    frames.push({ opcode: buffer[0] & 15, data });
    buffer = buffer.subarray(at + 4 + length);
  }
  return { frames, rest: buffer };
}

/** Starts the stand-in; `script(hello)` gives the commands to send after the welcome. Resolves to { port, messages, until(predicate), close }. */
function startSmokeDispatcher(script) {
  const messages = [];
  const watchers = [];
  /** Resolves when `predicate(messages)` holds (checked on each message). */
  const until = (predicate) => new Promise((resolve) => {
    if (predicate(messages)) resolve();
    else watchers.push({ predicate, resolve });
  });
  const server = http.createServer((req, res) => {
    const file = path.join(RUNTIMES, new URL(req.url, 'http://x').pathname.replace(/^\/runtimes\//, ''));
    if (!file.startsWith(RUNTIMES + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'content-security-policy': CSP });
    fs.createReadStream(file).pipe(res);
  });
  server.on('upgrade', (req, socket) => {
    const accept = crypto.createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    const send = (message) => socket.write(wsFrame(1, Buffer.from(JSON.stringify(message))));
    let buffer = Buffer.alloc(0);
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      const read = wsRead(Buffer.concat([buffer, chunk]));
      buffer = read.rest;
      for (const { opcode, data } of read.frames) {
        if (opcode === 8) { socket.end(); return; }
        if (opcode !== 1) continue;
        const message = JSON.parse(data.toString('utf8'));
        messages.push(message);
        for (const w of watchers.filter((x) => x.predicate(messages))) {
          watchers.splice(watchers.indexOf(w), 1);
          w.resolve();
        }
        if (message.t === 'ping') send({ t: 'pong', n: message.n });
        if (message.t === 'hello') {
          send({ t: 'welcome', protocol: 1, runner: message.name, session: 5, heartbeatMs: 1000, lostAfterMs: 3000, window: 1024, maxFrameBytes: 16777216, maxMessageBytes: 16842752, drop: [] });
          for (const m of script(message)) send(m);
        }
      }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ port: server.address().port, messages, until, close: () => server.close() }));
  });
}

export { startSmokeDispatcher };
