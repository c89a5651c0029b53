"""Claim assessment: GRADE-like certainty and a verdict from a claim's linked studies.

A pure function (`reference/grading.md` 2b): the same links in any order give the same
assessment, and a retracted study never changes it.

Outline for GRADE scopes (clinical, prevalence, mechanistic):

1. E, the eligible set: non-neutral links to studies that are neither retracted nor
   non-evidence; narrative studies are context, not counted.
2. Each study's indirectness for the scope; D, the deciding stratum, is every study of E
   sharing the best (indirectness, tier) key.
3. The start comes from D's design; downgrades (risk of bias, inconsistency, indirectness,
   imprecision, publication bias) and curator upgrades move it; the result is clamped.
4. The verdict follows from the support share s = S / (S + C) and the certainty.

Definitional claims (matters of record) skip GRADE: every source counts once and the verdict
is the agreement of sources, with no certainty.

Every rule that fires leaves a `Reason`, and the deltas of the reasons add up to the
certainty before clamping (a capped rule is recorded with the delta it actually applied).

Decisions beyond grading.md (documented in the reasons as well):

- Duplicate PMIDs: identical duplicate links collapse to one; two different links to the same
  PMID raise `ValueError` (a claim links a study once; picking one would hide a conflict).
- An SR stratum starts High when at least one of its SRs pools randomised trials.
- Only sample sizes of human/mixed/unknown-population studies count toward N.
- The automatic publication-bias signal is symmetric: >= 3 small studies (known n < 50) in
  one direction and none in the other, so that flipping every stance mirrors the result.
- "contradicted" compares the contradicting share C / (S + C) >= 1 - 0.2 rather than
  s <= 0.2, so the two directions are decided by the same float operation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from evidence.grading.appraisal import Appraisal
from evidence.grading.rules import (
    CERTAINTY_MAX,
    CERTAINTY_MIN,
    CERTAINTY_NAMES,
    COMPARATIVE_DESIGNS,
    CONTRADICTED_SHARE,
    DEFAULT_SCOPE,
    DEFINITIONAL_WEIGHT,
    DESIGNS,
    EXCLUDED_STATUSES,
    HUMAN_POPULATIONS,
    HUMAN_SCOPES,
    IMPRECISION_MAX_DOWNGRADE,
    IMPRECISION_SERIOUS_BELOW,
    IMPRECISION_SOME_BELOW,
    INCONSISTENCY_NONE_BELOW,
    INCONSISTENCY_ONE_BELOW,
    INDIRECT_WEIGHT_FACTOR,
    INDIRECTNESS,
    MIN_CERTAINTY_FOR_VERDICT,
    OBSERVATIONAL_DESIGNS,
    POPULATIONS,
    PRECLINICAL_START_CLINICAL,
    PRECLINICAL_START_MECHANISTIC,
    PUBLICATION_BIAS_MIN_STUDIES,
    PUBLICATION_BIAS_SMALL_N,
    ROB_ALL_FLAGGED_MAX_START,
    SCOPES,
    SORT_A_MIN_CERTAINTY,
    SORT_A_POPULATIONS,
    SR_POOLS_RCTS_CODE,
    SR_START_OTHERWISE,
    SR_START_POOLING_RCTS,
    STANCE_SOURCES,
    START,
    STATUSES,
    SUPPORTED_SHARE,
    TIER,
    WEIGHT,
    Reason,
)
from evidence.vocab import STANCES, Certainty, Design, Lean, Role, Stance, Verdict

__all__ = ["ClaimAssessment", "ClaimFlags", "LinkedStudy", "StudyRole", "assess"]


@dataclass(frozen=True)
class ClaimFlags:
    """The curator's settings for one claim (scope from its type unless overridden)."""

    scope: str = DEFAULT_SCOPE  # one of grading_rules.SCOPES
    intervention_mismatch: bool = False
    publication_bias: bool = False
    large_effect: int = 0  # 0, 1 (large), 2 (very large)
    dose_response: bool = False


