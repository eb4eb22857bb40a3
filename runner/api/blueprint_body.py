"""What a blueprint body must be before it is saved, beyond what runner/blueprints.py checks to run it.

A body is stored, and every `GET /blueprints` and the scheduler read it back: one that cannot be read back
(JSON nested hundreds deep, a lone surrogate such as "\\ud800" that has no UTF-8 form) would break those
for everyone. So, before anything is saved (400 otherwise, naming the field):
- at most MAX_DEPTH levels of nesting, and every string and key valid Unicode;
- DevLake's fields with their JSON types: booleans are true or false (not "false", not 0), strings are
  strings, `labels` a list of strings;
- the fields stored but never used (`description`, `labels`, `plan`, `beforePlan`, `afterPlan`) capped in
  size, so that blueprints stay small to keep and to read.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import InputError

MAX_DEPTH = 32
MAX_DESCRIPTION = 10_000
"""Characters of `description`."""
MAX_LABELS, MAX_LABEL = 50, 255
MAX_PLAN_BYTES = 64_000
"""`plan`, `beforePlan`, `afterPlan`: bytes of each as JSON (DevLake computes plans; none is read here)."""

BOOLEANS = ("enable", "isManual", "skipOnFail")
STRINGS = ("name", "mode")
OPTIONAL_STRINGS = ("cronConfig", "projectName", "description", "timeAfter")
PLANS = ("plan", "beforePlan", "afterPlan")


def check_json(value: Any) -> None:
    """At most MAX_DEPTH levels of objects and lists; every string and key has a UTF-8 form. Iterative, so
    depth costs no stack; an error names the path to the problem (never the offending text itself)."""
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, str):
            _unicode(item, path or "body")
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth > MAX_DEPTH:
            raise InputError(f"{path or 'body'}: nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, dict):
            for key, child in item.items():
                _unicode(key, f"{path or 'body'}: a key")
                stack.append((child, depth + 1, f"{path}.{key}" if path else key))
        else:
            stack.extend((child, depth + 1, f"{path}[{index}]") for index, child in enumerate(item))


def _unicode(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"{where}: not valid Unicode text (a lone surrogate such as \\ud800)") from None


def check_fields(body: dict[str, Any]) -> None:
    """DevLake's blueprint fields with their JSON types, and the unused ones within their caps."""
    for name in BOOLEANS:
        if name in body and not isinstance(body[name], bool):
            raise InputError(f"{name}: expected true or false (a JSON boolean), not {_kind(body[name])}")
    for name in STRINGS + OPTIONAL_STRINGS:
        value = body.get(name)
        if name in body and not isinstance(value, str) and not (value is None and name in OPTIONAL_STRINGS):
            raise InputError(f"{name}: expected a string, not {_kind(value)}")
    if len(body.get("description") or "") > MAX_DESCRIPTION:
        raise InputError(f"description: at most {MAX_DESCRIPTION} characters")
    labels = body.get("labels")
    if labels is not None:
        if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
            raise InputError("labels: expected a list of strings")
        if len(labels) > MAX_LABELS or any(len(label) > MAX_LABEL for label in labels):
            raise InputError(f"labels: at most {MAX_LABELS} labels of at most {MAX_LABEL} characters")
    for name in PLANS:
        if name in body and len(json.dumps(body[name])) > MAX_PLAN_BYTES:
            raise InputError(f"{name}: at most {MAX_PLAN_BYTES} bytes of JSON")


def _kind(value: Any) -> str:
    """A JSON value's type, as a message may name it (never the value)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "an array" if isinstance(value, list) else "an object"
