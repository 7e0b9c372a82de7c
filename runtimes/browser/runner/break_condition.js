// A breakpoint's condition on the payload, as Sources/FlowModel/Debugging/BreakCondition.swift
// reads it: {"pointer": "/order/total", "equals": 0} or {"pointer": "/error", "exists": true}.
// `pointer` is a JSON Pointer (RFC 6901); "" is the whole payload.

import { jsonEqual } from './json_equal.js';

const KNOWN_FIELDS = ['pointer', 'equals', 'exists'];

/** The JSON type's name as a user reads it (JSONValue.typeName in Swift). */
function typeName(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'boolean': return 'a boolean';
    case 'number': return 'a number';
    case 'string': return 'a string';
    default: return 'an object';
  }
}

/** Edit distance of two short strings (both at most 64 characters here). */
function editDistance(a, b) {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/** ` (did you mean "x"?)` or '': the rule of Sources/FlowModel/Validation/DidYouMean.swift. */
function didYouMean(word, candidates) {
  const w = word.toLowerCase();
  if (w.length === 0 || w.length > 64) return '';
  let best = null;
  for (const candidate of candidates) {
    const l = candidate.toLowerCase();
    const prefixed = Math.min(w.length, l.length) >= 3 && (w.startsWith(l) || l.startsWith(w));
    const limit = Math.max(1, Math.min(2, Math.floor(candidate.length / 3)));
    const d = w === l ? 0 : prefixed ? 1 : editDistance(word, candidate);
    if (d <= limit && (best === null || d < best.d)) best = { candidate, d };
    if (best !== null && best.d === 0) break;
  }
  return best === null ? '' : ` (did you mean "${best.candidate}"?)`;
}

/**
 * Checks a condition's form; returns null when fine, else one line naming the field and the fix:
 * the same checks, in the same order, with the same texts as BreakCondition(json:) in Swift.
 */
function conditionProblem(condition) {
  if (condition === null || typeof condition !== 'object' || Array.isArray(condition)) {
    return `condition: must be an object like {"pointer": "/field", "equals": 42}, got ${typeName(condition)}`;
  }
  for (const key of Object.keys(condition).sort()) {
    if (!KNOWN_FIELDS.includes(key)) {
      return `condition.${key}: unknown field${didYouMean(key, KNOWN_FIELDS)}; a condition has "pointer" and one of "equals" or "exists"`;
    }
  }
  if (!('pointer' in condition)) return 'condition.pointer: missing: say where in the payload to look, e.g. "/user/id" ("" is the whole payload)';
  if (typeof condition.pointer !== 'string') return `condition.pointer: must be a string, got ${typeName(condition.pointer)}`;
  const hasEquals = 'equals' in condition;
  const hasExists = 'exists' in condition;
  if (hasEquals && hasExists) return 'condition: has both "equals" and "exists": keep one';
  if (!hasEquals && !hasExists) return 'condition: needs "equals": VALUE or "exists": true/false';
  if (hasExists && typeof condition.exists !== 'boolean') return `condition.exists: must be true or false, got ${typeName(condition.exists)}`;
  if (condition.pointer !== '' && !condition.pointer.startsWith('/')) {
    return `condition.pointer: "${condition.pointer}" is not a JSON Pointer: start it with "/" (e.g. "/user/id"), or use "" for the whole payload`;
  }
  return null;
}

function resolve(pointer, value) {
  if (pointer === '') return { found: true, value };
  let current = value;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(current)) {
      if (!/^(0|[1-9][0-9]*)$/.test(key) || Number(key) >= current.length) return { found: false };
      current = current[Number(key)];
    } else if (current !== null && typeof current === 'object' && Object.hasOwn(current, key)) {
      current = current[key];
    } else {
      return { found: false };
    }
  }
  return { found: true, value: current };
}

/** Whether `payload` (a parsed JSON value) matches `condition` (null: always). */
function matches(condition, payload) {
  if (condition === null || condition === undefined) return true;
  const found = resolve(condition.pointer, payload);
  if ('exists' in condition) return found.found === condition.exists;
  return found.found && jsonEqual(found.value, condition.equals);
}

export { conditionProblem, matches };
