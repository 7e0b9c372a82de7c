import test from 'node:test';
import assert from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import { FrameDecoder, FrameError, encodeData, encodeAck, encodeControl } from '../framing.js';

const VECTORS_PATH = path.join(import.meta.dirname, '..', '..', '..', 'Tests', 'Fixtures', 'protocol-vectors.json');
const vectors = JSON.parse(fs.readFileSync(VECTORS_PATH, 'utf8'));

const utf8Slice = Buffer.prototype.utf8Slice;
const textDecoders = {
  'TextDecoder (browser-compatible)': undefined,
  'Buffer utf8Slice (node)': (bytes, start, end) => utf8Slice.call(bytes, start, end),
};

/** Decodes `input` split into chunks of `chunkSize` bytes (0: one chunk); returns { frames, error }. */
function decode(input, { maxFrameBytes, chunkSize = 0, decodeText }) {
  const decoder = new FrameDecoder({ maxFrameBytes, decodeText });
  const frames = [];
  const sink = {
    data: (slot, payload) => frames.push({ kind: 'data', slot, payload }),
    ack: (count) => frames.push({ kind: 'ack', count }),
    control: (json) => frames.push({ kind: 'control', json }),
  };
  const bytes = Buffer.from(input, 'utf8');
  const size = chunkSize || bytes.length;
  try {
    for (let i = 0; i < bytes.length; i += size) decoder.push(bytes.subarray(i, i + size), sink);
  } catch (err) {
    assert.ok(err instanceof FrameError, `expected a FrameError, got ${err}`);
    return { frames, error: err.code };
  }
  return { frames, error: null };
}

test('the shared vectors file has valid and invalid cases', () => {
  assert.strictEqual(vectors.protocol, 1);
  assert.ok(vectors.valid.length > 0);
  assert.ok(vectors.invalid.length > 0);
});

for (const [decoderName, decodeText] of Object.entries(textDecoders)) {
  for (const [feedName, chunkSize] of [['whole', 0], ['one byte at a time', 1], ['in 3-byte chunks', 3]]) {
    test(`valid vectors decode, fed ${feedName}, with ${decoderName}`, () => {
      for (const vector of vectors.valid) {
        const result = decode(vector.input, { maxFrameBytes: vector.maxFrameBytes, chunkSize, decodeText });
        assert.strictEqual(result.error, null, `${vector.name}: unexpected error ${result.error}`);
        assert.deepStrictEqual(result.frames, vector.frames, vector.name);
      }
    });

    test(`invalid vectors fail with their error, fed ${feedName}, with ${decoderName}`, () => {
      for (const vector of vectors.invalid) {
        const result = decode(vector.input, { maxFrameBytes: vector.maxFrameBytes, chunkSize, decodeText });
        assert.strictEqual(result.error, vector.error, vector.name);
      }
    });
  }
}

test('an unfinished frame over the limit fails before its newline arrives', () => {
  const decoder = new FrameDecoder({ maxFrameBytes: 8 });
  const sink = { data: () => assert.fail('no frame expected'), ack: () => {}, control: () => {} };
  decoder.push(Buffer.from('D1 "0123'), sink); // 8 bytes: still allowed
  assert.throws(() => decoder.push(Buffer.from('4'), sink), (err) => err.code === 'frame-too-large');
});

test('a frame exactly at the limit is accepted', () => {
  const result = decode('D1 "012"\n', { maxFrameBytes: 8 });
  assert.deepStrictEqual(result, { frames: [{ kind: 'data', slot: 1, payload: '"012"' }], error: null });
});

test('a frame split over many chunks is joined, and the decoder does not keep views of old chunks', () => {
  const decoder = new FrameDecoder();
  const payloads = [];
  const sink = { data: (slot, text) => payloads.push(text), ack: () => {}, control: () => {} };
  const first = Buffer.from('D2 {"a":');
  decoder.push(first, sink);
  first.fill(0x20); // the caller may reuse its buffer
  decoder.push(Buffer.from('"b"}\nD3 1'), sink);
  decoder.push(Buffer.from('2\n'), sink);
  assert.deepStrictEqual(payloads, ['{"a":"b"}', '12']);
});

test('after an error or halt the decoder ignores further input', () => {
  const decoder = new FrameDecoder();
  const seen = [];
  const sink = { data: (slot) => seen.push(slot), ack: () => {}, control: () => {} };
  assert.throws(() => decoder.push(Buffer.from('X\nD1 1\n'), sink), FrameError);
  decoder.push(Buffer.from('D2 2\n'), sink);
  assert.deepStrictEqual(seen, []);
});

test('encoders produce one line per frame', () => {
  assert.strictEqual(encodeData(7, '{"n":1}'), 'D7 {"n":1}\n');
  assert.strictEqual(encodeAck(120), 'A120\n');
  assert.strictEqual(encodeControl({ t: 'log', text: 'a\nb' }), '{"t":"log","text":"a\\nb"}\n');
});

test('encoded frames decode back to themselves', () => {
  const text = encodeData(5, '"héllo ☃"') + encodeAck(9) + encodeControl({ t: 'bye' });
  const result = decode(text, { chunkSize: 1 });
  assert.deepStrictEqual(result.frames, [
    { kind: 'data', slot: 5, payload: '"héllo ☃"' },
    { kind: 'ack', count: 9 },
    { kind: 'control', json: { t: 'bye' } },
  ]);
});
