// Frame decoder and encoders of the pipe protocol (docs/protocol.md).
// Platform-neutral: works on Uint8Array (Node Buffers are Uint8Arrays), no Node APIs.

const NEWLINE = 0x0a;
const SPACE = 0x20;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const KIND_DATA = 0x44; // 'D'
const KIND_ACK = 0x41; // 'A'
const KIND_CONTROL = 0x7b; // '{'
const MAX_DIGITS = 9;
const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** A frame the protocol does not allow. `code` is one of the error names of the shared vectors. */
class FrameError extends Error {
  constructor(code, detail) {
    super(`${code}: ${detail}`);
    this.name = 'FrameError';
    this.code = code;
  }
}

const sharedTextDecoder = new TextDecoder('utf-8');

function decodeUtf8(bytes, start, end) {
  return sharedTextDecoder.decode(bytes.subarray(start, end));
}

/**
 * Splits a byte stream into frames and hands each one to a sink:
 *   sink.data(slot, payloadText), sink.ack(count), sink.control(object)
 * A bad frame throws a FrameError; the decoder is then unusable (the protocol ends).
 * Options: maxFrameBytes (without the newline), decodeText(bytes, start, end) -> string.
 */
class FrameDecoder {
  constructor(options = {}) {
    this.maxFrameBytes = options.maxFrameBytes || DEFAULT_MAX_FRAME_BYTES;
    this.decodeText = options.decodeText || decodeUtf8;
    this.parts = []; // pieces of an unfinished frame (copies, not views of the caller's chunks)
    this.partBytes = 0;
    this.halted = false;
  }

  /** Stops decoding: later pushes are ignored (after `stop`, or after an error). */
  halt() {
    this.halted = true;
    this.parts = [];
    this.partBytes = 0;
  }

  /** Decodes every complete frame in `chunk`, keeps the rest for the next push. */
  push(chunk, sink) {
    if (this.halted) return;
    const length = chunk.length;
    let start = 0;
    if (this.partBytes > 0) {
      const newline = chunk.indexOf(NEWLINE);
      if (newline === -1) {
        this.keep(chunk, 0, length);
        return;
      }
      this.checkSize(this.partBytes + newline);
      const line = this.joinParts(chunk, newline);
      this.frame(line, 0, line.length, sink);
      start = newline + 1;
    }
    while (start < length && !this.halted) {
      const newline = chunk.indexOf(NEWLINE, start);
      if (newline === -1) break;
      this.checkSize(newline - start);
      this.frame(chunk, start, newline, sink);
      start = newline + 1;
    }
    if (start < length && !this.halted) this.keep(chunk, start, length);
  }

  checkSize(frameBytes) {
    if (frameBytes > this.maxFrameBytes) {
      this.halt();
      throw new FrameError('frame-too-large',
        `a frame of ${frameBytes} bytes or more is over the limit of ${this.maxFrameBytes} bytes`);
    }
  }

  keep(chunk, start, end) {
    this.checkSize(this.partBytes + (end - start));
    const piece = new Uint8Array(end - start);
    piece.set(chunk.subarray(start, end));
    this.parts.push(piece);
    this.partBytes += piece.length;
  }

  joinParts(chunk, newline) {
    const line = new Uint8Array(this.partBytes + newline);
    let offset = 0;
    for (const part of this.parts) {
      line.set(part, offset);
      offset += part.length;
    }
    line.set(chunk.subarray(0, newline), offset);
    this.parts = [];
    this.partBytes = 0;
    return line;
  }

  fail(code, detail) {
    this.halt();
    throw new FrameError(code, detail);
  }

  frame(bytes, start, end, sink) {
    if (start === end) this.fail('empty-frame', 'empty line');
    const kind = bytes[start];
    if (kind === KIND_DATA) this.dataFrame(bytes, start, end, sink);
    else if (kind === KIND_ACK) this.ackFrame(bytes, start, end, sink);
    else if (kind === KIND_CONTROL) this.controlFrame(bytes, start, end, sink);
    else this.fail('unknown-kind', `a frame cannot start with byte 0x${kind.toString(16).padStart(2, '0')}`);
  }

  dataFrame(bytes, start, end, sink) {
    const digitsStart = start + 1;
    let i = digitsStart;
    let slot = 0;
    while (i < end && i - digitsStart < MAX_DIGITS + 1) {
      const b = bytes[i];
      if (b < DIGIT_0 || b > DIGIT_9) break;
      slot = slot * 10 + (b - DIGIT_0);
      i++;
    }
    const digits = i - digitsStart;
    if (digits === 0 || digits > MAX_DIGITS || (digits > 1 && bytes[digitsStart] === DIGIT_0)) {
      this.fail('bad-slot', 'a data frame needs a slot of 1 to 9 digits without leading zeros');
    }
    if (i === end) this.fail('empty-payload', `data frame for slot ${slot} has no payload`);
    if (bytes[i] !== SPACE) this.fail('bad-slot', `slot ${slot} must be followed by one space`);
    if (i + 1 === end) this.fail('empty-payload', `data frame for slot ${slot} has an empty payload`);
    sink.data(slot, this.decodeText(bytes, i + 1, end));
  }

  ackFrame(bytes, start, end, sink) {
    const digits = end - start - 1;
    let count = 0;
    let ok = digits >= 1 && digits <= MAX_DIGITS && !(digits > 1 && bytes[start + 1] === DIGIT_0);
    for (let i = start + 1; ok && i < end; i++) {
      const b = bytes[i];
      if (b < DIGIT_0 || b > DIGIT_9) ok = false;
      else count = count * 10 + (b - DIGIT_0);
    }
    if (!ok) this.fail('bad-count', 'an ack needs a count of 1 to 9 digits without leading zeros');
    sink.ack(count);
  }

  controlFrame(bytes, start, end, sink) {
    let value;
    try {
      value = JSON.parse(this.decodeText(bytes, start, end));
    } catch (err) {
      this.fail('bad-control', `control frame is not JSON (${err.message})`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value) || typeof value.t !== 'string') {
      this.fail('bad-control', 'a control frame must be a JSON object with a string field "t"');
    }
    sink.control(value);
  }
}

function encodeData(slot, payloadText) {
  return `D${slot} ${payloadText}\n`;
}

function encodeAck(count) {
  return `A${count}\n`;
}

/** JSON.stringify never emits a raw newline, so one control frame is always one line. */
function encodeControl(object) {
  return JSON.stringify(object) + '\n';
}

export {
  FrameDecoder,
  FrameError,
  encodeData,
  encodeAck,
  encodeControl,
  DEFAULT_MAX_FRAME_BYTES,
};
