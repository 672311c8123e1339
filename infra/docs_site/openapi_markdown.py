"""Render the committed OpenAPI document (``docs/openapi.json``) as one Markdown page.

The docs site is built offline, so the API is shown as plain Markdown (routes, their
parameters and answers, then every schema) rather than through Swagger UI, which loads
its scripts from a CDN. The running API still serves Swagger UI at ``/docs``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

Schema = Mapping[str, Any]
METHODS = ("get", "post", "put", "patch", "delete")
REF_PREFIX = "#/components/schemas/"


def render(document: Schema) -> str:
    """The whole page: a heading, the routes by tag, then the schemas."""
    info = document.get("info", {})
    lines = [
        f"# OpenAPI: {info.get('title', 'API')} {info.get('version', '')}".rstrip(),
        "",
        cell(info.get("description", "")),
        "",
        "Generated from `docs/openapi.json` (`make openapi` exports it from the app) each time",
        "the site is built. The running API serves the same document at `/openapi.json`, with",
        "Swagger UI at `/docs`.",
        "",
        "## Routes",
        "",
    ]
    for path, method, operation in operations(document):
        lines += route(path, method, operation)
    lines += ["## Schemas", ""]
    for name, schema in sorted(document.get("components", {}).get("schemas", {}).items()):
        lines += component(name, schema)
    return "\n".join(lines).rstrip() + "\n"


def operations(document: Schema) -> Iterator[tuple[str, str, Schema]]:
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def route(path: str, method: str, operation: Schema) -> list[str]:
    lines = [f"### `{method.upper()} {path}`", ""]
    description = operation.get("description") or operation.get("summary") or ""
    if description:
        lines += [cell(description), ""]
    parameters = operation.get("parameters", [])
    if parameters:
        lines += ["| parameter | in | type | required | description |", "|---|---|---|---|---|"]
        for parameter in parameters:
            lines.append(
                f"| `{parameter['name']}` | {parameter['in']} | {type_of(parameter['schema'])} "
                f"| {'yes' if parameter.get('required') else 'no'} "
                f"| {cell(parameter.get('description', ''))} |"
            )
        lines.append("")
    body = operation.get("requestBody")
    if body:
        lines += [f"Body: {content_type(body)}", ""]
    lines += ["| answer | meaning | body |", "|---|---|---|"]
    for status, answer in sorted(operation.get("responses", {}).items()):
        lines.append(
            f"| {status} | {cell(answer.get('description', ''))} | {content_type(answer)} |"
        )
    return [*lines, ""]


def component(name: str, schema: Schema) -> list[str]:
    lines = [f"### {name} {{#{anchor(name)}}}", ""]
    if schema.get("description"):
        lines += [cell(schema["description"]), ""]
    if "enum" in schema:
        values = ", ".join(f"`{value}`" for value in schema["enum"])
        return [*lines, f"One of {values}.", ""]
    properties = schema.get("properties", {})
    if not properties:
        return [*lines, f"Type: {type_of(schema)}.", ""]
    required = set(schema.get("required", []))
    lines += ["| field | type | required | description |", "|---|---|---|---|"]
    for field, spec in properties.items():
        lines.append(
            f"| `{field}` | {type_of(spec)} | {'yes' if field in required else 'no'} "
            f"| {cell(describe(spec))} |"
        )
    return [*lines, ""]


def content_type(holder: Schema) -> str:
    """The JSON schema a request body or an answer carries, or a dash."""
    json_body = holder.get("content", {}).get("application/json")
    if json_body is None:
        other = ", ".join(f"`{kind}`" for kind in holder.get("content", {}))
        return other or "-"
    return type_of(json_body.get("schema", {}))


def type_of(schema: Schema) -> str:
    """A schema's type in a few words, with a link for each named schema."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix(REF_PREFIX)
        return f"[{name}](#{anchor(name)})"
    for union in ("anyOf", "oneOf"):
        if union in schema:
            return " or ".join(type_of(option) for option in schema[union])
    if "allOf" in schema:
        return " and ".join(type_of(part) for part in schema["allOf"])
    kind = schema.get("type")
    if kind == "array":
        return f"array of {type_of(schema.get('items', {}))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), Mapping):
        return f"object of {type_of(schema['additionalProperties'])}"
    if "const" in schema:
        return f"`{schema['const']}`"
    if "enum" in schema:
        return " or ".join(f"`{value}`" for value in schema["enum"])
    return str(kind) if kind else "any"


def describe(spec: Schema) -> str:
    """A field's description, with its bounds and default when the schema gives them."""
    parts = [spec.get("description", "")]
    bounds = bounds_of(spec)
    for option in spec.get("anyOf", []):
        bounds += bounds_of(option)
    if bounds:
        parts.append("; ".join(bounds))
    if "default" in spec and spec["default"] is not None:
        parts.append(f"default `{spec['default']}`")
    return ". ".join(part for part in parts if part)


def bounds_of(spec: Schema) -> list[str]:
    names = {
        "minimum": "≥",
        "exclusiveMinimum": ">",
        "maximum": "≤",
        "exclusiveMaximum": "<",
        "minLength": "length ≥",
        "maxLength": "length ≤",
        "minItems": "items ≥",
        "maxItems": "items ≤",
    }
    found = [f"{symbol} {number(spec[key])}" for key, symbol in names.items() if key in spec]
    if "pattern" in spec:
        found.append(f"matches `{spec['pattern']}`")
    return found


def number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else str(value)


def anchor(name: str) -> str:
    return f"schema-{name.lower()}"


def cell(text: str) -> str:
    """Text that stays inside one Markdown table cell or paragraph."""
    return " ".join(str(text).split()).replace("|", "\\|")
