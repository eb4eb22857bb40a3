"""PagerDuty's published API description (../shared/reference/pagerduty-openapi.json) as a contract.

Validators for what every path the project reads answers, built from PagerDuty's own OpenAPI 3.0 document by
openapi-schema-validator (OpenAPI's `nullable`, `readOnly` and formats, on top of jsonschema). The document is
stricter than PagerDuty's real answers in places, and ambiguous in one: each departure is listed once, here, in
`EXCEPTIONS` and `ONE_OF_AS_ANY_OF`, with the evidence for it. Everything else is validated as written.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import ValidationError, validators
from openapi_schema_validator import OAS30Validator
from openapi_schema_validator import _keywords as oas_keywords
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from .helpers import ROOT

SPEC_ENV = "PAGERDUTY_OPENAPI_SPEC"
SPEC_PATH = Path(os.environ.get(SPEC_ENV) or ROOT.parent / "shared" / "reference" / "pagerduty-openapi.json")
"""Beside the project, or where PAGERDUTY_OPENAPI_SPEC says (`make mutation` runs tests in a scratch copy)."""
SPEC_URI = "urn:pagerduty-openapi"


@dataclass(frozen=True)
class Exception_:
    """One place where the validators depart from the document: a JSON pointer into it, what changes, and the
    evidence that PagerDuty's real answers differ from what the document says."""

    pointer: str
    change: str
    evidence: str


_REAL_NULLS = (
    "Real incidents carry null here (pagerduty-api.md, 'The incident object': priority is `null or {id,"
    " summary, name}`, resolved_at is null until resolved and absent before May 2023, resolve_reason is null"
    " unless merged; conference_bridge and alert_grouping are null on incidents without a bridge or without"
    " alerts, as the document's own description of alert_grouping says), while the schema declares an object"
    " or string without `nullable`."
)
_INCIDENT = "/components/schemas/Incident/allOf/1/properties"
EXCEPTIONS: tuple[Exception_, ...] = (  # applied in this order: a field before the object holding it
    Exception_(
        f"{_INCIDENT}/alert_grouping/properties/ended_at",
        "nullable",
        "The document's own example of GET /incidents has `alert_grouping.ended_at: null` (grouping still"
        " active), where the schema declares a date-time string.",
    ),
    *(
        Exception_(f"{_INCIDENT}/{name}", "nullable", _REAL_NULLS)
        for name in ("priority", "resolved_at", "resolve_reason", "conference_bridge", "alert_grouping")
    ),
    Exception_(
        f"{_INCIDENT}/incident_key",
        "nullable",
        "Incidents opened in the web UI or by e-mail have no de-duplication key: incident_key is null (issue"
        " 22, from other loaders' bug trackers), where the schema declares a string.",
    ),
    Exception_(
        f"{_INCIDENT}/urgency",
        "nullable",
        "Other loaders report incidents with a null urgency (issue 22: 'A null incident_key, priority or"
        " urgency loads as NULL'); the schema declares an enum of high and low.",
    ),
    Exception_(
        "/components/schemas/AcknowledgeLogEntry/allOf/1/properties/type/enum",
        "acknowledge_log_entry",
        "The document contradicts itself: AcknowledgeLogEntry's type is `acknowledgement_log_entry`, while the"
        " LogEntry it extends allows only `acknowledge_log_entry` (so no entry can satisfy both). Real accounts,"
        " PagerDuty's own list of types (pagerduty-api.md, 'Log entries') and every other loader use"
        " `acknowledge_log_entry`.",
    ),
    Exception_(
        "/components/schemas/LogEntry/allOf/1/properties/type/enum",
        "add undocumented log entry types",
        "pagerduty-api.md, 'Log entries': real accounts write priority_change_log_entry (channel.old_priority /"
        " new_priority), service_change_log_entry (channel.old_service) and link_log_entry / unlink_log_entry"
        " (alerts moved between incidents, as in a merge), which the document does not list.",
    ),
)
ONE_OF_AS_ANY_OF = (
    "The document's `oneOf`s are read as `anyOf`: `Channel` is a oneOf of objects with no required property, so"
    " every channel ({'type': 'api'}, {'type': 'website'}, ...) matches several branches and a strict oneOf"
    " refuses all of them; the incident's `service` (ServiceReference or Service) and the log entry lists"
    " (whose branches differ only by an enum) are ambiguous the same way."
)
UNDOCUMENTED_LOG_TYPES = (
    "priority_change_log_entry",
    "service_change_log_entry",
    "link_log_entry",
    "unlink_log_entry",
)


