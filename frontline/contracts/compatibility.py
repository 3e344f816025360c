"""Changes within an event version must be additive: this finds the ones that are not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Schema = dict[str, Any]


def breaking_changes(old: Schema, new: Schema) -> list[str]:
    """What a consumer or producer written against `old` would trip over in `new`."""
    return list(_compare(old, new, old, new, "$"))


def _compare(old: Schema, new: Schema, old_root: Schema, new_root: Schema, path: str) -> Iterator[str]:
    old, new = _resolve(old, old_root), _resolve(new, new_root)
    lost = _kinds(old, old_root) - _kinds(new, new_root)
    if lost and "any" not in _kinds(new, new_root):
        yield f"{path}: no longer accepts {', '.join(sorted(lost))}"
    if "const" in old and old.get("const") != new.get("const"):
        yield f"{path}: constant changed from {old['const']!r} to {new.get('const')!r}"
    if "enum" in old and "enum" in new and (removed := set(old["enum"]) - set(new["enum"])):
        yield f"{path}: values removed: {', '.join(sorted(map(str, removed)))}"
    old_object, new_object = _object_branch(old, old_root), _object_branch(new, new_root)
    if old_object and new_object:
        yield from _compare_objects(old_object, new_object, old_root, new_root, path)
    old_items, new_items = _array_items(old, old_root), _array_items(new, new_root)
    if old_items is not None and new_items is not None:
        yield from _compare(old_items, new_items, old_root, new_root, f"{path}[]")


def _compare_objects(old: Schema, new: Schema, old_root: Schema, new_root: Schema, path: str) -> Iterator[str]:
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name, old_prop in old_props.items():
        if name not in new_props:
            yield f"{path}.{name}: removed"
        else:
            yield from _compare(old_prop, new_props[name], old_root, new_root, f"{path}.{name}")
    for name in sorted(set(new.get("required", [])) - set(old.get("required", []))):
        yield f"{path}.{name}: newly required"


def _resolve(schema: Schema, root: Schema) -> Schema:
    while "$ref" in schema:
        schema = root["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _kinds(schema: Schema, root: Schema) -> set[str]:
    schema = _resolve(schema, root)
    if "anyOf" in schema or "oneOf" in schema:
        branches: list[Schema] = schema.get("anyOf") or schema["oneOf"]
        return set().union(*(_kinds(branch, root) for branch in branches))
    if "type" in schema:
        declared = schema["type"]
        return set(declared) if isinstance(declared, list) else {declared}
    values = schema.get("enum", [schema["const"]] if "const" in schema else None)
    if values is not None:
        return {type(value).__name__ for value in values}
    return {"any"}


def _branches(schema: Schema, root: Schema) -> list[Schema]:
    schema = _resolve(schema, root)
    branches: list[Schema] = schema.get("anyOf") or schema.get("oneOf") or [schema]
    return [_resolve(branch, root) for branch in branches]


def _object_branch(schema: Schema, root: Schema) -> Schema | None:
    return next((b for b in _branches(schema, root) if b.get("type") == "object"), None)


def _array_items(schema: Schema, root: Schema) -> Schema | None:
    array = next((b for b in _branches(schema, root) if b.get("type") == "array"), None)
    return array.get("items", {}) if array else None