@dataclass(frozen=True)
class LinkedStudy:
    """One study linked to the claim: its (effective) appraisal and its stance.

    `stance_source` is "reviewer" when the stance comes from accepted/corrected reviewer
    decisions, "suggested" when it is the linker's suggestion.
    """

    appraisal: Appraisal
    stance: Stance
    stance_source: str = "suggested"  # reviewer | suggested


@dataclass(frozen=True)
class StudyRole:
    """What one study did in the assessment.

    role: "deciding" (in the deciding stratum D), "eligible" (in E, not deciding),
    "context" (narrative: shown, not counted), "excluded" (neutral stance, retracted,
    non-evidence), with `why` in words.
    """

    pmid: int
    stance: Stance
    stance_source: str
    role: Role
    indirectness: int  # 0, 1 or 2 levels for this claim's scope
    weight: float  # inconsistency weight after indirectness halving; 0 unless in E
    why: str


@dataclass(frozen=True)
class ClaimAssessment:
    scope: str
    verdict: Verdict
    lean: Lean  # meaningful when insufficient
    certainty: Certainty | None  # None when E is empty or definitional
    support_share: float | None  # S / (S + C), None when E is empty
    supports_weight: float
    contradicts_weight: float
    basis: str  # reviewed | suggested | mixed | none: where E's stances came from
    sort: str  # A | B | C
    cebm_level: int | None  # best level in D
    reasons: tuple[Reason, ...]
    studies: tuple[StudyRole, ...]  # sorted by pmid


@dataclass(frozen=True)
class _Counted:
    """A study of E with its indirectness and weight for this claim."""

    link: LinkedStudy
    indirectness: int
    weight: float

    @property
    def pmid(self) -> int:
        return self.link.appraisal.pmid

    @property
    def design(self) -> Design:
        return self.link.appraisal.design

    @property
    def key(self) -> tuple[int, int]:
        # The deciding stratum is the best (direct first, then best design) key.
        return (self.indirectness, TIER[self.design])


@dataclass(frozen=True)
class _Balance:
    supports: float  # S
    contradicts: float  # C

    @property
    def share(self) -> float:
        return self.supports / (self.supports + self.contradicts)

    @property
    def lean(self) -> Lean:
        # Both directions use the same comparison so that flipping every stance mirrors it.
        total = self.supports + self.contradicts
        if self.supports / total >= SUPPORTED_SHARE:
            return "support"
        if self.contradicts / total >= 1 - CONTRADICTED_SHARE:
            return "contradict"
        return "none"

    def describe(self) -> str:
        return f"s={self.share:.2f} (S={self.supports:g}, C={self.contradicts:g})"


def assess(flags: ClaimFlags, links: Sequence[LinkedStudy]) -> ClaimAssessment:
    """The claim's assessment from its curator flags and linked studies (pure, order-free)."""
    _check_flags(flags)
    definitional = flags.scope == "definitional"
    linked = _Linked.of(flags.scope, links)
    counted = [
        _Counted(link, linked.levels[pmid], _weight(link, linked.levels[pmid], definitional))
        for link in linked.ordered
        if linked.set_aside[pmid := link.appraisal.pmid] is None
    ]
    reasons = _exclusion_reasons(linked)
    if definitional:
        reasons.append(
            Reason(
                "scheme",
                "scheme.definitional",
                "a matter of record: GRADE certainty does not apply; every non-excluded "
                "source (reviews included) counts once and the verdict is their agreement",
            )
        )
    if not counted:
        return _no_evidence(flags.scope, linked, reasons)
    balance = _Balance(
        math.fsum(c.weight for c in counted if c.link.stance == "supports"),
        math.fsum(c.weight for c in counted if c.link.stance == "contradicts"),
    )
    basis = _basis(counted)
    reasons.append(Reason("basis", f"basis.{basis}", _basis_why(counted)))
    if definitional:
        return _definitional(flags.scope, balance, basis, reasons, linked, counted)
    deciding = _deciding_stratum(counted)
    reasons.extend(_population_notes(counted))
    start, start_reason = _start(flags.scope, deciding)
    downgrades = [
        *_risk_of_bias(deciding, start),
        *_inconsistency(balance),
        *_indirectness_downgrades(flags, deciding),
        *_imprecision(flags.scope, deciding),
        *_publication_bias(flags, counted),
    ]
    upgrades = _upgrades(flags, deciding, start, downgrades)
    level, certainty_reason = _certainty(start, [*downgrades, *upgrades])
    verdict, verdict_reasons = _verdict(flags.scope, balance, level, counted, deciding)
    sort = _sort(flags.scope, verdict, level, deciding)
    reasons.extend([start_reason, *downgrades, *upgrades, certainty_reason, *verdict_reasons])
    reasons.append(Reason("sort", f"sort.{sort}", _sort_why(flags.scope, sort)))
    return ClaimAssessment(
        scope=flags.scope,
        verdict=verdict,
        lean=balance.lean,
        certainty=CERTAINTY_NAMES[level],
        support_share=balance.share,
        supports_weight=balance.supports,
        contradicts_weight=balance.contradicts,
        basis=basis,
        sort=sort,
        cebm_level=min(c.link.appraisal.cebm_level for c in deciding),
        reasons=tuple(reasons),
        studies=linked.roles(counted, deciding),
    )


