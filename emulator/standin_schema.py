"""A minimal instance of a JSON schema: what guided decoding makes the model produce.

vLLM constrains the output to the schema of `response_format` (or of a tool's parameters); the
stand-in has no model to constrain, so it builds the smallest value the schema accepts: required
properties only, the lower bound of numbers and lengths, the first enum value or branch. `text`
fills the first free string so that the answer still carries the reply.
"""

from __future__ import annotations

from typing import Any


class SchemaError(ValueError):
    """A schema the stand-in cannot satisfy (vLLM's grammar compiler would refuse it too)."""


def minimal_instance(schema: Any, text: str = "", root: Any = None, depth: int = 0) -> Any:
    if depth > 32:
        raise SchemaError("schema nests too deeply (or refers to itself without an end)")
    root = schema if root is None else root
    if schema is True or schema == {}:
        return text
    if not isinstance(schema, dict):
        raise SchemaError(f"a schema must be an object or a boolean, got {type(schema).__name__}")
    if "$ref" in schema:
        return minimal_instance(_resolve(root, schema["$ref"]), text, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return minimal_instance(schema[key][0], text, root, depth + 1)
    if schema.get("allOf"):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged = _merge(merged, part)
        return minimal_instance(merged, text, root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    return _typed(kind, schema, text, root, depth)


def _typed(kind: str, schema: dict[str, Any], text: str, root: Any, depth: int) -> Any:
    if kind == "object":
        properties = schema.get("properties") or {}
        result: dict[str, Any] = {}
        for name in schema.get("required") or []:
            sub = properties.get(name, True)
            result[name] = minimal_instance(sub, text if not _has_string(result) else "", root, depth + 1)
        return result
    if kind == "array":
        count = int(schema.get("minItems") or 0)
        return [minimal_instance(schema.get("items", True), text, root, depth + 1) for _ in range(count)]
    if kind == "string":
        low, high = int(schema.get("minLength") or 0), schema.get("maxLength")
        value = text if high is None else text[: int(high)]
        return value + "x" * max(0, low - len(value))
    if kind in ("integer", "number"):
        number: Any = schema.get("minimum")
        if number is None and isinstance(schema.get("exclusiveMinimum"), int | float):
            number = schema["exclusiveMinimum"] + 1
        number = 0 if number is None else number
        if schema.get("maximum") is not None and number > schema["maximum"]:
            raise SchemaError("minimum is above maximum")
        return int(number) if kind == "integer" else number
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    raise SchemaError(f"unknown type {kind!r}")


def _has_string(value: dict[str, Any]) -> bool:
    return any(isinstance(v, str) and v for v in value.values())


def _resolve(root: Any, ref: Any) -> Any:
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise SchemaError(f"only local references are supported, got {ref!r}")
    node = root
    for part in [p for p in ref[1:].split("/") if p]:
        if not isinstance(node, dict) or part not in node:
            raise SchemaError(f"unresolvable reference {ref!r}")
        node = node[part]
    return node


def _merge(left: dict[str, Any], right: Any) -> dict[str, Any]:
    if not isinstance(right, dict):
        return left
    merged = {**left, **right}
    merged["properties"] = {**(left.get("properties") or {}), **(right.get("properties") or {})}
    merged["required"] = [*(left.get("required") or []), *(right.get("required") or [])]
    return merged
