// An in-memory WebSocket for the browser runner's tests, played by the test as the dispatcher.

import { decodeBatch, encodeBatch } from '../protocol/data_batch.js';

class FakeSocket {
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.closed = null;
    this.binaryType = 'blob';
    this.onopen = null;
    this.onmessage = null;
    this.onclose = null;
    this.onerror = null;
  }

  send(data) {
    if (this.closed !== null) throw new Error('FakeSocket: send after close');
    this.sent.push(data);
  }

  close(code, reason) {
    this.closed = { code, reason };
  }

  // The dispatcher's side.

  open() { this.onopen(); }

  receive(message) { this.onmessage({ data: JSON.stringify(message) }); }

  receiveBatch(header, frames) {
    const bytes = encodeBatch(header, frames);
    this.onmessage({ data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) });
  }

  drop(code = 1006) {
    this.closed = this.closed || { code };
    this.onclose({ code, reason: '' });
  }

  /** Control messages the runner sent, parsed. */
  texts() { return this.sent.filter((d) => typeof d === 'string').map((d) => JSON.parse(d)); }

  /** Data batches the runner sent, decoded. */
  batches() { return this.sent.filter((d) => typeof d !== 'string').map((d) => decodeBatch(d)); }

  of(t) { return this.texts().filter((m) => m.t === t); }

  events(type) { return this.of('event').map((m) => m.event).filter((e) => type === undefined || e.type === type); }

  replies() { return this.of('reply'); }
}

export { FakeSocket };
