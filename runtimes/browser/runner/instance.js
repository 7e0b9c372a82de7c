// One in-tab runtime instance: the shared core Runtime (../../core/runtime.js, the same code the
// node runtime runs) hosting the browser modules of one flow, talked to in the pipe protocol
// (docs/protocol.md) without a pipe: frames go in as bytes through receive(), and what the
// runtime writes is split into frames here. Inside it, modules call each other directly.

import { Runtime } from '../../core/runtime.js';
import { encodeControl } from '../../core/framing.js';
import { formatArgs } from '../../core/format_args.js';
import { createModuleLoader } from './module_loader.js';

const encoder = new TextEncoder();

class Instance {
  /**
   * sink: { data(route, text), ack(count), control(frame) }, called for each frame the runtime
   * writes, when it flushes. env: { capture (ConsoleCapture), schedule(fn), setTimer(fn, ms),
   * clearTimer(h), maxFrameBytes, version }.
   */
  constructor(sink, env) {
    this.sink = sink;
    this.pending = ''; // what the runtime wrote, not yet split into frames
    this.input = ''; // frames for the runtime, not yet given to it
    this.busy = false; // inside drain(): the runtime is never re-entered from a sink callback
    this.closed = false;
    this.exitCode = null;
    this.sent = 0; // data frames written to the runtime: the runtime's acks count these
    const capture = env.capture;
    this.log = (moduleId, level, text) => this.runtime.log(moduleId, level, text);
    this.runtime = new Runtime({
      identity: { runtime: 'browser', name: 'Browser', version: env.version, pid: 0 },
      maxFrameBytes: env.maxFrameBytes,
      format: formatArgs,
      write: (text) => { this.pending += text; },
      flush: () => this.drain(),
      exit: (code) => { this.closed = true; this.exitCode = code; this.drain(); },
      schedule: env.schedule,
      setTimer: env.setTimer,
      clearTimer: env.clearTimer,
      loadModule: createModuleLoader({ consoleFor: (m) => capture.consoleFor(m, this.log), run: (m, fn) => capture.run(m, this.log, fn) }),
      invoke: (m, fn, a, b) => capture.run(m, this.log, fn, a, b),
    });
  }

  start() {
    this.runtime.start();
  }

  control(frame) {
    this.write(encodeControl(frame));
  }

  /**
   * One data frame for input slot `slot`, given to the runtime at the next drain() (so that many
   * go in one read, as from a pipe: one batch of work, one commit); returns its number.
   */
  data(slot, payloadText) {
    if (!this.closed) this.input += `D${slot} ${payloadText}\n`;
    this.sent += 1;
    return this.sent;
  }

  write(text) {
    if (this.closed) return;
    this.input += text;
    this.drain();
  }

  /**
   * Gives the runtime its input and the sink the runtime's output, in turns, until both are
   * empty. A sink callback that writes (an ack that opens the gate) only appends to `input`:
   * the runtime is not re-entered and frames reach the sink in the order they were written.
   */
  drain() {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.input !== '' || this.pending !== '') {
        if (this.input !== '' && !this.closed) {
          const text = this.input;
          this.input = '';
          this.runtime.receive(encoder.encode(text));
        } else {
          this.input = '';
        }
        this.emitOutput();
      }
    } finally {
      this.busy = false;
    }
  }

  /** Splits what the runtime wrote into frames (its JSON never holds a raw newline). */
  emitOutput() {
    const text = this.pending;
    this.pending = '';
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end === -1) end = text.length;
      const line = text.slice(start, end);
      start = end + 1;
      const kind = line.charCodeAt(0);
      if (kind === 0x44) { // D
        const space = line.indexOf(' ');
        this.sink.data(Number(line.slice(1, space)), line.slice(space + 1));
      } else if (kind === 0x41) { // A
        this.sink.ack(Number(line.slice(1)));
      } else if (kind === 0x7b) { // {
        this.sink.control(JSON.parse(line));
      }
    }
  }
}

export { Instance };
