// The data-batch codec of the runner protocol (a WebSocket binary message):
//   PF1 <from> <fromSession> <to> <toSession> <firstSeq> <recv> <ack>[ <refused>]\n
//   <gen> <flow>/<module>.<port> <length>\n<payload: exactly length bytes>\n   (0 or more times)
// Lengths count UTF-8 bytes (TextEncoder), never string length. A payload is opaque JSON text.
// `refused` (optional): 1 to MAX_REFUSALS frames of the reverse stream that `from` refused (their
// generation is not the one it runs the module at), increasing, each ≤ recv, comma-separated; the
// header object has `refused` only when the line lists it, so a header without is written as before.

import { RunnerProtocolError } from './protocol_error.js';
import { DEFAULT_MAX_FRAME_BYTES, MAX_HEADER_LINE_BYTES, MAX_REFUSALS } from './constants.js';
import { utf8ByteLength } from '../../core/utf8.js';

const NEWLINE = 0x0a;
const NUMBER = /^(?:0|[1-9][0-9]{0,14})$/;
const RUNNER = /^[A-Za-z0-9_-]{1,64}$/;
const TARGET = /^([A-Za-z0-9_-]{1,64})\/([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{1,64})$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');

const SHORT = 64; // below this many bytes, an ASCII run is read without TextDecoder (cheaper for small frames)

/** The text of bytes[start, end): UTF-8, with a fast path for short ASCII runs (frame headers, small payloads). */
function textOf(bytes, start, end) {
  if (end - start <= SHORT) {
    let ascii = true;
    for (let i = start; i < end; i++) {
      if (bytes[i] >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode.apply(null, bytes.subarray(start, end));
  }
  return decoder.decode(bytes.subarray(start, end));
}

/** The index of the next newline in bytes[start, start + limit], or -1. */
function lineEnd(bytes, start, limit) {
  const end = Math.min(bytes.length, start + limit + 1);
  for (let i = start; i < end; i++) if (bytes[i] === NEWLINE) return i;
  return -1;
}

const numberOf = (text) => (NUMBER.test(text) ? Number(text) : -1);

function readHeader(bytes) {
  if (bytes.length < 2 || bytes[0] !== 0x50 || bytes[1] !== 0x46) {
    throw new RunnerProtocolError('bad-magic', 'a data batch begins with "PF1"');
  }
  if (bytes.length < 3 || bytes[2] !== 0x31) {
    throw new RunnerProtocolError('unsupported-version', 'this runner reads data batches of version PF1 only');
  }
  const end = lineEnd(bytes, 0, MAX_HEADER_LINE_BYTES);
  if (end === -1) throw new RunnerProtocolError('bad-batch-header', `no end of line in the first ${MAX_HEADER_LINE_BYTES} bytes`);
  const fields = decoder.decode(bytes.subarray(0, end)).split(' ');
  const bad = (why) => new RunnerProtocolError('bad-batch-header', `${why} in "${decoder.decode(bytes.subarray(0, end))}"`);
  if ((fields.length !== 8 && fields.length !== 9) || fields[0] !== 'PF1') throw bad('not "PF1 from fromSession to toSession firstSeq recv ack [refused]"');
  const [, from, fs, to, ts, first, recv, ack, refused] = fields;
  if (!RUNNER.test(from) || !RUNNER.test(to)) throw bad('a runner id that is not [A-Za-z0-9_-]{1,64}');
  const header = { from, fromSession: numberOf(fs), to, toSession: numberOf(ts), firstSeq: numberOf(first), recv: numberOf(recv), ack: numberOf(ack) };
  if ([header.fromSession, header.toSession, header.firstSeq, header.recv, header.ack].includes(-1)) {
    throw bad('a number that is not decimal without sign or leading zero, at most 15 digits');
  }
  if (header.fromSession < 1 || header.toSession < 1 || header.firstSeq < 1) throw bad('a session or firstSeq below 1');
  if (header.ack > header.recv) throw bad('ack past recv');
  if (refused !== undefined) header.refused = refusedList(refused, header.recv, bad);
  return { header, offset: end + 1 };
}

/** The `refused` field: 1 to MAX_REFUSALS frame numbers, increasing, from 1 to recv. */
function refusedList(text, recv, bad) {
  const items = text.split(',');
  if (items.length > MAX_REFUSALS) throw bad(`more than ${MAX_REFUSALS} refused frames`);
  const seqs = [];
  for (const item of items) {
    const seq = numberOf(item);
    if (seq < 1 || seq > recv || seq <= (seqs.at(-1) ?? 0)) {
      throw bad(`a refused list that is not increasing frame numbers from 1 to recv (${recv}), comma-separated`);
    }
    seqs.push(seq);
  }
  return seqs;
}

/**
 * Decodes a batch (a Uint8Array) into { header, frames: [{gen, flow, module, port, payload}] };
 * payloads are strings (their bytes decoded as UTF-8). Throws RunnerProtocolError.
 */
function decodeBatch(bytes, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {
  const { header, offset } = readHeader(bytes);
  const frames = [];
  let at = offset;
  while (at < bytes.length) {
    const end = lineEnd(bytes, at, MAX_HEADER_LINE_BYTES);
    if (end === -1) {
      if (bytes.length - at > MAX_HEADER_LINE_BYTES) {
        throw new RunnerProtocolError('bad-frame-header', `frame ${frames.length + 1}: no end of line in ${MAX_HEADER_LINE_BYTES} bytes`);
      }
      throw new RunnerProtocolError('truncated', `frame ${frames.length + 1}: the batch ends inside a frame header`);
    }
    const line = textOf(bytes, at, end);
    const fields = line.split(' ');
    const target = fields.length === 3 ? TARGET.exec(fields[1]) : null;
    const gen = fields.length === 3 ? numberOf(fields[0]) : -1;
    const length = fields.length === 3 ? numberOf(fields[2]) : -1;
    if (target === null || gen < 1 || length < 0) {
      throw new RunnerProtocolError('bad-frame-header', `frame ${frames.length + 1}: "${line}" is not "<gen> <flow>/<module>.<port> <length>"`);
    }
    if (length === 0) throw new RunnerProtocolError('empty-payload', `frame ${frames.length + 1} (${fields[1]}): an empty payload`);
    if (length > maxFrameBytes) {
      throw new RunnerProtocolError('frame-too-large', `frame ${frames.length + 1} (${fields[1]}): ${length} bytes, over the limit of ${maxFrameBytes}`);
    }
    const start = end + 1;
    if (start + length + 1 > bytes.length) {
      throw new RunnerProtocolError('truncated', `frame ${frames.length + 1} (${fields[1]}): the batch ends inside its ${length} bytes`);
    }
    if (bytes[start + length] !== NEWLINE) {
      throw new RunnerProtocolError('bad-frame-end', `frame ${frames.length + 1} (${fields[1]}): the byte after its ${length} bytes is not a newline`);
    }
    frames.push({ gen, flow: target[1], module: target[2], port: target[3], payload: textOf(bytes, start, start + length) });
    at = start + length + 1;
  }
  return { header, frames };
}

/** The text of a batch (its byte lengths measured in UTF-8). */
function batchText(header, frames) {
  const refused = Array.isArray(header.refused) && header.refused.length > 0 ? ` ${header.refused.join(',')}` : '';
  let text = `PF1 ${header.from} ${header.fromSession} ${header.to} ${header.toSession} ${header.firstSeq} ${header.recv} ${header.ack}${refused}\n`;
  for (const f of frames) {
    text += `${f.gen} ${f.flow}/${f.module}.${f.port} ${utf8ByteLength(f.payload)}\n${f.payload}\n`;
  }
  return text;
}

/** Encodes a batch as the bytes of one binary WebSocket message. */
function encodeBatch(header, frames) {
  return encoder.encode(batchText(header, frames));
}

/** The UTF-8 size of one frame in a batch, to cut batches at BATCH_TARGET_BYTES. */
function frameBytes(frame) {
  return utf8ByteLength(frame.payload) + frame.flow.length + frame.module.length + frame.port.length + 40;
}

export { decodeBatch, encodeBatch, batchText, frameBytes, readHeader };
