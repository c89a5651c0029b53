"""Which stored links are current: suggested by this linker's method and version.

Links of an earlier linker version stay in `evidence_link` (reviewers' decisions point at them),
so every reader that wants today's suggestions filters by the linker. This is that filter, once:
`CURRENT_LINK` (SQL, with its bind values from `current_params`) and `is_current` (Python).
"""

from __future__ import annotations

from evidence.linking import stance as linking

__all__ = ["current_link", "current_params", "is_current"]


def current_link(alias: str = "") -> str:
    """SQL condition: the `evidence_link` row (as `alias`) is the current linker's suggestion.
    Bind `current_params()` with it."""
    p = f"{alias}." if alias else ""
    return f"{p}method = :linker_method AND {p}method_version = :linker_version"


def current_params() -> dict[str, str]:
    # Read at call time: a test (or a rollout) may change METHOD_VERSION after import.
    return {"linker_method": linking.METHOD, "linker_version": linking.METHOD_VERSION}


def is_current(method: str, method_version: str) -> bool:
    return method == linking.METHOD and method_version == linking.METHOD_VERSION