def spec_or_skip() -> dict[str, Any]:
    """The document, or a skip that says why (it lives beside the project, not in it)."""
    if not SPEC_PATH.is_file():
        pytest.skip(
            f"PagerDuty's API description is not beside the project ({SPEC_PATH}): nothing to check with"
        )
    return json.loads(SPEC_PATH.read_text())


def _at(document: Any, pointer: str) -> Any:
    node = document
    for part in pointer.lstrip("/").split("/"):
        node = node[int(part)] if isinstance(node, list) else node[part.replace("~1", "/").replace("~0", "~")]
    return node


def relaxed(spec: dict[str, Any]) -> dict[str, Any]:
    """The document with the listed exceptions applied (a copy)."""
    out = copy.deepcopy(spec)
    for exception in EXCEPTIONS:
        parent_pointer, _, key = exception.pointer.rpartition("/")
        parent = _at(out, parent_pointer)
        if exception.change == "nullable":  # beside a $ref or an allOf, `nullable` alone is not read
            parent[key] = {"anyOf": [parent[key], {"enum": [None]}]}
        elif exception.change == "acknowledge_log_entry":
            parent[key] = [exception.change]
        else:
            parent[key].extend(t for t in UNDOCUMENTED_LOG_TYPES if t not in parent[key])
    schemas = out["components"]["schemas"]
    for log_type in UNDOCUMENTED_LOG_TYPES:
        name = "".join(part.capitalize() for part in log_type.split("_"))
        schemas[name] = {
            "allOf": [
                {"$ref": "#/components/schemas/LogEntry"},
                {"properties": {"type": {"enum": [log_type], "type": "string"}}, "type": "object"},
            ]
        }
        for path in ("/log_entries", "/incidents/{id}/log_entries"):
            items = _at(out, f"/paths/{_escape(path)}/get/responses/200/content/application~1json/schema")
            branches = items["allOf"][1]["properties"]["log_entries"]["items"]["oneOf"]
            branches.append({"$ref": f"#/components/schemas/{name}"})
    return out


def _escape(path: str) -> str:
    return path.replace("~", "~0").replace("/", "~1")


_AnyOfValidator = validators.extend(OAS30Validator, {"oneOf": oas_keywords.anyOf})


@cache
def _registry(strict: bool) -> Registry:
    spec = spec_or_skip()
    return Registry().with_resource(
        SPEC_URI, Resource.from_contents(spec if strict else relaxed(spec), default_specification=DRAFT4)
    )


def response_schema(path: str, status: int = 200, method: str = "get") -> dict[str, Any]:
    """A schema that refers to the document's response schema of `method path` answering `status` (errors
    refer to the document's shared responses)."""
    responses = spec_or_skip()["paths"][path][method]["responses"]
    key = str(status) if str(status) in responses else "default"
    pointer = f"/paths/{_escape(path)}/{method}/responses/{key}"
    shared = responses[key].get("$ref")
    if shared:
        pointer = shared.lstrip("#")
    return {"$ref": f"{SPEC_URI}#{pointer}/content/application~1json/schema"}


def errors(body: Any, path: str, status: int = 200, strict: bool = False) -> list[ValidationError]:
    """What the document (with its exceptions, unless `strict`) finds wrong with an answer of `path`."""
    cls = OAS30Validator if strict else _AnyOfValidator
    validator = cls(response_schema(path, status), registry=_registry(strict))
    return list(validator.iter_errors(body))


def describe(problems: list[ValidationError]) -> str:
    return "; ".join(f"{'/'.join(map(str, p.absolute_path))}: {p.message[:160]}" for p in problems[:5])


def example(path: str, status: int = 200, method: str = "get") -> Any:
    """The document's own example answer of `method path`."""
    content = spec_or_skip()["paths"][path][method]["responses"][str(status)]["content"]["application/json"]
    return next(iter(content["examples"].values()))["value"]


def examples_of(collection_paths: dict[str, str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, item) for each item of each path's example answer, `collection_paths` mapping a path to the key
    of its list (or of its single object)."""
    for path, key in collection_paths.items():
        value = example(path)[key]
        for item in value if isinstance(value, list) else [value]:
            yield path, item


def spec_file() -> Path:
    return SPEC_PATH