# --- inputs ----------------------------------------------------------------------------------


def _check_flags(flags: ClaimFlags) -> None:
    if flags.scope not in SCOPES:
        raise ValueError(f"unknown scope {flags.scope!r}: expected one of {', '.join(SCOPES)}")
    if flags.large_effect not in (0, 1, 2):
        raise ValueError(f"large_effect must be 0, 1 or 2, not {flags.large_effect!r}")


def _check_link(link: LinkedStudy) -> None:
    a = link.appraisal
    for value, vocabulary, what in (
        (link.stance, STANCES, "stance"),
        (link.stance_source, STANCE_SOURCES, "stance source"),
        (a.design, DESIGNS, "design"),
        (a.population, POPULATIONS, "population"),
        (a.status, STATUSES, "status"),
    ):
        if value not in vocabulary:
            raise ValueError(f"PMID {a.pmid}: unknown {what} {value!r}")


def _unique_by_pmid(links: Iterable[LinkedStudy]) -> list[LinkedStudy]:
    """The links sorted by PMID, one per PMID.

    Identical duplicates collapse; two different links to one PMID are a caller error (a
    claim links a study once), raised rather than resolved so that no conflict is hidden.
    """
    by_pmid: dict[int, LinkedStudy] = {}
    for link in links:
        _check_link(link)
        pmid = link.appraisal.pmid
        if pmid in by_pmid and by_pmid[pmid] != link:
            raise ValueError(
                f"PMID {pmid} is linked twice, with different stances, sources or appraisals"
            )
        by_pmid[pmid] = link
    return [by_pmid[pmid] for pmid in sorted(by_pmid)]


def _indirectness(scope: str, link: LinkedStudy) -> int:
    if scope == "definitional":
        return 0
    return INDIRECTNESS[scope][link.appraisal.population]


def _set_aside(link: LinkedStudy, definitional: bool) -> tuple[Role, str] | None:
    """(role, why) for a study outside E, or None when it counts."""
    if link.appraisal.status == "retracted":
        return ("excluded", "retracted")
    if link.appraisal.status in EXCLUDED_STATUSES:
        return ("excluded", "non-evidence record (erratum, notice or comment)")
    if link.stance == "neutral":
        return ("excluded", "neutral stance")
    if link.appraisal.design == "narrative" and not definitional:
        return ("context", "narrative: shown as context, not counted as primary evidence")
    return None


def _weight(link: LinkedStudy, indirectness: int, definitional: bool) -> float:
    if definitional:
        return DEFINITIONAL_WEIGHT
    return WEIGHT[link.appraisal.design] * INDIRECT_WEIGHT_FACTOR**indirectness


def _pmids(items: Iterable[int]) -> str:
    return ", ".join(str(p) for p in items)


