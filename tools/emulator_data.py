"""Write video_api/testing/spec_data.json: what the emulator needs from openapi.yaml.

The emulator cannot read openapi.yaml itself, because PyYAML is not a runtime dependency
of the package. Run from the repository root after changing the spec:

    python tools/emulator_data.py            # rewrite the JSON
    python tools/emulator_data.py --check    # exit 1 if the JSON is stale
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Dict, List
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
OUTPUT = ROOT / "video_api" / "testing" / "spec_data.json"
MARKER = "by tools/emulator_data.py from openapi.yaml; do not edit"
METHODS = ("get", "put", "post", "patch", "delete", "options", "head", "trace")
FORMAT_SAMPLES = {"date-time": "2024-01-01T00:00:00+00:00", "uri": "https://example.com/"}
TYPE_SAMPLES: Dict[str, Any] = {"string": "string", "integer": 0, "number": 0, "boolean": False}
MAX_DEPTH = 8  # how deep a sample built from a schema alone goes
MIN_ECHO_LENGTH = 8  # shorter example values ("en") are too likely to occur by chance

Json = Dict[str, Any]


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe, in C when PyYAML has libyaml (eight times faster on this spec), and keeping
    timestamps as the strings they are in JSON rather than datetime objects."""


_Loader.add_constructor(
    "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
)


def resolve(spec: Json, node: Any) -> Any:
    """Follow ``$ref`` (local JSON pointers) until a node that is not a reference."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def kind(schema: Json) -> str | None:
    if "type" in schema:
        return str(schema["type"])
    return "object" if "properties" in schema else "array" if "items" in schema else None


def fits(value: Any, expected: str | None) -> bool:
    """Whether ``value`` has the JSON type ``expected`` (None accepts anything)."""
    if expected in ("integer", "number") and isinstance(value, bool):
        return False
    types: Dict[str, Any] = {
        "object": dict,
        "array": list,
        "string": str,
        "integer": int,
        "number": (int, float),
        "boolean": bool,
    }
    return expected not in types or isinstance(value, types[expected])


def sample(spec: Json, schema: Any, depth: int = 0) -> Any:
    """A value for ``schema``: its own example made to conform, else one built from it."""
    schema = resolve(spec, schema)
    if "example" in schema:
        return conform(spec, schema["example"], schema, depth)
    return build(spec, schema, depth)


def build(spec: Json, schema: Json, depth: int) -> Any:
    """A value from the schema alone: enum, default, properties, items or a typed sample."""
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    expected = kind(schema)
    if expected == "object":
        properties = schema.get("properties", {})
        names = properties if depth < MAX_DEPTH else schema.get("required", [])
        return {name: sample(spec, properties.get(name, {}), depth + 1) for name in names}
    if expected == "array":
        return [sample(spec, schema["items"], depth + 1)] if depth < MAX_DEPTH else []
    if expected == "string":
        return FORMAT_SAMPLES.get(schema.get("format", ""), "string")
    return TYPE_SAMPLES.get(expected or "")


def conform(spec: Json, value: Any, schema: Any, depth: int = 0) -> Any:
    """``value`` made valid against ``schema``: required properties filled, wrong types
    coerced (``"33"`` for an integer) or replaced by a sample."""
    schema = resolve(spec, schema)
    expected = kind(schema)
    if value is None:
        return None if schema.get("nullable") or expected is None else build(spec, schema, depth)
    if expected == "object" and isinstance(value, dict):
        properties = schema.get("properties", {})
        result = {
            name: conform(spec, item, properties[name], depth + 1) if name in properties else item
            for name, item in value.items()
        }
        for name in schema.get("required", []):
            if name not in result:
                result[name] = sample(spec, properties.get(name, {}), depth + 1)
        return result
    if expected == "array" and isinstance(value, list):
        return [conform(spec, item, schema.get("items", {}), depth + 1) for item in value]
    if expected in ("integer", "number") and isinstance(value, str):
        try:
            value = int(value) if expected == "integer" else float(value)
        except ValueError:
            return build(spec, schema, depth)
    if not fits(value, expected) or (schema.get("enum") and value not in schema["enum"]):
        return build(spec, schema, depth)
    return value


def response_body(spec: Json, response: Json) -> Any:
    """The first documented example of a JSON response (else a schema sample), made valid."""
    media = resolve(spec, response).get("content", {}).get("application/json")
    if media is None:
        return None
    schema = media.get("schema", {})
    examples = media.get("examples")
    if examples:
        value = resolve(spec, next(iter(examples.values()))).get("value")
    elif "example" in media:
        value = media["example"]
    else:
        return sample(spec, schema)
    return conform(spec, value, schema)


def echoed(path: str, body: Any) -> Dict[str, str]:
    """Path parameters whose example value the success body carries, for the emulator to echo:
    videoId in a video, token in an upload token, the ids in a caption's or a page's ``uri``."""
    if not isinstance(body, dict):
        return {}
    names = re.findall(r"{(\w+)}", path)
    found: Dict[str, str] = {}
    for name in names:
        for key, value in body.items():
            if isinstance(value, str) and (key == name or name.endswith(key.capitalize())):
                found[name] = value
                break
    links = body.get("pagination", {}).get("links", [])
    uris = [body.get("uri")] + [link.get("uri") for link in links if isinstance(link, dict)]
    pattern = re.sub(r"{(\w+)}", r"(?P<\1>[^/]+)", path)
    for uri in uris:
        match = re.fullmatch(pattern, urlsplit(uri).path) if isinstance(uri, str) else None
        for name, value in match.groupdict().items() if match else ():
            found.setdefault(name, value)
    return {name: value for name, value in found.items() if len(value) >= MIN_ECHO_LENGTH}


def query_rules(spec: Json, operation: Json) -> Json:
    """Allowed values of enumerated query and path parameters, required ones, the query's
    date-times, and paging."""
    parameters = [resolve(spec, p) for p in operation.get("parameters", [])]
    query = [p for p in parameters if p.get("in") == "query"]
    enums, path_enums, dates = {}, {}, []
    for parameter in parameters:
        schema = resolve(spec, parameter.get("schema", {}))
        allowed = schema.get("enum") or resolve(spec, schema.get("items", {})).get("enum")
        if allowed and parameter.get("in") in ("query", "path"):
            target = enums if parameter["in"] == "query" else path_enums
            target[parameter["name"]] = [str(value) for value in allowed]
        if parameter.get("in") == "query" and schema.get("format") == "date-time":
            dates.append(parameter["name"])
    names = {p["name"] for p in query}
    return {
        "enums": enums,
        "path_enums": path_enums,
        "dates": dates,
        "required": sorted(p["name"] for p in query if p.get("required")),
        "paged": {"currentPage", "pageSize"} <= names,
    }


def request_body(spec: Json, operation: Json) -> Json | None:
    """The body's kind (json or multipart) and, for JSON, its required attributes."""
    content = resolve(spec, operation.get("requestBody", {})).get("content", {})
    if "application/json" in content:
        schema = resolve(spec, content["application/json"].get("schema", {}))
        return {"kind": "json", "required": list(schema.get("required", []))}
    if "multipart/form-data" in content:
        return {"kind": "multipart", "required": []}
    return None


