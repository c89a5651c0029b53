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
from dataclasses import dataclass, replace

from evidence.grading.appraisal import Appraisal
from evidence.grading.rules import (
    ABSENCE_OF_HARM_DESIGNS,
    CERTAINTY_MAX,
    CERTAINTY_MIN,
    CERTAINTY_NAMES,
    COMPARATIVE_DESIGNS,
    CONTRADICTED_SHARE,
    DEFAULT_SCOPE,
    DEFINITIONAL_WEIGHT,
    DESIGNS,
    DOCUMENTED_HARM_DESIGNS,
    EXCLUDED_STATUSES,
    HARM_OCCURRENCE_DESIGNS,
    HUMAN_POPULATIONS,
    HUMAN_SCOPES,
    IMPRECISION_MAX_DOWNGRADE,
    IMPRECISION_SERIOUS_BELOW,
    IMPRECISION_SOME_BELOW,
    INCONSISTENCY_NONE_BELOW,
    INCONSISTENCY_ONE_BELOW,
    INDIRECT_WEIGHT_FACTOR,
    INDIRECTNESS,
    MECHANISTIC_TIER,
    MIN_AGREEING_STUDIES,
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
    START_BY_SCOPE,
    STATUSES,
    SUPPORTED_SHARE,
    SURVEY_IMPRECISION_BELOW,
    SURVEY_INHERENT_FLAGS,
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
    # The statement asserts safety ("X is safe"): documented harm refutes it, and only designs
    # that can show an absence of harm support it (grading_rules.asserts_safety).
    asserts_safety: bool = False
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

    tier: int  # the design's rank for this claim's scope

    @property
    def key(self) -> tuple[int, int]:
        # The deciding stratum is the best (direct first, then best design) key.
        return (self.indirectness, self.tier)


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
    linked = _Linked.of(flags, links)
    tiers = MECHANISTIC_TIER if flags.scope == "mechanistic" else TIER
    counted = [
        _Counted(
            link,
            linked.levels[pmid],
            _weight(link, linked.levels[pmid], definitional),
            tiers[link.appraisal.design],
        )
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
        return _summarised(_no_evidence(flags.scope, linked, reasons), [], [])
    balance = _Balance(
        math.fsum(c.weight for c in counted if c.link.stance == "supports"),
        math.fsum(c.weight for c in counted if c.link.stance == "contradicts"),
    )
    basis = _basis(counted)
    reasons.append(Reason("basis", f"basis.{basis}", _basis_why(counted)))
    if definitional:
        return _summarised(
            _definitional(flags.scope, balance, basis, reasons, linked, counted), counted, counted
        )
    deciding = _deciding_stratum(counted)
    reasons.extend(_population_notes(counted))
    start, start_reason = _start(flags.scope, deciding)
    downgrades = [
        *_risk_of_bias(deciding, start),
        *_inconsistency(balance),
        *_indirectness_downgrades(flags, deciding),
        *_imprecision(flags, deciding, counted),
        *_publication_bias(flags, counted),
    ]
    upgrades = _upgrades(flags, deciding, start, downgrades)
    level, certainty_reason = _certainty(start, [*downgrades, *upgrades])
    verdict, verdict_reasons = _verdict(flags, balance, level, counted, deciding)
    sort = _sort(flags.scope, verdict, level, deciding)
    reasons.extend([start_reason, *downgrades, *upgrades, certainty_reason, *verdict_reasons])
    reasons.append(Reason("sort", f"sort.{sort}", _sort_why(flags.scope, sort)))
    assessment = ClaimAssessment(
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
    return _summarised(assessment, counted, deciding)


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


def _set_aside(link: LinkedStudy, flags: ClaimFlags) -> tuple[Role, str] | None:
    """(role, why) for a study outside E, or None when it counts."""
    design = link.appraisal.design
    if link.appraisal.status == "retracted":
        return ("excluded", "retracted")
    if link.appraisal.status in EXCLUDED_STATUSES:
        return ("excluded", "non-evidence record (erratum, notice or comment)")
    if link.stance == "neutral":
        return ("excluded", "neutral stance")
    if design == "narrative" and flags.scope != "definitional":
        return ("context", "narrative: shown as context, not counted as primary evidence")
    if (
        flags.scope == "safety"
        and flags.asserts_safety
        and link.stance == "supports"
        and design not in ABSENCE_OF_HARM_DESIGNS
    ):
        # Finding no harm in a few cases or a survey does not show that harm is absent.
        why = (
            f"{design.replace('_', ' ')} cannot show an absence of harm: context for a safety claim"
        )
        return ("context", why)
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
    context = [
        pmid
        for pmid, aside in linked.set_aside.items()
        if aside and aside[0] == "context" and aside[1].startswith("narrative")
    ]
    no_absence = [
        pmid
        for pmid, aside in linked.set_aside.items()
        if aside and aside[0] == "context" and not aside[1].startswith("narrative")
    ]
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
    if no_absence:
        why = (
            "no harm found, but by designs that cannot show its absence (only trials and "
            f"cohorts can): context, not counted: PMID {_pmids(no_absence)}"
        )
        reasons.append(Reason("evidence", "evidence.absence_not_shown", why))
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
    elif design in START_BY_SCOPE.get(scope, {}):
        start = START_BY_SCOPE[scope][design]
        why = f"deciding design {design}, main evidence for a {scope} claim"
    else:
        start = START[design]
        why = f"deciding design {design}"
    why += f": starts {CERTAINTY_NAMES[start]} ({start})"
    return start, Reason("start", f"start.{design}", why)


def _rob_flags(c: _Counted) -> set[str]:
    """The study's risk-of-bias cues that count against it.

    A survey's self-report, online and convenience-sample cues are what makes it a survey: its
    low start already prices them in, so they are not downgraded a second time.
    """
    flags = set(c.link.appraisal.rob_flags)
    if c.design == "case_control_cross_sectional":
        flags -= SURVEY_INHERENT_FLAGS
    return flags


def _flagged(c: _Counted) -> bool:
    # An expression of concern forces the risk-of-bias flag even if the appraisal missed it.
    return bool(_rob_flags(c)) or c.link.appraisal.status == "concern"


def _risk_of_bias(deciding: Sequence[_Counted], start: int) -> list[Reason]:
    flagged = [c for c in deciding if _flagged(c)]
    cues = sorted({f for c in flagged for f in _rob_flags(c)})
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


def _imprecision(
    flags: ClaimFlags, deciding: Sequence[_Counted], counted: Sequence[_Counted]
) -> list[Reason]:
    scope = flags.scope
    single = len(deciding) == 1 and deciding[0].design != "sr_ma"
    design = deciding[0].design
    reports_harm = scope == "safety" and (
        design == "case_report_series"
        or (not flags.asserts_safety and design in HARM_OCCURRENCE_DESIGNS)
    )
    if scope not in HUMAN_SCOPES or reports_harm:
        # Experiments, and reports of a harm in people, are not judged on participant
        # numbers: replication is what makes them precise, in any design that agrees.
        if not single or _replicated(deciding[0], counted):
            return []
        why = f"one independent study (PMID {deciding[0].pmid}) without replication"
        return [Reason("imprecision", "imprecision.no_replication", why, -1)]
    # Only human-population sizes are study sizes (grading.md 2a step 3); an unknown size is
    # reported as unknown, never as zero.
    human = [c for c in deciding if c.link.appraisal.population in HUMAN_POPULATIONS]
    sizes = [c.link.appraisal.sample_size for c in human]
    known = [n for n in sizes if n is not None]
    n = sum(known)
    if not known:
        size = "no deciding study reports a human sample size"
    elif len(known) < len(deciding):
        size = f"N={n} from the {len(known)} of {len(deciding)} deciding studies that report one"
    else:
        size = f"N={n} in the deciding stratum"
    reasons = []
    if design == "case_control_cross_sectional":
        if n < SURVEY_IMPRECISION_BELOW:
            why = f"{size} (< {SURVEY_IMPRECISION_BELOW} respondents)"
            reasons.append(Reason("imprecision", "imprecision.survey_n_lt_100", why, -1))
    elif n < IMPRECISION_SERIOUS_BELOW:
        why = f"{size} (< {IMPRECISION_SERIOUS_BELOW})"
        reasons.append(Reason("imprecision", "imprecision.n_lt_100", why, -2))
    elif n < IMPRECISION_SOME_BELOW:
        why = f"{size} (< {IMPRECISION_SOME_BELOW})"
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


def _replicated(study: _Counted, counted: Sequence[_Counted]) -> bool:
    """Another direct study, of any design, finds the same as the single deciding study."""
    return any(
        c.pmid != study.pmid and c.indirectness == 0 and c.link.stance == study.link.stance
        for c in counted
    )


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
    flags: ClaimFlags,
    balance: _Balance,
    level: int,
    counted: Sequence[_Counted],
    deciding: Sequence[_Counted],
) -> tuple[Verdict, list[Reason]]:
    scope = flags.scope
    lean = balance.lean
    certainty = CERTAINTY_NAMES[level]
    reasons = []
    verdict: Verdict
    harms = _documented_harms(flags, counted)
    if harms:
        verdict = "contradicted"
        why = (
            f"documented harm in people refutes a claim of safety: PMID {_pmids(harms)} "
            f"(one serious, well-documented harm is enough; leans {lean})"
        )
        reasons.append(Reason("verdict", "verdict.documented_harm", why))
    elif scope in HUMAN_SCOPES and deciding[0].indirectness > 0:
        verdict = "insufficient"
        why = f"only indirect preclinical evidence for a {scope} claim (leans {lean})"
        reasons.append(Reason("verdict", "verdict.only_indirect", why))
    elif lean != "none" and level >= MIN_CERTAINTY_FOR_VERDICT:
        stance = "supports" if lean == "support" else "contradicts"
        agreeing = _agreeing(counted, stance, deciding[0].indirectness)
        if agreeing < MIN_AGREEING_STUDIES:
            verdict = "insufficient"
            why = (
                f"only {agreeing} study {lean}s the claim this directly; a verdict needs "
                f"{MIN_AGREEING_STUDIES} independent studies that agree"
            )
            reasons.append(Reason("verdict", "verdict.single_study", why))
        else:
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


def _agreeing(counted: Sequence[_Counted], stance: str, indirectness: int) -> int:
    """Studies with this stance at least as direct as the deciding stratum; a systematic
    review counts as several."""
    return sum(
        MIN_AGREEING_STUDIES if c.design == "sr_ma" else 1
        for c in counted
        if c.link.stance == stance and c.indirectness <= indirectness
    )


def _documented_harms(flags: ClaimFlags, counted: Sequence[_Counted]) -> list[int]:
    """PMIDs of direct human primary studies documenting harm against a claim of safety."""
    if flags.scope != "safety" or not flags.asserts_safety:
        return []
    return [
        c.pmid
        for c in counted
        if c.link.stance == "contradicts"
        and c.indirectness == 0
        and c.design in DOCUMENTED_HARM_DESIGNS
    ]


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
    verdict: Verdict = verdicts.get(lean, "contested")
    if len(counted) < MIN_AGREEING_STUDIES:
        verdict = "insufficient"
        why = f"a single source (PMID {counted[0].pmid}); a matter of record needs two"
        reasons.append(Reason("verdict", "verdict.single_source", why))
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
    def of(cls, flags: ClaimFlags, links: Iterable[LinkedStudy]) -> _Linked:
        ordered = tuple(_unique_by_pmid(links))
        return cls(
            ordered,
            {x.appraisal.pmid: _indirectness(flags.scope, x) for x in ordered},
            {x.appraisal.pmid: _set_aside(x, flags) for x in ordered},
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


# --- the verdict in words --------------------------------------------------------------------

#: How a design reads in a sentence (singular, plural); experiments are named by population.
_DESIGN_WORDS = {
    "sr_ma": ("systematic review", "systematic reviews"),
    "rct": ("randomised trial", "randomised trials"),
    "nrct": ("non-randomised trial", "non-randomised trials"),
    "cohort": ("cohort study", "cohort studies"),
    "case_control_cross_sectional": (
        "survey or case-control study",
        "surveys or case-control studies",
    ),
    "case_report_series": ("case report or series", "case reports or series"),
    "unclassified": ("study of unclassified design", "studies of unclassified design"),
    "narrative": ("review", "reviews"),
}
_EXPERIMENT_WORDS = {
    "animal": ("animal experiment", "animal experiments"),
    "in_vitro": ("laboratory (in-vitro) experiment", "laboratory (in-vitro) experiments"),
    "in_silico": ("computer-modelling study", "computer-modelling studies"),
}
_CITED = 3  # PMIDs named in a sentence; the rest are counted


def _words(studies: Sequence[_Counted]) -> str:
    """'3 animal experiments and 1 randomised trial' (largest group first)."""
    groups: dict[tuple[str, str], int] = {}
    for c in studies:
        if c.design == "preclinical_experiment":
            one, many = _EXPERIMENT_WORDS.get(
                c.link.appraisal.population, ("experiment", "experiments")
            )
        else:
            one, many = _DESIGN_WORDS[c.design]
        key = (one, many)
        groups[key] = groups.get(key, 0) + 1
    parts = [
        f"{n} {one if n == 1 else many}"
        for (one, many), n in sorted(groups.items(), key=lambda kv: (-kv[1], kv[0][0]))
    ]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _verb(studies: Sequence[_Counted], one: str, many: str) -> str:
    return one if len(studies) == 1 else many


def _see(studies: Sequence[_Counted]) -> str:
    ranked = sorted(studies, key=lambda c: (c.key, -c.weight, c.pmid))
    named = ", ".join(f"PMID {c.pmid}" for c in ranked[:_CITED])
    more = len(ranked) - _CITED
    return f"see {named}" + (f" and {more} more" if more > 0 else "")


def _summary(a: ClaimAssessment, counted: Sequence[_Counted], deciding: Sequence[_Counted]) -> str:
    """One sentence a reviewer reads first: the verdict, the key studies and their designs."""
    label = a.verdict.capitalize()
    if a.certainty:
        label += f" ({a.certainty.replace('_', ' ')} certainty)"
    supporting = [c for c in counted if c.link.stance == "supports"]
    contradicting = [c for c in counted if c.link.stance == "contradicts"]
    codes = {r.code: r for r in a.reasons}
    if not counted:
        text = f"{label}: no linked study supports or contradicts the claim."
    elif "verdict.documented_harm" in codes:
        harmed = [c for c in contradicting if c.indirectness == 0]
        text = (
            f"{label}: {_words(harmed)} {_verb(harmed, 'documents', 'document')} harm in "
            f"people, which refutes a claim of safety; {_see(harmed)}."
        )
    elif a.verdict in ("supported", "contradicted"):
        agree = supporting if a.verdict == "supported" else contradicting
        finding = (
            _verb(agree, "supports", "support")
            if a.verdict == "supported"
            else _verb(agree, "finds", "find") + " against"
        )
        text = f"{label}: {_words(agree)} {finding} the claim; {_see(agree)}."
        against = contradicting if a.verdict == "supported" else supporting
        if against:
            verb = _verb(against, "disagrees", "disagree")
            text += f" {_words(against)} {verb} ({_see(against)})."
    elif a.verdict == "contested":
        text = (
            f"{label}: {_words(supporting)} {_verb(supporting, 'supports', 'support')} the "
            f"claim ({_see(supporting)}) and {_words(contradicting)} "
            f"{_verb(contradicting, 'finds', 'find')} against it ({_see(contradicting)})."
        )
    else:
        leaning = {"support": supporting, "contradict": contradicting}.get(a.lean, [])
        shown = leaning or list(deciding)
        body = _words(shown)
        direction = "towards support" if a.lean == "support" else "against the claim"
        if "verdict.only_indirect" in codes:
            why = f"only {body} {_verb(shown, 'bears', 'bear')} on a claim about people"
        elif "verdict.single_study" in codes or "verdict.single_source" in codes:
            why = f"a single study ({body}) is a signal, not yet a body of evidence"
        elif "verdict.very_low_certainty" in codes:
            why = f"{body} {_verb(shown, 'leans', 'lean')} {direction}, at very low certainty"
        else:
            why = f"{_words(counted)} point both ways without a direct conflict"
        text = f"{label}: {why}; {_see(shown)}."
    if a.basis == "suggested":
        text += " No reviewer has checked these stances yet: they are the linker's suggestions."
    elif a.basis == "mixed":
        unreviewed = sum(1 for c in counted if c.link.stance_source != "reviewer")
        text += f" {unreviewed} of {len(counted)} stances are unreviewed suggestions."
    return text[0].upper() + text[1:]


def _summarised(
    a: ClaimAssessment, counted: Sequence[_Counted], deciding: Sequence[_Counted]
) -> ClaimAssessment:
    """The assessment with its summary sentence as the first reason (code summary.<verdict>)."""
    why = _summary(a, counted, deciding)
    return replace(a, reasons=(Reason("summary", f"summary.{a.verdict}", why), *a.reasons))