def _exclusion_reasons(linked: _Linked) -> list[Reason]:
    """Claim-level notes on what was set aside (they name PMIDs; they never change a verdict)."""
    retracted = [x.appraisal.pmid for x in linked.ordered if x.appraisal.status == "retracted"]
    notices = [x.appraisal.pmid for x in linked.ordered if x.appraisal.status == "non_evidence"]
    context = [pmid for pmid, aside in linked.set_aside.items() if aside and aside[0] == "context"]
    reasons = []
    if retracted:
        why = f"retracted, excluded from synthesis: PMID {_pmids(retracted)}"
        reasons.append(Reason("evidence", "evidence.retracted_excluded", why))
    if notices:
        why = f"non-evidence records, excluded: PMID {_pmids(notices)}"
        reasons.append(Reason("evidence", "evidence.non_evidence_excluded", why))
    if context:
        why = f"narrative, shown as context and not counted: PMID {_pmids(context)}"
        reasons.append(Reason("evidence", "evidence.narrative_context", why))
    return reasons


def _population_notes(counted: Sequence[_Counted]) -> list[Reason]:
    mixed = [c.pmid for c in counted if c.link.appraisal.population == "mixed"]
    unknown = [c.pmid for c in counted if c.link.appraisal.population == "unknown"]
    reasons = []
    if mixed:
        why = f"human and animal subjects, counted as human: PMID {_pmids(mixed)}"
        reasons.append(Reason("population", "population.mixed", why))
    if unknown:
        why = f"population unknown, treated as direct: PMID {_pmids(unknown)}"
        reasons.append(Reason("population", "population.unknown", why))
    return reasons


def _basis(counted: Sequence[_Counted]) -> str:
    reviewed = sum(1 for c in counted if c.link.stance_source == "reviewer")
    if reviewed == len(counted):
        return "reviewed"
    return "suggested" if reviewed == 0 else "mixed"


def _basis_why(counted: Sequence[_Counted]) -> str:
    reviewed = sum(1 for c in counted if c.link.stance_source == "reviewer")
    return f"{reviewed} of {len(counted)} counted stances come from reviewers"


# --- GRADE steps -----------------------------------------------------------------------------


def _deciding_stratum(counted: Sequence[_Counted]) -> list[_Counted]:
    best = min(c.key for c in counted)
    return [c for c in counted if c.key == best]


def _pools_rcts(c: _Counted) -> bool:
    return any(r.code == SR_POOLS_RCTS_CODE for r in c.link.appraisal.reasons)


def _start(scope: str, deciding: Sequence[_Counted]) -> tuple[int, Reason]:
    design = deciding[0].design  # one tier per stratum, so one design
    if design == "sr_ma":
        pooling = sum(1 for c in deciding if _pools_rcts(c))
        start = SR_START_POOLING_RCTS if pooling else SR_START_OTHERWISE
        why = f"{pooling} of {len(deciding)} systematic reviews pool randomised trials"
    elif design == "preclinical_experiment":
        mechanistic = scope == "mechanistic"
        start = PRECLINICAL_START_MECHANISTIC if mechanistic else PRECLINICAL_START_CLINICAL
        why = (
            "controlled experiment judged against the experimental question"
            if mechanistic
            else "experiment starts high; indirectness removes 1 (animal) or 2 (in vitro)"
        )
    else:
        start = START[design]
        why = f"deciding design {design}"
    why += f": starts {CERTAINTY_NAMES[start]} ({start})"
    return start, Reason("start", f"start.{design}", why)


def _flagged(c: _Counted) -> bool:
    # An expression of concern forces the risk-of-bias flag even if the appraisal missed it.
    return bool(c.link.appraisal.rob_flags) or c.link.appraisal.status == "concern"


def _risk_of_bias(deciding: Sequence[_Counted], start: int) -> list[Reason]:
    flagged = [c for c in deciding if _flagged(c)]
    cues = sorted({f for c in flagged for f in c.link.appraisal.rob_flags})
    if any(c.link.appraisal.status == "concern" for c in flagged) and "concern" not in cues:
        cues.append("concern")
    counts = f"{len(flagged)} of {len(deciding)} deciding studies flagged ({', '.join(cues)})"
    if len(flagged) == len(deciding) and start <= ROB_ALL_FLAGGED_MAX_START:
        why = f"{counts}, design already {CERTAINTY_NAMES[start]}"
        return [Reason("risk_of_bias", "rob.all_flagged_low", why, -2)]
    if 2 * len(flagged) > len(deciding):
        return [Reason("risk_of_bias", "rob.majority_flagged", counts, -1)]
    return []


