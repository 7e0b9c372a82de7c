// The runner-protocol codec against every vector of Tests/Fixtures/runner-protocol-vectors.json
// (the file the Swift RunnerProtocolVectorTests read too).
import test from 'node:test';
import assert from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import { readMessage, writeMessage } from '../protocol/runner_messages.js';
import { decodeBatch, encodeBatch } from '../protocol/data_batch.js';
import { RunnerProtocolError } from '../protocol/protocol_error.js';

const VECTORS_PATH = path.join(import.meta.dirname, '..', '..', '..', 'Tests', 'Fixtures', 'runner-protocol-vectors.json');
const vectors = JSON.parse(fs.readFileSync(VECTORS_PATH, 'utf8'));
const encoder = new TextEncoder();

function meaningOf(message) {
  const meaning = { t: message.t };
  const inner = message.command || message.reply || message.event;
  if (message.command) meaning.op = inner.op;
  if (message.reply) meaning.kind = inner.kind;
  if (message.event) meaning.type = inner.type;
  if (message.id !== undefined) meaning.id = message.id;
  return meaning;
}

test('the vectors file has messages and batches, valid and invalid', () => {
  assert.strictEqual(vectors.protocol, 1);
  for (const part of [vectors.messages, vectors.batches]) {
    assert.ok(part.valid.length > 0 && part.invalid.length > 0);
  }
});

for (const vector of vectors.messages.valid) {
  test(`valid message reads and writes back by value: ${vector.name}`, () => {
    const text = JSON.stringify(vector.json);
    const message = readMessage(text, vector.from);
    assert.deepStrictEqual(meaningOf(message), vector.meaning);
    assert.deepStrictEqual(JSON.parse(writeMessage(message)), vector.json);
  });
}

for (const vector of vectors.messages.invalid) {
  test(`invalid message fails with ${vector.error}: ${vector.name}`, () => {
    assert.throws(() => readMessage(vector.text, vector.from, vector.maxMessageBytes),
      (err) => err instanceof RunnerProtocolError && err.code === vector.error);
  });
}

for (const vector of vectors.batches.valid) {
  test(`valid batch decodes and encodes back byte-exact: ${vector.name}`, () => {
    const bytes = encoder.encode(vector.input);
    const batch = decodeBatch(bytes);
    assert.deepStrictEqual(batch.header, vector.header);
    assert.deepStrictEqual(batch.frames, vector.frames);
    assert.deepStrictEqual(Buffer.from(encodeBatch(batch.header, batch.frames)), Buffer.from(bytes));
  });
}

for (const vector of vectors.batches.invalid) {
  test(`invalid batch fails with ${vector.error}: ${vector.name}`, () => {
    assert.throws(() => decodeBatch(encoder.encode(vector.input), vector.maxFrameBytes),
      (err) => err instanceof RunnerProtocolError && err.code === vector.error);
  });
}

test('a message from the wrong side is unknown-type, both ways', () => {
  assert.throws(() => readMessage('{"t":"command","id":1,"command":{"op":"start","flow":"f"}}', 'runner'), { code: 'unknown-type' });
  assert.throws(() => readMessage('{"t":"states","flow":"f","modules":[]}', 'dispatcher'), { code: 'unknown-type' });
});

test('the size limit counts UTF-8 bytes, not characters', () => {
  const text = '{"t":"ping","n":1,"x":"☃☃☃"}'; // 28 characters, 34 bytes
  assert.throws(() => readMessage(text, 'runner', 33), { code: 'message-too-large' });
  assert.strictEqual(readMessage(text, 'runner', 34).n, 1);
});
