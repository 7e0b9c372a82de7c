// Control frames and acks the runtime writes to the host (docs/protocol.md), appended to the
// same writer as the data frames, which coalesces them into large writes.

import { encodeControl, encodeAck } from './framing.js';
import { describeError, stackOf } from './error_text.js';
import { truncateUtf8, fitsUtf8 } from './utf8.js';
import { encodeStats, encodeCommit } from './stats.js';

const MAX_LOG_BYTES = 64 * 1024;
const TRUNCATED = ' …[truncated]';

function jsonOrNull(value) {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? 'null' : text;
  } catch {
    return 'null';
  }
}

class Outbox {
  /** write(text): appends frames to the output; maxFrameBytes: the limit of one frame. */
  constructor({ write, maxFrameBytes }) {
    this.write = write;
    this.maxFrameBytes = maxFrameBytes;
    this.lastAck = 0;
  }

  control(object) {
    this.write(encodeControl(object));
  }

  log(moduleId, level, text) {
    this.control({ t: 'log', module: moduleId, level, text: truncateUtf8(String(text), MAX_LOG_BYTES, TRUNCATED) });
  }

  /**
   * An `error` frame. `payloadText` is the input payload as JSON text: the bytes the host sent
   * when the message came as a frame (so the host sees the payload as it was, before a handler
   * changed it), else null and `payload` is encoded here.
   */
  moduleError(moduleId, port, payloadText, payload, message, stack) {
    const head = `{"t":"error","module":${JSON.stringify(moduleId)},"port":${jsonOrNull(port)},"payload":`;
    const tail = `,"message":${JSON.stringify(truncateUtf8(message, MAX_LOG_BYTES, TRUNCATED))}` +
      `,"stack":${stack === null ? 'null' : JSON.stringify(truncateUtf8(stack, MAX_LOG_BYTES, TRUNCATED))}}\n`;
    let frame = head + (payloadText !== null ? payloadText : jsonOrNull(payload)) + tail;
    if (!fitsUtf8(frame, this.maxFrameBytes)) frame = head + 'null' + tail; // the payload alone is too big
    this.write(frame);
  }

  /** The handler of `module` threw or rejected while processing module.currentMessage. */
  handlerError(module, error) {
    const input = module.currentMessage;
    this.moduleError(module.id, input.port, module.currentText, input.payload,
      describeError(error), stackOf(error, module.filename));
  }

  /** module.currentMessage reached `module`, which did not load. */
  undeliverable(module) {
    const input = module.currentMessage;
    this.moduleError(module.id, input.port, module.currentText, input.payload,
      `module '${module.id}' did not load: ${module.loadError}`, null);
  }

  /** A hook called outside any message (onSwap) threw or rejected. */
  hookError(module, error) {
    this.moduleError(module.id, null, null, null, describeError(error), stackOf(error, module.filename));
  }

  /**
   * `commit` (the modules that changed since the last one; all with `every`), then `A<acked>`
   * (docs/protocol.md, "Commits"): only with an ack that goes up, or with `every` (the last one,
   * before bye); what init or onSwap changed goes with the next one.
   */
  commit(modules, acked, every) {
    if (acked === this.lastAck && !every) return;
    const badState = (module, reason) => this.log(module.id, 'error',
      `state of module '${module.id}' left out of commit: ${reason}`);
    for (const frame of encodeCommit(modules, every, this.maxFrameBytes, badState)) this.write(frame);
    this.lastAck = acked;
    this.write(encodeAck(acked));
  }

  stats(modules, everyState) {
    const badState = (module, reason) => this.log(module.id, 'error',
      `state of module '${module.id}' left out of stats: ${reason}`);
    for (const frame of encodeStats(modules, everyState, this.maxFrameBytes, badState)) this.write(frame);
  }
}

export { Outbox };
