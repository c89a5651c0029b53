"""One error tree: every error class lives in `evidence.errors`, whose docstring lists each
class with its exit code."""

from __future__ import annotations

import importlib
import pkgutil
import re

import evidence
from evidence import errors


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def test_every_error_class_is_in_errors_and_its_table() -> None:
    for info in pkgutil.walk_packages(evidence.__path__, "evidence."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    table = {
        m.group(2): int(m.group(1))
        for m in re.finditer(r"^\s+(\d+)\s+[│├└─ ]*(\w+)", errors.__doc__ or "", re.M)
    }
    every = {errors.EvidenceError, *_subclasses(errors.EvidenceError)}
    classes = {c for c in every if c.__module__.startswith("evidence")}
    outside = sorted(c.__qualname__ for c in classes if c.__module__ != "evidence.errors")
    assert not outside, f"move these into evidence/errors.py: {outside}"
    assert table == {c.__name__: c.exit_code for c in classes}
