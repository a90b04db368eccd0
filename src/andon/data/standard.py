"""The ODCS standard's own JSON schema: which file judges a contract, and what it says.

A contract valid in every ODCS tool must be valid here (DESIGN.md), so before andon reads a
contract its way, the document is validated against the schema the standard publishes for
its ``apiVersion``. The files are vendored as package data in ``andon/data/odcs/`` (their
origin, digests and the one local patch are in ``PROVENANCE.md`` beside them):

- ``v3.0.0``, ``v3.0.1``, ``v3.0.2`` -> ``odcs-json-schema-v3.0.2.json`` (each v3.0.x
  ``apiVersion`` enum accepts the earlier ones), with ``DuckdbServer.schema`` patched from
  ``integer`` to ``string`` on load: the published v3.0.x schema has that bug (fixed in
  v3.1.0), and would refuse every DuckDB server naming a schema;
- ``v3.1.0`` -> ``odcs-json-schema-v3.1.0.json``; ``v3.2.0`` -> ``odcs-json-schema-v3.2.0.json``.

Validation is JSON Schema draft 2019-09 (what the files declare; v3.1+ relies on
``unevaluatedProperties``) with formats asserted, as the standard's own CI does. Validate a
tree loaded with ``load_bounded(..., timestamps=False)``: JSON has no date type.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib.resources import files
from types import MappingProxyType
from typing import Any

from andon.core.errors import Invalid

KNOWN_VERSIONS: MappingProxyType[str, str] = MappingProxyType(
    {
        "v3.0.0": "v3.0.2",
        "v3.0.1": "v3.0.2",
        "v3.0.2": "v3.0.2",
        "v3.1.0": "v3.1.0",
        "v3.2.0": "v3.2.0",
    }
)
"""Each ``apiVersion`` andon knows -> the version of the schema file that judges it."""

_PATCHED_V30 = ("$defs", "ServerSource", "DuckdbServer", "properties", "schema")


def _unknown_version(value: Any) -> str:
    return f"{value!r} is not a version andon knows ({', '.join(KNOWN_VERSIONS)})"


@cache
def _schema(file_version: str) -> dict[str, Any]:
    """The vendored schema file, parsed once, with the v3.0.x DuckDB patch applied."""
    text = (files("andon.data") / "odcs" / f"odcs-json-schema-{file_version}.json").read_text(
        encoding="utf-8"
    )
    schema: dict[str, Any] = json.loads(text)
    if file_version == "v3.0.2":
        node = _node(schema, _PATCHED_V30)
        if node.get("type") == "integer":  # the upstream bug; see PROVENANCE.md
            node["type"] = "string"
    return schema


def schema_for(api_version: str) -> dict[str, Any]:
    """A copy of the standard's JSON schema (as andon applies it) for ``api_version``;
    :class:`Invalid` naming the known versions when andon knows no such version."""
    if api_version not in KNOWN_VERSIONS:
        raise Invalid(f"apiVersion: {_unknown_version(api_version)}", field="apiVersion")
    return copy.deepcopy(_schema(KNOWN_VERSIONS[api_version]))


@cache
def _validator(file_version: str) -> Any:
    import jsonschema_rs

    return jsonschema_rs.Draft201909Validator(_schema(file_version), validate_formats=True)


@cache
def _matcher(file_version: str, pointer: tuple[str | int, ...]) -> Any:
    """A validator for the subschema at ``pointer`` (an ``if``), resolving ``#/$defs/...``."""
    import jsonschema_rs

    root = _schema(file_version)
    return jsonschema_rs.Draft201909Validator(
        {"$defs": root.get("$defs", {}), "allOf": [_node(root, pointer)]}
    )


