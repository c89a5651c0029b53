"""The closed vocabularies, typed: each is a `Literal` and the tuple of its values, in order.

Strict mypy checks every literal against these types, so a typo such as `"support"` for a stance
fails the type check instead of a run. The tuples feed the database's CHECK constraints, the
CLI's choices and the data dictionary; their order is the display order. Values arriving from
outside (files, the command line, stored rows) are checked once where they enter (`is_stance`
and friends, or the CHECK constraints).

May import: nothing of `evidence`.
"""

from __future__ import annotations

from typing import Literal, TypeGuard, get_args

#: A link's stance towards a claim (linker suggestion or reviewer judgement).
Stance = Literal["supports", "contradicts", "neutral"]
STANCES: tuple[Stance, ...] = get_args(Stance)

#: What a claim's saved search looks for: evidence about the claim itself (direct), the
#: evidence that would refute it (counter), its mechanism, or background.
SearchRole = Literal["direct", "counter", "mechanism", "background"]
SEARCH_ROLES: tuple[SearchRole, ...] = get_args(SearchRole)

#: Why a reviewer rejected a link (a Covidence/Rayyan-style list); "other" needs a note.
ExclusionReason = Literal[
    "off_topic", "wrong_population", "not_a_finding", "duplicate", "retracted", "other"
]
EXCLUSION_REASONS: tuple[ExclusionReason, ...] = get_args(ExclusionReason)

#: What a workbench account may do (`evidence users add --role`).
UserRole = Literal["reviewer", "adjudicator", "admin"]
USER_ROLES: tuple[UserRole, ...] = get_args(UserRole)

#: A reviewer's decision on a suggested link.
Decision = Literal["accept", "reject", "correct"]
DECISIONS: tuple[Decision, ...] = get_args(Decision)

#: What kind of statement a claim is.
ClaimType = Literal[
    "mechanistic",
    "clinical",
    "safety",
    "prevalence",
    "comparative",
    "definitional",
    "botanical",
]
CLAIM_TYPES: tuple[ClaimType, ...] = get_args(ClaimType)

#: Study design tiers, best first (the position is the tier: sr_ma = 1).
Design = Literal[
    "sr_ma",
    "rct",
    "nrct",
    "cohort",
    "case_control_cross_sectional",
    "case_report_series",
    "preclinical_experiment",
    "narrative",
    "unclassified",
]
DESIGNS: tuple[Design, ...] = get_args(Design)

#: GRADE-like certainty of a claim's evidence, best first.
Certainty = Literal["high", "moderate", "low", "very_low"]
CERTAINTIES: tuple[Certainty, ...] = get_args(Certainty)

#: A claim's verdict, and which way an insufficient one leans.
Verdict = Literal["supported", "contradicted", "contested", "insufficient"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
Lean = Literal["support", "contradict", "none"]
LEANS: tuple[Lean, ...] = get_args(Lean)

#: What a linked study did in a claim's assessment: in the deciding stratum, eligible but not
#: deciding, shown as context (narrative), or excluded (neutral, retracted, non-evidence).
Role = Literal["deciding", "eligible", "context", "excluded"]
ROLES: tuple[Role, ...] = get_args(Role)
#: The roles whose studies count towards a verdict.
COUNTED_ROLES: tuple[Role, ...] = ("deciding", "eligible")


def is_stance(value: object) -> TypeGuard[Stance]:
    return value in STANCES


def is_design(value: object) -> TypeGuard[Design]:
    return value in DESIGNS


def is_claim_type(value: object) -> TypeGuard[ClaimType]:
    return value in CLAIM_TYPES