def _inconsistency(balance: _Balance) -> list[Reason]:
    total = balance.supports + balance.contradicts
    m = min(balance.supports, balance.contradicts) / total
    why = f"minority weight share {m:.2f} (S={balance.supports:g}, C={balance.contradicts:g})"
    if m < INCONSISTENCY_NONE_BELOW:
        return []
    if m < INCONSISTENCY_ONE_BELOW:
        return [Reason("inconsistency", "inconsistency.some", why, -1)]
    return [Reason("inconsistency", "inconsistency.serious", why, -2)]


def _indirectness_downgrades(flags: ClaimFlags, deciding: Sequence[_Counted]) -> list[Reason]:
    reasons = []
    level = deciding[0].indirectness  # one key per stratum, so one level
    if level:
        present = {c.link.appraisal.population for c in deciding}
        populations = [p for p in POPULATIONS if p in present]
        why = f"deciding evidence is {', '.join(populations)} for a {flags.scope} claim"
        reasons.append(Reason("indirectness", f"indirectness.{populations[0]}", why, -level))
    if flags.intervention_mismatch:
        why = "curator flag: the studies test a different intervention than the claim names"
        reasons.append(Reason("indirectness", "indirectness.intervention_mismatch", why, -1))
    return reasons


def _imprecision(scope: str, deciding: Sequence[_Counted]) -> list[Reason]:
    single = len(deciding) == 1 and deciding[0].design != "sr_ma"
    if scope not in HUMAN_SCOPES:
        if not single:
            return []
        why = f"one independent study (PMID {deciding[0].pmid}) without replication"
        return [Reason("imprecision", "imprecision.no_replication", why, -1)]
    # Unknown n counts as 0; only human-population sizes are study sizes (grading.md 2a step 3).
    n = sum(
        c.link.appraisal.sample_size or 0
        for c in deciding
        if c.link.appraisal.population in HUMAN_POPULATIONS
    )
    reasons = []
    if n < IMPRECISION_SERIOUS_BELOW:
        why = f"N={n} in the deciding stratum (< {IMPRECISION_SERIOUS_BELOW})"
        reasons.append(Reason("imprecision", "imprecision.n_lt_100", why, -2))
    elif n < IMPRECISION_SOME_BELOW:
        why = f"N={n} in the deciding stratum (< {IMPRECISION_SOME_BELOW})"
        reasons.append(Reason("imprecision", "imprecision.n_lt_400", why, -1))
    if single:
        # The domain is capped: record the part of the -1 that still applies.
        used = -sum(r.delta for r in reasons)
        delta = -min(1, IMPRECISION_MAX_DOWNGRADE - used)
        why = f"a single study (PMID {deciding[0].pmid})"
        if delta == 0:
            why += f"; imprecision already at its -{IMPRECISION_MAX_DOWNGRADE} cap"
        reasons.append(Reason("imprecision", "imprecision.single_study", why, delta))
    return reasons


def _publication_bias(flags: ClaimFlags, counted: Sequence[_Counted]) -> list[Reason]:
    if flags.publication_bias:
        return [Reason("publication_bias", "publication_bias.flag", "curator flag", -1)]
    for stance, other in (("supports", "contradicts"), ("contradicts", "supports")):
        one_way = [c for c in counted if c.link.stance == stance]
        sizes = [c.link.appraisal.sample_size for c in one_way]
        small = all(n is not None and n < PUBLICATION_BIAS_SMALL_N for n in sizes)
        against = any(c.link.stance == other for c in counted)
        if len(one_way) >= PUBLICATION_BIAS_MIN_STUDIES and small and not against:
            why = (
                f"suspected: {len(one_way)} small studies (n < {PUBLICATION_BIAS_SMALL_N}) "
                f"all {stance} the claim and none {other} it"
            )
            return [Reason("publication_bias", "publication_bias.suspected_small_studies", why, -1)]
    return []


