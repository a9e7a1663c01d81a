"""The API contract: every key in every example response of the specs.

:func:`spec_example` pulls an example JSON block out of a spec by its heading, and
:func:`assert_matches_example` checks a response against it:

* every key of the example is present, with a value of the same JSON type;
* ``null`` on either side matches any type (a figure that cannot be computed is null);
* lists: every item of the response matches the example's items (their key union);
* maps (objects whose keys come from the data: sectors, symbols...) are named by
  path pattern in ``maps``; each of their values must match the example's first value;
* a ``"Data Not Available"`` string in the example also accepts a number.
"""

from __future__ import annotations

import fnmatch
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SHARED_SPEC_DIR = REPO.parent / "shared" / "spec"
VENDORED_SPEC_DIR = REPO / "docs" / "spec"

SIGMASIGHT = "sigmasight-api-v1.4.5.md"
ZERO_DTE = "smart-0dte-api.md"


def spec_dir() -> Path:
    """The shared specs when present beside the repo, else the vendored copy."""
    return SHARED_SPEC_DIR if SHARED_SPEC_DIR.is_dir() else VENDORED_SPEC_DIR


@cache
def _blocks(spec: str) -> list[tuple[str, str, Any]]:
    """(heading, label line before the block, parsed JSON) for each ```json block."""
    text = (spec_dir() / spec).read_text()
    heading, label = "", ""
    blocks: list[tuple[str, str, Any]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
            label = ""
        elif line.strip().startswith("```json"):
            body: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                body.append(lines[i])
                i += 1
            raw = "\n".join(body).replace("[...]", "[]")
            blocks.append((heading, label, json.loads(raw)))
        elif line.strip():
            label = line.strip()
        i += 1
    return blocks


def spec_example(spec: str, heading: str, label: str = "Response") -> Any:
    """The JSON example under the heading that contains ``heading`` and whose label line
    (the text just above the block) contains ``label``."""
    matches = [
        data
        for h, lab, data in _blocks(spec)
        if heading.lower() in h.lower() and label.lower() in lab.lower()
    ]
    if len(matches) != 1:
        found = [(h, lab) for h, lab, _ in _blocks(spec) if heading.lower() in h.lower()]
        raise LookupError(f"{len(matches)} examples for {heading!r}/{label!r} in {spec}: {found}")
    return matches[0]


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _template(items: list[Any]) -> Any:
    """One example item standing for all: dicts are merged, else the first item."""
    dicts = [item for item in items if isinstance(item, dict)]
    if dicts and len(dicts) == len(items):
        merged: dict[str, Any] = {}
        for item in dicts:
            for key, value in item.items():
                if key not in merged or merged[key] is None:
                    merged[key] = value
        return merged
    return items[0]


def _compare(
    actual: Any, example: Any, path: str, maps: tuple[str, ...], errors: list[str]
) -> None:
    if example is None or actual is None:
        return
    expected_type, actual_type = _type_name(example), _type_name(actual)
    if example == "Data Not Available" and actual_type == "number":
        return
    if expected_type != actual_type:
        errors.append(f"{path}: expected {expected_type}, got {actual_type} ({actual!r:.60})")
        return
    if isinstance(example, dict):
        if any(fnmatch.fnmatchcase(path, pattern) for pattern in maps):
            if example:
                value_template = _template(list(example.values()))
                for key, value in actual.items():
                    _compare(value, value_template, f"{path}.{key}", maps, errors)
            return
        for key, value in example.items():
            if key not in actual:
                errors.append(f"{path}: missing key {key!r}")
            else:
                _compare(actual[key], value, f"{path}.{key}", maps, errors)
    elif isinstance(example, list) and example:
        template = _template(example)
        for index, item in enumerate(actual):
            _compare(item, template, f"{path}[{index}]", maps, errors)


def contract_errors(actual: Any, example: Any, *, maps: tuple[str, ...] = ()) -> list[str]:
    """Every way ``actual`` breaks the example's contract (empty when it holds).

    ``maps`` are path patterns such as ``"$.groupings.by_sector"`` or ``"$.quotes[*].x"``.
    """
    errors: list[str] = []
    _compare(actual, example, "$", tuple(maps), errors)
    return errors


def assert_matches_example(actual: Any, example: Any, *, maps: tuple[str, ...] = ()) -> None:
    errors = contract_errors(actual, example, maps=maps)
    assert not errors, "Response breaks the spec example:\n  " + "\n  ".join(errors)


def assert_error_envelope(body: Any, *, status: int | None = None, code: str | None = None) -> None:
    """Both specs' error shapes: ``detail`` and ``error{code,message,details,timestamp,request_id}``."""
    assert isinstance(body, dict), body
    assert "detail" in body, body
    error = body.get("error")
    assert isinstance(error, dict), body
    for key in ("code", "message", "details", "timestamp", "request_id"):
        assert key in error, f"error.{key} missing: {body}"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", error["timestamp"]), error["timestamp"]
    if code is not None:
        assert error["code"] == code, body
    if status == 422:
        assert isinstance(body["detail"], list) and body["detail"], body
        for item in body["detail"]:
            assert set(item) >= {"loc", "msg", "type"}, item
