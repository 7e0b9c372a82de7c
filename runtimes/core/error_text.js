// Turning thrown values into the texts the protocol carries ("TypeError: x is not a function",
// a stack, a line number in the user's code). Reads V8-style stacks; no Node APIs.

/** "Name: message" for an Error, String(value) for anything else; never throws. */
function describeError(value) {
  try {
    if (value instanceof Error || (value && typeof value === 'object' && 'message' in value && 'name' in value)) {
      return value.message ? `${value.name}: ${value.message}` : String(value.name);
    }
    return String(value);
  } catch {
    return 'unprintable exception';
  }
}

/** `value.stack` when it is a string; null otherwise, or when reading it throws (a hostile getter). */
function stackText(value) {
  try {
    const stack = value && typeof value === 'object' ? value.stack : undefined;
    return typeof stack === 'string' ? stack : null;
  } catch {
    return null;
  }
}

/** The stack of an Error (or null), without the frames of the runtime below the user's code. */
function stackOf(value, filenamePrefix = 'module:') {
  const stack = stackText(value);
  if (stack === null) return null;
  const lines = stack.split('\n');
  let lastUserFrame = -1;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith('    at ') && lines[i].includes(filenamePrefix)) lastUserFrame = i;
  }
  return lastUserFrame === -1 ? stack : lines.slice(0, lastUserFrame + 1).join('\n');
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The line in `filename` where `value` was raised: the "filename:LINE" header V8 puts on a
 * SyntaxError, else the first stack frame in that file. null when unknown.
 */
function lineIn(value, filename) {
  const stack = stackText(value);
  if (stack === null) return null;
  const name = escapeRegExp(filename);
  const header = new RegExp(`^${name}:(\\d+)\\n`).exec(stack);
  if (header) return Number(header[1]);
  const frame = new RegExp(`^    at (?:.*\\()?${name}:(\\d+):\\d+\\)?$`, 'm').exec(stack);
  return frame ? Number(frame[1]) : null;
}

export { describeError, stackOf, lineIn };