def _upgrades(
    flags: ClaimFlags, deciding: Sequence[_Counted], start: int, downgrades: Sequence[Reason]
) -> list[Reason]:
    if not flags.large_effect and not flags.dose_response:
        return []
    design = deciding[0].design
    observational = design in OBSERVATIONAL_DESIGNS or (
        design == "sr_ma" and start == SR_START_OTHERWISE
    )
    if not observational:
        why = f"upgrades apply to observational evidence, not to {design} (start {start})"
        return [Reason("upgrade", "upgrade.not_applicable", why)]
    if any(r.delta < 0 for r in downgrades):
        why = "upgrades apply only when no downgrade was applied"
        return [Reason("upgrade", "upgrade.not_applicable", why)]
    reasons = []
    if flags.large_effect == 1:
        reasons.append(Reason("upgrade", "upgrade.large_effect", "curator flag: large effect", 1))
    elif flags.large_effect == 2:
        why = "curator flag: very large effect"
        reasons.append(Reason("upgrade", "upgrade.very_large_effect", why, 2))
    if flags.dose_response:
        why = "curator flag: dose-response gradient"
        reasons.append(Reason("upgrade", "upgrade.dose_response", why, 1))
    return reasons


def _certainty(start: int, changes: Sequence[Reason]) -> tuple[int, Reason]:
    raw = start + sum(r.delta for r in changes)
    level = max(CERTAINTY_MIN, min(CERTAINTY_MAX, raw))
    why = f"start {start} {sum(r.delta for r in changes):+d} = {raw}"
    if raw != level:
        why += f", clamped to {level}"
    name = CERTAINTY_NAMES[level]
    return level, Reason("certainty", f"certainty.{name}", f"{why} ({name})")


def _qualifies_for_contest(c: _Counted) -> bool:
    # A conflict only counts between direct comparative studies (tiers 1-4) or direct
    # preclinical experiments, not between case reports or indirect evidence.
    return c.indirectness == 0 and (
        c.design in COMPARATIVE_DESIGNS or c.design == "preclinical_experiment"
    )


def _verdict(
    scope: str,
    balance: _Balance,
    level: int,
    counted: Sequence[_Counted],
    deciding: Sequence[_Counted],
) -> tuple[Verdict, list[Reason]]:
    lean = balance.lean
    certainty = CERTAINTY_NAMES[level]
    reasons = []
    verdict: Verdict
    if scope in HUMAN_SCOPES and deciding[0].indirectness > 0:
        verdict = "insufficient"
        why = f"only indirect preclinical evidence for a {scope} claim (leans {lean})"
        reasons.append(Reason("verdict", "verdict.only_indirect", why))
    elif lean != "none" and level >= MIN_CERTAINTY_FOR_VERDICT:
        verdict = "supported" if lean == "support" else "contradicted"
    elif lean != "none":
        verdict = "insufficient"
        why = f"certainty {certainty} is below low (leans {lean})"
        reasons.append(Reason("verdict", "verdict.very_low_certainty", why))
    elif _both_directions(counted):
        verdict = "contested"
    else:
        verdict = "insufficient"
        why = "no supporting and contradicting pair among direct tier 1-4 or preclinical studies"
        reasons.append(Reason("verdict", "verdict.no_direct_conflict", why))
    why = f"{balance.describe()}, certainty {certainty}"
    reasons.append(Reason("verdict", f"verdict.{verdict}", why))
    return verdict, reasons


def _both_directions(counted: Sequence[_Counted]) -> bool:
    stances = {c.link.stance for c in counted if _qualifies_for_contest(c)}
    return stances == {"supports", "contradicts"}


def _sort(scope: str, verdict: str, level: int, deciding: Sequence[_Counted]) -> str:
    # SORT rates patient-oriented evidence only: mechanistic and definitional claims are C.
    if scope not in HUMAN_SCOPES or verdict == "insufficient":
        return "C"
    human = all(c.link.appraisal.population in SORT_A_POPULATIONS for c in deciding)
    decided = verdict in ("supported", "contradicted")
    if decided and level >= SORT_A_MIN_CERTAINTY and scope == "clinical" and human:
        return "A"
    return "B" if level >= MIN_CERTAINTY_FOR_VERDICT else "C"


