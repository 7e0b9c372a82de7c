// A small util.format-like join of log arguments, for platforms without Node's util.

function formatArg(value) {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return value.stack || String(value);
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text;
  } catch {
    return String(value);
  }
}

function formatArgs(args) {
  return args.map(formatArg).join(' ');
}

export { formatArgs };