def standard_errors(doc: dict[str, Any]) -> list[str]:
    """Every way ``doc`` breaks the standard's schema for its ``apiVersion``, one line each:
    ``path: reason (ODCS vX.Y.Z: rule)``, paths spelled ``schema[0].properties[3].name``,
    in document order. An ``apiVersion`` andon does not know is the one error. A value JSON
    cannot hold (a ``datetime.date`` from a YAML 1.1 loader) is judged as its ISO string."""
    if not isinstance(doc, dict):
        return [f"(document): is a {type(doc).__name__}, not a mapping (ODCS: type)"]
    api_version = doc.get("apiVersion")
    if api_version is None:
        return [
            f"apiVersion: is required; andon knows {', '.join(KNOWN_VERSIONS)} (ODCS: required)"
        ]
    if not isinstance(api_version, str) or api_version not in KNOWN_VERSIONS:
        return [f"apiVersion: {_unknown_version(api_version)}"]
    version = KNOWN_VERSIONS[api_version]
    doc = _as_json(doc)
    raw = [
        (tuple(e.instance_path), tuple(e.schema_path), e)
        for e in _validator(version).iter_errors(doc)
    ]
    found: list[tuple[list[int | str], str]] = []
    for where, rule_path, error in raw:
        for text in _reasons(version, doc, where, rule_path, error, raw):
            found.append((_order(doc, where), f"{_spell(where)}: {text}"))
    found.sort(key=lambda item: item[0])
    lines: list[str] = []
    for _, line in found:
        if line not in lines:
            lines.append(line)
    return lines


def _reasons(
    version: str,
    doc: Any,
    where: tuple[str | int, ...],
    rule_path: tuple[str | int, ...],
    error: Any,
    raw: list[tuple[tuple[str | int, ...], tuple[str | int, ...], Any]],
) -> list[str]:
    """andon's wording of one jsonschema-rs error (none when it only echoes a precise one)."""
    kind = error.kind
    name = kind.name
    rule = f"(ODCS {version}: {name})"
    instance = _node(doc, where)
    branch = _branch(instance)
    if name == "required":
        return [f"{kind.property} is required{branch} {rule}"]
    if name in ("additionalProperties", "unevaluatedProperties"):
        keys = list(kind.unexpected)
        if name == "unevaluatedProperties":
            keys = [k for k in keys if not _echo(version, instance, where, rule_path, k, raw)]
        return [f"{key} is not allowed{branch} {rule}" for key in keys]
    if name == "enum":
        allowed = ", ".join(_show(option) for option in kind.options)
        return [f"{_show(instance)} is not one of {allowed} {rule}"]
    if name == "const":
        return [f"{_show(instance)} is not {_show(kind.expected_value)} {rule}"]
    if name == "type":
        return [f"{_show(instance)} is not of type {' or '.join(kind.types)} {rule}"]
    if name == "format":
        return [f"{_show(instance)} is not a valid {kind.format} {rule}"]
    if name == "oneOf":
        return [_one_of(version, instance, rule_path, error, rule)]
    return [f"{error.message} {rule}"]


def _one_of(
    version: str, instance: Any, rule_path: tuple[str | int, ...], error: Any, rule: str
) -> str:
    """A ``oneOf`` of single required keys (the threshold operators) names the keys given."""
    branches = _node(_schema(version), rule_path)
    keys = [
        b["required"][0]
        for b in branches
        if isinstance(b, dict) and isinstance(b.get("required"), list) and len(b["required"]) == 1
    ]
    if keys and len(keys) == len(branches) and isinstance(instance, dict):
        given = [k for k in keys if k in instance]
        allowed = ", ".join(keys)
        if not given:
            return f"exactly one of {allowed} is required; none is given {rule}"
        if len(given) > 1:
            return f"exactly one of {allowed} is allowed; {', '.join(given)} are given {rule}"
        return f"{given[0]} is not valid: {_first(error)} {rule}"
    shapes = len(branches) if isinstance(branches, list) else "its"
    if error.kind.name == "oneOf" and type(error.kind).__name__ == "OneOfMultipleValid":
        return f"{_short(instance)} matches more than one of the {shapes} allowed shapes {rule}"
    return f"{_short(instance)} matches none of the {shapes} allowed shapes: {_first(error)} {rule}"