def _sort_why(scope: str, sort: str) -> str:
    if sort == "A":
        return "consistent, good-quality patient-oriented evidence"
    if sort == "B":
        return "inconsistent or limited-quality patient-oriented evidence"
    if scope not in HUMAN_SCOPES:
        return f"{scope} claim: disease-oriented, not patient-oriented evidence"
    return "insufficient or very low certainty evidence"


def _definitional(
    scope: str,
    balance: _Balance,
    basis: str,
    reasons: list[Reason],
    linked: _Linked,
    counted: Sequence[_Counted],
) -> ClaimAssessment:
    """A matter of record: the agreement of sources, no certainty, SORT C, no CEBM level."""
    lean = balance.lean
    verdicts: dict[Lean, Verdict] = {"support": "supported", "contradict": "contradicted"}
    verdict = verdicts.get(lean, "contested")
    why = f"agreement of {len(counted)} sources: {balance.describe()}"
    reasons.append(Reason("verdict", f"verdict.{verdict}", why))
    return ClaimAssessment(
        scope=scope,
        verdict=verdict,
        lean=lean,
        certainty=None,
        support_share=balance.share,
        supports_weight=balance.supports,
        contradicts_weight=balance.contradicts,
        basis=basis,
        sort="C",
        cebm_level=None,
        reasons=tuple(reasons),
        # Every source decides a matter of record.
        studies=linked.roles(counted, counted),
    )


# --- output ----------------------------------------------------------------------------------


def _no_evidence(scope: str, linked: _Linked, reasons: list[Reason]) -> ClaimAssessment:
    why = "no eligible study: no non-neutral link to a counted (not retracted) study"
    reasons.append(Reason("verdict", "verdict.no_evidence", why))
    reasons.append(Reason("verdict", "verdict.insufficient", why))
    return ClaimAssessment(
        scope=scope,
        verdict="insufficient",
        lean="none",
        certainty=None,
        support_share=None,
        supports_weight=0.0,
        contradicts_weight=0.0,
        basis="none",
        sort="C",
        cebm_level=None,
        reasons=tuple(reasons),
        studies=linked.roles([], []),
    )


@dataclass(frozen=True)
class _Linked:
    """The claim's links sorted by PMID, with each study's indirectness and, for studies
    outside E, its (role, why)."""

    ordered: tuple[LinkedStudy, ...]
    levels: dict[int, int]
    set_aside: dict[int, tuple[Role, str] | None]

    @classmethod
    def of(cls, scope: str, links: Iterable[LinkedStudy]) -> _Linked:
        ordered = tuple(_unique_by_pmid(links))
        definitional = scope == "definitional"
        return cls(
            ordered,
            {x.appraisal.pmid: _indirectness(scope, x) for x in ordered},
            {x.appraisal.pmid: _set_aside(x, definitional) for x in ordered},
        )

    def roles(
        self, counted: Sequence[_Counted], deciding: Sequence[_Counted]
    ) -> tuple[StudyRole, ...]:
        weights = {c.pmid: c.weight for c in counted}
        deciding_pmids = {c.pmid for c in deciding}
        return tuple(self._role(x, weights, deciding_pmids) for x in self.ordered)

    def _role(
        self, link: LinkedStudy, weights: dict[int, float], deciding_pmids: set[int]
    ) -> StudyRole:
        a = link.appraisal
        aside = self.set_aside[a.pmid]
        role: Role
        if aside is not None:
            role, why = aside
        else:
            role = "deciding" if a.pmid in deciding_pmids else "eligible"
            why = f"{a.design}, {a.population}, {link.stance}, weight {weights[a.pmid]:g}"
            if role == "eligible":
                why += " (outside the deciding stratum)"
        return StudyRole(
            pmid=a.pmid,
            stance=link.stance,
            stance_source=link.stance_source,
            role=role,
            indirectness=self.levels[a.pmid],
            weight=weights.get(a.pmid, 0.0),
            why=why,
        )
