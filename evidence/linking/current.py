"""Which stored links are current: suggested by the chosen linker's method and version.

Links of an earlier linker (or version) stay in `evidence_link` (reviewers' decisions point at
them), so every reader that wants today's suggestions filters by the linker. This is that
filter, once: `current_link` (SQL, with its bind values from `current_params`) and
`is_current` (Python). The linker is the caller's choice (`use`, called by the CLI from its
settings; the hybrid linker unless told otherwise).
"""

from __future__ import annotations

from evidence.linking import linkers

__all__ = ["choice", "current_link", "current_params", "identity", "is_current", "use"]

_choice = linkers.LinkerChoice()


def use(choice: linkers.LinkerChoice) -> None:
    """Make `choice` the linker whose links are current in this process."""
    global _choice
    _choice = choice


def choice() -> linkers.LinkerChoice:
    return _choice


def identity() -> tuple[str, str]:
    """(method, version) of the current linker. Read at call time: a test (or a rollout) may
    change the lexical METHOD_VERSION after import; the trained one is its config.json's."""
    return linkers.identity(_choice)


def current_link(alias: str = "") -> str:
    """SQL condition: the `evidence_link` row (as `alias`) is the current linker's suggestion.
    Bind `current_params()` with it."""
    p = f"{alias}." if alias else ""
    return f"{p}method = :linker_method AND {p}method_version = :linker_version"


def current_params() -> dict[str, str]:
    method, version = identity()
    return {"linker_method": method, "linker_version": version}


def is_current(method: str, method_version: str) -> bool:
    return (method, method_version) == identity()