def _first(error: Any) -> str:
    """The reasons each ``oneOf`` branch gave, shortest first, for a one-line hint."""
    context = getattr(error.kind, "context", None) or []
    reasons = sorted({sub.message for branch in context for sub in branch}, key=len)
    return "; ".join(reasons[:3]) or error.message


def _echo(
    version: str,
    instance: Any,
    where: tuple[str | int, ...],
    rule_path: tuple[str | int, ...],
    key: str,
    raw: list[tuple[tuple[str | int, ...], tuple[str | int, ...], Any]],
) -> bool:
    """Whether ``unevaluatedProperties`` flags ``key`` only because the branch declaring it
    failed (its annotations are dropped): the key is declared by a branch that applies to
    this object, and another error at or under the same path says what is wrong."""
    others = any(
        w[: len(where)] == where and e.kind.name != "unevaluatedProperties" for w, _, e in raw
    )
    if not others:
        return False
    root = _schema(version)
    return key in _declared(version, root, rule_path[:-1], instance, set())


def _declared(
    version: str,
    root: dict[str, Any],
    pointer: tuple[str | int, ...],
    instance: Any,
    seen: set[Any],
) -> set[str]:
    """Property names the subschema at ``pointer`` declares for ``instance``: its own,
    those of ``$ref``/``allOf``/``anyOf``/``oneOf`` parts, and of the ``then`` (or ``else``)
    whose ``if`` the instance matches."""
    if pointer in seen:
        return set()
    seen.add(pointer)
    node = _node(root, pointer)
    if not isinstance(node, dict):
        return set()
    names = set(node.get("properties", {}))
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        names |= _declared(version, root, _pointer(ref), instance, seen)
    for word in ("allOf", "anyOf", "oneOf"):
        for i, part in enumerate(node.get(word, [])):
            part_at = (*pointer, word, i)
            if isinstance(part, dict) and "if" in part:
                matches = _matcher(version, (*part_at, "if")).is_valid(instance)
                chosen = "then" if matches else "else"
                if chosen in part:
                    names |= _declared(version, root, (*part_at, chosen), instance, seen)
            else:
                names |= _declared(version, root, part_at, instance, seen)
    return names


def _as_json(value: Any) -> Any:
    """``value`` with every non-JSON leaf (dates, times) turned into its ISO string."""
    if isinstance(value, dict):
        return {str(k): _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    iso = getattr(value, "isoformat", None)
    return iso() if callable(iso) else str(value)


def _pointer(ref: str) -> tuple[str, ...]:
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in ref[2:].split("/"))


def _node(tree: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        if isinstance(tree, dict):
            tree = tree.get(str(step) if not isinstance(step, str) else step)
        elif isinstance(tree, list) and isinstance(step, int) and 0 <= step < len(tree):
            tree = tree[step]
        elif isinstance(tree, list) and isinstance(step, str) and step.isdigit():
            tree = tree[int(step)] if int(step) < len(tree) else None
        else:
            return None
    return tree


def _branch(instance: Any) -> str:
    """`` for type 'postgresql'`` when the object picks its rules by ``type``."""
    if isinstance(instance, dict) and isinstance(instance.get("type"), str):
        return f" for type {instance['type']!r}"
    return ""


def _spell(path: tuple[str | int, ...]) -> str:
    """andon's path spelling: ``schema[0].properties[3].logicalType``."""
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            out += f".{step}" if out else step
    return out or "(document)"


def _order(doc: Any, path: tuple[str | int, ...]) -> list[int | str]:
    """A sort key following the document: key positions in each mapping, list indices."""
    key: list[int | str] = []
    node = doc
    for step in path:
        if isinstance(node, dict):
            keys = list(node)
            key.append(keys.index(step) if step in keys else len(keys))
            node = node.get(step)
        else:
            key.append(step if isinstance(step, int) else 0)
            node = node[step] if isinstance(node, list) and isinstance(step, int) else None
    return key


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else json.dumps(value, default=str)


def _short(value: Any) -> str:
    text = _show(value)
    return text if len(text) <= 60 else "the value"
