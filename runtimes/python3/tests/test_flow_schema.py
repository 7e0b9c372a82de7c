"""docs/flow.schema.json: valid JSON, accepts every example flow, refuses
bad documents. Checked with a small validator for the keywords the schema
uses (standard library only)."""

import copy
import glob
import json
import os
import re
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..", "..")
SCHEMA = os.path.join(ROOT, "docs", "flow.schema.json")
EXAMPLES = os.path.join(ROOT, "examples", "flows")

# Keywords that only annotate.
ANNOTATIONS = {"$schema", "$defs", "title", "description", "default", "$comment"}
# Keywords the validator below checks. The schema must use no others.
CHECKED = {"$ref", "type", "enum", "required", "properties", "additionalProperties",
           "pattern", "minLength", "items", "uniqueItems", "oneOf", "minimum", "maximum"}

TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
}


def ecma_pattern(pattern):
    """In JSON Schema (ECMA-262) a final "$" is the end of the text; in
    Python it also matches before a final newline."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern[:-1] + r"\Z"
    return pattern


def errors(schema, value, root, path="$"):
    """Every problem of ``value`` against ``schema``, as "path: reason"."""
    if "$ref" in schema:
        prefix = "#/$defs/"
        assert schema["$ref"].startswith(prefix), schema["$ref"]
        found = errors(root["$defs"][schema["$ref"][len(prefix):]], value, root, path)
    else:
        found = []
    if "type" in schema and not TYPES[schema["type"]](value):
        return found + [f"{path}: not of type {schema['type']}"]
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{path}: not one of {schema['enum']}")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(ecma_pattern(schema["pattern"]), value):
            found.append(f"{path}: does not match {schema['pattern']}")
        if len(value) < schema.get("minLength", 0):
            found.append(f"{path}: shorter than {schema['minLength']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            found.append(f"{path}: less than {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            found.append(f"{path}: more than {schema['maximum']}")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                found.append(f"{path}: missing {name}")
        for name, item in value.items():
            if name in properties:
                found += errors(properties[name], item, root, f"{path}.{name}")
            elif schema.get("additionalProperties", True) is False:
                found.append(f"{path}: unknown field {name}")
    if isinstance(value, list):
        if "items" in schema:
            for i, item in enumerate(value):
                found += errors(schema["items"], item, root, f"{path}[{i}]")
        if schema.get("uniqueItems"):
            texts = [json.dumps(item, sort_keys=True) for item in value]
            if len(set(texts)) != len(texts):
                found.append(f"{path}: items are not unique")
    if "oneOf" in schema:
        matches = sum(not errors(option, value, root, path) for option in schema["oneOf"])
        if matches != 1:
            found.append(f"{path}: matches {matches} of the oneOf options, not exactly 1")
    return found


def keywords(schema, at="$"):
    """(path, keyword) for every keyword used anywhere in ``schema``."""
    for key, value in schema.items():
        yield at, key
        if key in ("properties", "$defs"):
            for name, sub in value.items():
                yield from keywords(sub, f"{at}.{key}.{name}")
        elif key == "items" or (key == "additionalProperties" and isinstance(value, dict)):
            yield from keywords(value, f"{at}.{key}")
        elif key == "oneOf":
            for i, sub in enumerate(value):
                yield from keywords(sub, f"{at}.{key}[{i}]")


def good_flow():
    return {
        "id": "orders",
        "description": "optional text",
        "modules": [
            {"id": "parse", "runtime": "python3", "file": "parse.py",
             "inputs": ["in"], "outputs": ["out"], "config": {"strict": True}},
            {"id": "enrich", "runtime": "node",
             "code": "exports.onMessage = (msg, ctx) => ctx.send('out', msg.payload)",
             "tags": ["gpu"], "timeoutMs": 0, "dependencies": ["left-pad@1.3.0"], "description": "adds fields"},
        ],
        "connections": [{"from": "parse.out", "to": "enrich.in"}],
    }


class FlowSchemaTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(SCHEMA, encoding="utf-8") as file:
            cls.schema = json.load(file)

    def check(self, document):
        return errors(self.schema, document, self.schema)

    def assertRefused(self, document, reason):
        found = self.check(document)
        self.assertTrue(found, "the schema accepted a document it must refuse")
        self.assertTrue(any(reason in problem for problem in found), found)

    def test_schema_isDraft2020_12_andUsesOnlyCheckedKeywords(self):
        self.assertEqual(self.schema["$schema"], "https://json-schema.org/draft/2020-12/schema")
        unknown = [(at, key) for at, key in keywords(self.schema) if key not in ANNOTATIONS | CHECKED]
        self.assertEqual(unknown, [])

    def test_everyExampleFlow_validates(self):
        paths = sorted(glob.glob(os.path.join(EXAMPLES, "*.json")))
        self.assertTrue(paths, f"no example flows in {EXAMPLES}")
        for path in paths:
            with self.subTest(example=os.path.basename(path)):
                with open(path, encoding="utf-8") as file:
                    self.assertEqual(self.check(json.load(file)), [])

    def test_fullDocument_andMinimalDocument_validate(self):
        self.assertEqual(self.check(good_flow()), [])
        self.assertEqual(self.check({"id": "empty", "modules": []}), [])
        minimal = {"id": "f", "modules": [{"id": "m", "runtime": "node", "code": "module.exports = () => 1",
                                            "inputs": [], "outputs": [], "config": None}]}
        self.assertEqual(self.check(minimal), [])

    def test_missingId_isRefused(self):
        flow = good_flow()
        del flow["id"]
        self.assertRefused(flow, "missing id")
        flow = good_flow()
        del flow["modules"][0]["id"]
        self.assertRefused(flow, "missing id")

    def test_badIdCharacters_areRefused(self):
        for bad in ["orders!", "a b", "a.b", "a/b", "", "x" * 65, "ordérs", "orders\n"]:
            with self.subTest(id=bad):
                flow = good_flow()
                flow["id"] = bad
                self.assertRefused(flow, "does not match")
        flow = good_flow()
        flow["modules"][1]["outputs"] = ["out", "a.b"]
        self.assertRefused(flow, "does not match")

    def test_codeAndFile_bothOrNeither_areRefused(self):
        flow = good_flow()
        flow["modules"][0]["code"] = "def on_message(msg, ctx): pass"
        self.assertRefused(flow, "matches 2 of the oneOf")
        flow = good_flow()
        del flow["modules"][1]["code"]
        self.assertRefused(flow, "matches 0 of the oneOf")
        flow = good_flow()
        flow["modules"][1]["code"] = ""
        self.assertRefused(flow, "shorter than 1")

    def test_unknownFields_areRefused(self):
        flow = good_flow()
        flow["descripton"] = "typo"
        self.assertRefused(flow, "unknown field descripton")
        flow = good_flow()
        flow["modules"][0]["tag"] = ["x"]
        self.assertRefused(flow, "unknown field tag")
        flow = good_flow()
        flow["connections"][0]["via"] = "x"
        self.assertRefused(flow, "unknown field via")

    def test_wrongShapes_areRefused(self):
        cases = [
            (("modules", 0, "runtime"), "pyhton3", "not one of"),
            (("modules", 0, "inputs"), ["in", "in"], "not unique"),
            (("modules", 0, "outputs"), "out", "not of type array"),
            (("modules", 0, "tags"), [1], "not of type string"),
            (("modules", 0, "timeoutMs"), -1, "less than 0"),
            (("modules", 0, "timeoutMs"), 86400001, "more than 86400000"),
            (("modules", 0, "timeoutMs"), 1.5, "not of type integer"),
            (("modules", 0, "timeoutMs"), "60s", "not of type integer"),
            (("connections", 0, "to"), "enrich", "does not match"),
            (("connections", 0, "from"), "parse.out.x", "does not match"),
            (("description",), None, "not of type string"),
        ]
        for where, value, reason in cases:
            with self.subTest(where=where):
                flow = copy.deepcopy(good_flow())
                target = flow
                for key in where[:-1]:
                    target = target[key]
                target[where[-1]] = value
                self.assertRefused(flow, reason)
        self.assertRefused([good_flow()], "not of type object")

    def test_dependencies_areStrings_neverOptions(self):
        for bad, reason in [({"x": "1"}, "not of type array"), ([5], "not of type string"),
                            (["--index-url=http://x"], "does not match"), ([""], "shorter than")]:
            document = good_flow()
            document["modules"][1]["dependencies"] = bad
            self.assertRefused(document, reason)


if __name__ == "__main__":
    unittest.main()