def path_examples(spec: Json, operation: Json) -> Json:
    """The example ids of the path's parameters: the objects an example account holds."""
    found = {}
    for parameter in (resolve(spec, p) for p in operation.get("parameters", [])):
        example = parameter.get(
            "example", resolve(spec, parameter.get("schema", {})).get("example")
        )
        if parameter.get("in") == "path" and isinstance(example, str):
            found[parameter["name"]] = example
    return found


def operation_data(spec: Json, path: str, method: str, operation: Json) -> Json:
    # The spec leaves out ``security`` on some operations that the API does protect (GET /tags);
    # only the token endpoints and an explicit ``security: []`` (POST /upload) are open.
    auth = not path.startswith("/auth/") and operation.get("security") != []
    responses = {
        status: response_body(spec, response) for status, response in operation["responses"].items()
    }
    success = min(int(status) for status in responses if status.startswith("2"))
    return {
        "method": method.upper(),
        "path": path,
        "auth": auth,
        "success": success,
        "body": request_body(spec, operation),
        "echo": echoed(path, responses[str(success)]),
        "path_examples": path_examples(spec, operation),
        "responses": responses,
        **query_rules(spec, operation),
    }


def generate(spec: Json) -> Json:
    operations: List[Json] = [
        operation_data(spec, path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]
    return {"generated": MARKER, "operations": operations}


def render(spec_text: str) -> str:
    data = generate(yaml.load(spec_text, Loader=_Loader))
    return json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n"


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file would change")
    args = parser.parse_args(argv)
    text = render(SPEC.read_text(encoding="utf-8"))
    current = OUTPUT.read_bytes().decode("utf-8") if OUTPUT.exists() else None
    if args.check:
        if current != text:
            print(f"{OUTPUT.relative_to(ROOT)} is stale: run python tools/emulator_data.py")
            return 1
        return 0
    if current != text:
        OUTPUT.write_bytes(text.encode("utf-8"))  # "\n" line ends on every platform
        print(f"wrote {OUTPUT.relative_to(ROOT)} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
