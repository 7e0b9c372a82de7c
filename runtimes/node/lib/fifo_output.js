// Node-only: the runtime's end of the `from-runtime` fifo. Frames are appended to one string
// and written with one blocking writeSync per batch (or when ~256 KiB are pending): a host that
// does not read blocks the runtime, which is the back pressure.

import fs from 'node:fs';

const HIGH_WATER_CHARS = 256 * 1024;
const EAGAIN_WAIT_MS = 1;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Owns `fd`: it stays open until the process exits (close() is for embedders and tests).
 * onBroken(err) is called once when writing fails (EPIPE: the host stopped reading).
 */
class FifoOutput {
  constructor(fd, { onBroken }) {
    this.fd = fd;
    this.onBroken = onBroken;
    this.pending = '';
    this.broken = false;
  }

  write(text) {
    this.pending += text;
    if (this.pending.length >= HIGH_WATER_CHARS) this.flush();
  }

  flush() {
    if (this.pending === '' || this.broken) return;
    const bytes = Buffer.from(this.pending, 'utf8');
    this.pending = '';
    let offset = 0;
    while (offset < bytes.length) {
      try {
        offset += fs.writeSync(this.fd, bytes, offset, bytes.length - offset);
      } catch (err) {
        if (err.code === 'EAGAIN') {
          Atomics.wait(sleeper, 0, 0, EAGAIN_WAIT_MS); // fd in non-blocking mode and full: wait, retry
          continue;
        }
        this.broken = true;
        this.onBroken(err);
        return;
      }
    }
  }

  close() {
    fs.closeSync(this.fd);
  }
}

export { FifoOutput };
