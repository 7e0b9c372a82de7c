'use strict';
// Encodes `stats` frames: {"t":"stats","modules":{ID:{"in":n,"out":n,"errors":n,"state":{...}}}}.
// Each state is encoded once, on its own, so one that JSON cannot carry is left out alone.
// Modules are spread over several frames in the rare case one frame would pass the size limit.

const { utf8ByteLength } = require('./utf8');

const HEAD = '{"t":"stats","modules":{';
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
  return text;
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
  const frames = [];
  const room = maxFrameBytes - HEAD.length - TAIL.length;
  let body = '';
  let bodySize = 0;
  for (const module of modules) {
    let entry = `${JSON.stringify(module.id)}:{"in":${module.received},"out":${module.sent},"errors":${module.errors}`;
    if (everyState || module.ranSinceStats) {
      const state = encodeState(module, reportBadState);
      if (state !== null && sizeBound(state, maxFrameBytes) > room - entry.length - 20) {
        reportBadState(module, `it is over the frame limit of ${maxFrameBytes} bytes`);
      } else if (state !== null) {
        entry += `,"state":${state}`;
      }
    }
    entry += '}';
    module.ranSinceStats = false;
    const size = sizeBound(entry, maxFrameBytes) + 1;
    if (body !== '' && bodySize + size > room) {
      frames.push(HEAD + body + TAIL);
      body = '';
      bodySize = 0;
    }
    body += (body === '' ? '' : ',') + entry;
    bodySize += size;
  }
  frames.push(HEAD + body + TAIL);
  return frames;
}

module.exports = { encodeStats };
