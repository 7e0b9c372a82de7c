// Encodes `stats` frames: {"t":"stats","modules":{ID:{"in":n,"out":n,"errors":n,"state":{...}}}}
// (for display), and `commit` frames of the same shape (written just before an ack, for crash
// recovery: docs/protocol.md, "Commits"). Each state is encoded once, on its own, so one that JSON
// cannot carry is left out alone. Modules are spread over several frames in the rare case one
// frame would pass the size limit.

import { utf8ByteLength } from './utf8.js';

const HEAD = '{"t":"stats","modules":{';
const COMMIT_HEAD = '{"t":"commit","modules":{';
const TAIL = '}}\n';

/** The JSON text of `module`'s state, or null (after reportBadState(module, reason)) when it has none. */
function encodeState(module, reportBadState) {
  let text;
  try {
    text = JSON.stringify(module.ctx === null ? module.initialState : module.ctx.state);
  } catch (err) {
    reportBadState(module, `JSON cannot encode it (${err.message})`);
    return null;
  }
  if (text === undefined) {
    reportBadState(module, 'JSON cannot encode it (it is undefined or a function)');
    return null;
  }
  if (nestsDeeper(text, MAX_STATE_DEPTH)) {
    reportBadState(module, `it nests deeper than ${MAX_STATE_DEPTH} levels: flatten it`);
    return null;
  }
  return text;
}

/**
 * The dispatcher takes a user's value (a state) nested at most this deep (docs/security.md,
 * "Deep JSON"); a deeper one is left out here, as one JSON cannot carry, so that it never costs
 * its runner its connection.
 */
export const MAX_STATE_DEPTH = 512;

/** Whether JSON `text` nests deeper than `limit`; brackets inside strings do not count. */
export function nestsDeeper(text, limit) {
  let open = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) open++;
  }
  if (open <= limit) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

/** An upper bound of the UTF-8 size of `text`, exact only when it matters. */
function sizeBound(text, maxFrameBytes) {
  return text.length * 3 <= maxFrameBytes ? text.length * 3 : utf8ByteLength(text);
}

/**
 * Frame texts for `modules`. A module's state is included when `everyState` is true or it ran
 * since the last stats; `reportBadState(module, reason)` is told about a state that is left out.
 */
function encodeStats(modules, everyState, maxFrameBytes, reportBadState) {
  return encodeFrames(HEAD, modules, maxFrameBytes, (module) => {
    const withState = everyState || module.ranSinceStats;
    module.ranSinceStats = false;
    return withState ? stateEntry(module, maxFrameBytes, reportBadState) : '';
  });
}

/**
 * Commit frame texts for the modules whose counters or state changed since the last commit (every
 * module with `every`), each with its state; [] when none changed. Clears their `unsaved` flag. A
 * state left out is told to `reportBadState` once, until it can go in again.
 */
function encodeCommit(modules, every, maxFrameBytes, reportBadState) {
  const changed = every ? modules : modules.filter((module) => module.unsaved);
  if (changed.length === 0) return [];
  return encodeFrames(COMMIT_HEAD, changed, maxFrameBytes, (module) => {
    module.unsaved = false;
    let bad = false;
    const entry = stateEntry(module, maxFrameBytes, (m, reason) => {
      bad = true;
      if (!m.badState) reportBadState(m, reason);
    });
    module.badState = bad;
    return entry;
  });
}

/** `,"state":...` for `module`, or '' when its state cannot go in a frame. */
function stateEntry(module, maxFrameBytes, reportBadState) {
  const state = encodeState(module, reportBadState);
  if (state === null) return '';
  if (sizeBound(state, maxFrameBytes) > maxFrameBytes - 200) {
    reportBadState(module, `it is over the frame limit of ${maxFrameBytes} bytes`);
    return '';
  }
  return `,"state":${state}`;
}

/** Frames `head` + entries of `modules`; `extra(module)` adds to a module's counters. */
function encodeFrames(head, modules, maxFrameBytes, extra) {
  const frames = [];
  const room = maxFrameBytes - head.length - TAIL.length;
  let body = '';
  let bodySize = 0;
  for (const module of modules) {
    const entry = `${JSON.stringify(module.id)}:{"in":${module.received},"out":${module.sent},"errors":${module.errors}${extra(module)}}`;
    const size = sizeBound(entry, maxFrameBytes) + 1;
    if (body !== '' && bodySize + size > room) {
      frames.push(head + body + TAIL);
      body = '';
      bodySize = 0;
    }
    body += (body === '' ? '' : ',') + entry;
    bodySize += size;
  }
  frames.push(head + body + TAIL);
  return frames;
}

export { encodeStats, encodeCommit };
