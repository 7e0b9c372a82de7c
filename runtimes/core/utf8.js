// UTF-8 sizes of JS strings without Node's Buffer (shared with the browser runner).

/** Number of UTF-8 bytes of `text` (a lone surrogate counts as the 3 bytes of U+FFFD). */
function utf8ByteLength(text) {
  let bytes = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function isLowSurrogate(c) {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** True when `text` certainly fits in `maxBytes` UTF-8 bytes, computed cheaply when possible. */
function fitsUtf8(text, maxBytes) {
  if (text.length * 3 <= maxBytes) return true;
  if (text.length > maxBytes) return false;
  return utf8ByteLength(text) <= maxBytes;
}

/** `text` cut to at most `maxBytes` UTF-8 bytes (on a character boundary), with `marker` appended when cut. */
function truncateUtf8(text, maxBytes, marker = '') {
  if (fitsUtf8(text, maxBytes)) return text;
  const budget = maxBytes - utf8ByteLength(marker);
  let bytes = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    let size = 3;
    let width = 1;
    if (c < 0x80) size = 1;
    else if (c < 0x800) size = 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1))) {
      size = 4;
      width = 2;
    }
    if (bytes + size > budget) break;
    bytes += size;
    i += width;
  }
  return text.slice(0, i) + marker;
}

export { utf8ByteLength, fitsUtf8, truncateUtf8 };
