// The shared behaviour vectors of the twins (Tests/Fixtures/vectors/<name>.json): the same files
// the Swift tests read, so that the browser runner and the Swift runner are held to one behaviour.
import fs from 'node:fs';
import path from 'node:path';

const VECTORS_DIR = path.join(import.meta.dirname, '..', '..', '..', 'Tests', 'Fixtures', 'vectors');

/** The parsed vectors file `name` (without `.json`). */
function loadVectors(name) {
  return JSON.parse(fs.readFileSync(path.join(VECTORS_DIR, `${name}.json`), 'utf8'));
}

export { loadVectors, VECTORS_DIR };
