// Reading and writing the control messages of the runner protocol (WebSocket text messages):
// one JSON object with a field `t`. readMessage checks the shape against message_schema.js and
// fails with a RunnerProtocolError whose code is the vectors' (bad-json, unknown-type,
// missing-field, bad-field, message-too-large); writeMessage gives compact JSON.

import { RunnerProtocolError } from './protocol_error.js';
import { runnerMessages, dispatcherMessages, deployFields, tagged } from './message_schema.js';
import { RUNTIME_IDS, DEFAULT_MAX_MESSAGE_BYTES } from './constants.js';
import { fitsUtf8, utf8ByteLength } from '../../core/utf8.js';

const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);
const isCount = (value) => Number.isSafeInteger(value) && value >= 0;
const isString = (value) => typeof value === 'string';

const checks = {
  int: isCount,
  string: isString,
  bool: (value) => typeof value === 'boolean',
  object: isObject,
  array: Array.isArray,
  json: () => true,
  strings: (value) => Array.isArray(value) && value.every(isString),
  leases: (value) => Array.isArray(value) &&
    value.every((m) => isObject(m) && isString(m.flow) && isString(m.module) && isCount(m.gen)),
  runtimes: (value) => Array.isArray(value) &&
    value.every((r) => isObject(r) && RUNTIME_IDS.includes(r.id) && isString(r.name) && isString(r.version)),
};

/**
 * Reads one text message from `from` ("runner" or "dispatcher"); returns the parsed object.
 * A message of the other direction (a runner sending `welcome`) is `unknown-type`.
 */
function readMessage(text, from, maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES) {
  if (!fitsUtf8(text, maxMessageBytes)) {
    throw new RunnerProtocolError('message-too-large',
      `a message of ${utf8ByteLength(text)} bytes is over the limit of ${maxMessageBytes} bytes`);
  }
  let message;
  try {
    message = JSON.parse(text);
  } catch (err) {
    throw new RunnerProtocolError('bad-json', `not JSON (${err.message})`);
  }
  if (!isObject(message)) throw new RunnerProtocolError('bad-json', 'a control message must be a JSON object with a field "t"');
  const table = from === 'runner' ? runnerMessages : dispatcherMessages;
  if (!('t' in message)) throw new RunnerProtocolError('missing-field', 't: missing');
  if (!isString(message.t)) throw new RunnerProtocolError('bad-field', 't: must be a string');
  const fields = Object.hasOwn(table, message.t) ? table[message.t] : undefined;
  if (fields === undefined) {
    throw new RunnerProtocolError('unknown-type', `t: a ${from} sends no message "${message.t}"`);
  }
  checkFields(message, fields, message.t);
  return message;
}

function checkFields(object, fields, place) {
  for (const [name, kind, optional] of fields) {
    const value = object[name];
    if (value === undefined || (optional && value === null)) {
      if (optional) continue;
      throw new RunnerProtocolError('missing-field', `${place}.${name}: missing`);
    }
    if (typeof kind === 'object') {
      checkTagged(value, kind, `${place}.${name}`);
    } else if (kind === 'deploy') {
      if (!isObject(value)) throw new RunnerProtocolError('bad-field', `${place}.${name}: must be an object`);
      checkFields(value, deployFields, `${place}.${name}`);
    } else if (!checks[kind](value)) {
      throw new RunnerProtocolError('bad-field', `${place}.${name}: must be ${describeKind(kind)}`);
    }
  }
}

function checkTagged(value, { tag, of }, place) {
  if (!isObject(value)) throw new RunnerProtocolError('bad-field', `${place}: must be an object`);
  if (!(tag in value)) throw new RunnerProtocolError('missing-field', `${place}.${tag}: missing`);
  const table = tagged[of];
  const fields = isString(value[tag]) && Object.hasOwn(table, value[tag]) ? table[value[tag]] : undefined;
  if (fields === undefined) {
    throw new RunnerProtocolError('unknown-type', `${place}.${tag}: unknown ${JSON.stringify(value[tag])}`);
  }
  checkFields(value, fields, `${place}(${value[tag]})`);
}

function describeKind(kind) {
  switch (kind) {
    case 'int': return 'a whole number ≥ 0';
    case 'strings': return 'an array of strings';
    case 'leases': return 'an array of {flow, module, gen}';
    case 'runtimes': return `an array of {id, name, version} with id one of ${RUNTIME_IDS.join(', ')}`;
    default: return `a${/^[aeiou]/.test(kind) ? 'n' : ''} ${kind}`;
  }
}

/** Compact JSON of a message object (no check: the runner builds its messages itself). */
function writeMessage(message) {
  return JSON.stringify(message);
}

export { readMessage, writeMessage };
