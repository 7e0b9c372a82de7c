import test from 'node:test';
import assert from 'node:assert';
import { createModuleLoader, NO_ON_MESSAGE } from '../lib/module_loader.js';
import { ModuleRecord } from '../../core/module_record.js';

const loadModule = createModuleLoader({ run: (module, fn) => fn() });

function load(code, id = 'm') {
  const module = new ModuleRecord(0, { id, code, inputs: ['in'], outputs: ['out'], config: {}, state: {}, init: true });
  return loadModule(module);
}

test('a syntax error is a load error with the line in the user\'s code', () => {
  const result = load('const a = 1;\nconst b = 2;\nconst c = ;\nexports.onMessage = () => {};\n');
  assert.match(result.error, /^SyntaxError: Unexpected token/);
  assert.strictEqual(result.line, 3);
});

test('a syntax error on the first line has line 1', () => {
  const result = load('exports.onMessage = (msg => ;');
  assert.match(result.error, /^SyntaxError: /);
  assert.strictEqual(result.line, 1);
});

test('code cannot close the CommonJS wrapper early', () => {
  const result = load('exports.onMessage = () => {};\n}\n(function () {');
  assert.match(result.error, /^SyntaxError: /);
  assert.strictEqual(result.line, 2);
});

test('an exception while the module body runs is a load error with its line', () => {
  const result = load('exports.onMessage = () => {};\n\nthrow new TypeError("boom");\n');
  assert.deepStrictEqual(result, { error: 'TypeError: boom', line: 3 });
});

test('an exception thrown from a function the body calls reports the line of the throw', () => {
  const result = load('function f() {\n  return null.x;\n}\nf();\nexports.onMessage = () => {};');
  assert.strictEqual(result.line, 2);
  assert.match(result.error, /^TypeError: Cannot read properties of null/);
});

test('throwing something that is not an Error gives its text and no line', () => {
  assert.deepStrictEqual(load('throw "nope";'), { error: 'nope', line: null });
});

test('a module without onMessage is a load error without a line', () => {
  assert.deepStrictEqual(load('exports.init = () => {};'), { error: NO_ON_MESSAGE, line: null });
  assert.deepStrictEqual(load('module.exports = 42;'), { error: NO_ON_MESSAGE, line: null });
  assert.strictEqual(NO_ON_MESSAGE, 'module exports no onMessage(msg, ctx) function');
});

test('exports.onMessage and exports.init are found', () => {
  const result = load('exports.init = (ctx) => "init";\nexports.onMessage = async (msg, ctx) => msg.payload;');
  assert.strictEqual(typeof result.onMessage, 'function');
  assert.strictEqual(result.init(), 'init');
});

test('module.exports = function is the short form of onMessage', () => {
  const result = load('module.exports = (msg, ctx) => msg.payload + 1;');
  assert.strictEqual(result.onMessage({ port: 'in', payload: 41 }), 42);
  assert.strictEqual(result.init, null);
  assert.strictEqual(result.onSwap, null);
});

test('onSwap is found in both forms; one that is not a function is left out', () => {
  assert.strictEqual(load('exports.onMessage = () => {};\nexports.onSwap = (old) => old + 1;').onSwap(1), 2);
  assert.strictEqual(load('module.exports = () => {};\nmodule.exports.onSwap = () => "short";').onSwap(), 'short');
  assert.strictEqual(load('exports.onMessage = () => {};\nexports.onSwap = 3;').onSwap, null);
});

test('require gives Node built-ins, and __filename names the module', () => {
  const result = load('const path = require("node:path");\nconst util = require("util");\n' +
    'module.exports = () => [path.basename("/a/b.txt"), util.format("%d", 7), __filename];', 'files');
  assert.deepStrictEqual(result.onMessage(), ['b.txt', '7', 'module:files']);
});

test('a runtime error in a handler has a stack frame with the module\'s line', () => {
  const result = load('module.exports = (msg) => {\n  return msg.missing.x;\n};', 'lines');
  try {
    result.onMessage({ port: 'in', payload: 1 });
    assert.fail('expected a throw');
  } catch (err) {
    assert.match(err.stack, /module:lines:2:/);
  }
});

test('module bodies run through `run`, so their logs can be attributed', () => {
  const seen = [];
  const loader = createModuleLoader({ run: (module, fn) => { seen.push(module.id); return fn(); } });
  const module = new ModuleRecord(0, { id: 'who', code: 'module.exports = () => {}', inputs: [], outputs: [], config: {}, state: {}, init: true });
  loader(module);
  assert.deepStrictEqual(seen, ['who']);
});
