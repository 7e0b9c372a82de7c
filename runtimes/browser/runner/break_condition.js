// A breakpoint's condition on the payload, as Sources/FlowModel/Debugging/BreakCondition.swift
// reads it: {"pointer": "/order/total", "equals": 0} or {"pointer": "/error", "exists": true}.
// `pointer` is a JSON Pointer (RFC 6901); "" is the whole payload.

/** Checks a condition's form; returns null when fine, else one line naming the field and the fix. */
function conditionProblem(condition) {
  if (condition === null || typeof condition !== 'object' || Array.isArray(condition)) {
    return 'condition: must be an object like {"pointer": "/field", "equals": 42}';
  }
  if (typeof condition.pointer !== 'string') return 'condition.pointer: missing or not a string: say where in the payload to look, e.g. "/user/id"';
  if (condition.pointer !== '' && !condition.pointer.startsWith('/')) {
    return `condition.pointer: "${condition.pointer}" is not a JSON Pointer: start it with "/" (e.g. "/user/id"), or use "" for the whole payload`;
  }
  const hasEquals = 'equals' in condition;
  const hasExists = 'exists' in condition;
  if (hasEquals && hasExists) return 'condition: has both "equals" and "exists": keep one';
  if (!hasEquals && !hasExists) return 'condition: needs "equals": VALUE or "exists": true/false';
  if (hasExists && typeof condition.exists !== 'boolean') return 'condition.exists: must be true or false';
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

function deepEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
}

/** Whether `payload` (a parsed JSON value) matches `condition` (null: always). */
function matches(condition, payload) {
  if (condition === null || condition === undefined) return true;
  const found = resolve(condition.pointer, payload);
  if ('exists' in condition) return found.found === condition.exists;
  return found.found && deepEqual(found.value, condition.equals);
}

export { conditionProblem, matches };
