"""Claim assessment (`evidence.certainty.assess`), rule by rule (`reference/grading.md` 2b).

Each case names its links by (stance, design, options); PMIDs are numbered 1.. in the order
given. Unless a case says otherwise, a study is human, n=200, unflagged, status ok, and the
claim is clinical. A case checks the expected fields and the expected reason codes with the
delta each applied (and, where it matters, codes that must not appear).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from evidence.grading.appraisal import Appraisal
from evidence.grading.certainty import ClaimAssessment, ClaimFlags, LinkedStudy, StudyRole, assess
from evidence.grading.rules import (
    CEBM_LEVEL,
    CERTAINTY_NAMES,
    SR_POOLS_RCTS_CODE,
    VERDICTS,
    Reason,
)

Spec = Callable[[int], LinkedStudy]

CLINICAL = ClaimFlags()
MECHANISTIC = ClaimFlags(scope="mechanistic")
PREVALENCE = ClaimFlags(scope="prevalence")
DEFINITIONAL = ClaimFlags(scope="definitional")
HARM = ClaimFlags(scope="safety")  # "kratom can cause insomnia": asserts a harm
SAFE = ClaimFlags(scope="safety", asserts_safety=True)  # "kratom is safe short-term"


def appraisal(
    pmid: int,
    design: str = "rct",
    *,
    pop: str | None = None,
    n: int | None = 200,
    rob: Sequence[str] = (),
    status: str = "ok",
    pools: bool = False,
    cebm: int | None = None,
) -> Appraisal:
    """An Appraisal with sensible defaults: preclinical designs are animal, others human."""
    if pop is None:
        pop = "animal" if design == "preclinical_experiment" else "human"
    reasons = (Reason("design", SR_POOLS_RCTS_CODE, "pools randomised trials"),) if pools else ()
    return Appraisal(
        pmid=pmid,
        design=design,
        cebm_level=CEBM_LEVEL[design] if cebm is None else cebm,
        population=pop,
        species=("Mice",) if pop == "animal" else (),
        sample_size=n,
        rob_flags=tuple(sorted(rob)),
        status=status,
        letter="C",
        reasons=reasons,
    )


def _spec(stance: str, design: str, source: str, options: dict[str, Any]) -> Spec:
    return lambda pmid: LinkedStudy(appraisal(pmid, design, **options), stance, source)


def sup(design: str = "rct", source: str = "suggested", **options: Any) -> Spec:
    return _spec("supports", design, source, options)


def con(design: str = "rct", source: str = "suggested", **options: Any) -> Spec:
    return _spec("contradicts", design, source, options)


def neu(design: str = "rct", source: str = "suggested", **options: Any) -> Spec:
    return _spec("neutral", design, source, options)


def links(*specs: Spec) -> list[LinkedStudy]:
    return [spec(pmid) for pmid, spec in enumerate(specs, start=1)]


def case(
    id: str,
    specs: Sequence[Spec],
    flags: ClaimFlags = CLINICAL,
    *,
    codes: dict[str, int] | None = None,
    absent: Sequence[str] = (),
    **expect: Any,
) -> Any:
    return pytest.param(flags, links(*specs), expect, codes or {}, tuple(absent), id=id)


def codes_of(result: ClaimAssessment) -> dict[str, int]:
    return {r.code: r.delta for r in result.reasons}


def two(spec: Spec) -> list[Spec]:
    return [spec, spec]


CASES = [
    # --- starting certainty, one per deciding design (two studies, N=400: no imprecision) --
    case(
        "start-rct-high",
        two(sup()),
        codes={"start.rct": 0, "certainty.high": 0, "verdict.supported": 0},
        certainty="high",
        verdict="supported",
        lean="support",
        sort="A",
        cebm_level=2,
    ),
    case(
        "start-sr-pooling-rcts-high",
        [sup("sr_ma", pools=True, n=400)],
        codes={"start.sr_ma": 0, "certainty.high": 0},
        absent=["imprecision.single_study"],
        certainty="high",
        verdict="supported",
        cebm_level=1,
    ),
    case(
        "start-sr-not-pooling-rcts-low",
        [sup("sr_ma", n=400)],
        codes={"start.sr_ma": 0, "certainty.low": 0},
        certainty="low",
        verdict="supported",
        sort="B",
    ),
    case(
        "start-sr-stratum-high-if-any-sr-pools-rcts",
        [sup("sr_ma", pools=True), sup("sr_ma")],
        codes={"start.sr_ma": 0},
        certainty="high",
    ),
    case(
        "start-nrct-low",
        two(sup("nrct")),
        codes={"start.nrct": 0},
        certainty="low",
        cebm_level=3,
    ),
    case(
        "start-cohort-low",
        two(sup("cohort")),
        codes={"start.cohort": 0},
        certainty="low",
        cebm_level=3,
    ),
    case(
        "start-case-control-low",
        two(sup("case_control_cross_sectional")),
        codes={"start.case_control_cross_sectional": 0},
        certainty="low",
        cebm_level=4,
    ),
    case(
        "start-case-report-very-low",
        two(sup("case_report_series")),
        codes={"start.case_report_series": 0, "certainty.very_low": 0},
        certainty="very_low",
        verdict="insufficient",
        lean="support",
        cebm_level=4,
    ),
    case(
        "start-unclassified-very-low",
        two(sup("unclassified")),
        codes={"start.unclassified": 0},
        certainty="very_low",
        verdict="insufficient",
        cebm_level=5,
    ),
    case(
        "start-preclinical-mechanistic-moderate",
        two(sup("preclinical_experiment", pop="in_vitro", n=None)),
        MECHANISTIC,
        codes={"start.preclinical_experiment": 0, "certainty.moderate": 0},
        absent=["indirectness.in_vitro", "imprecision.no_replication"],
        certainty="moderate",
        verdict="supported",
        sort="C",
        cebm_level=5,
    ),
    case(
        # High start, -1 animal, -2 imprecision (no human n): very low, insufficient.
        "start-preclinical-clinical-high-then-indirect",
        two(sup("preclinical_experiment", n=None)),
        codes={
            "start.preclinical_experiment": 0,
            "indirectness.animal": -1,
            "imprecision.n_lt_100": -2,
            "certainty.very_low": 0,
            "verdict.only_indirect": 0,
            "verdict.insufficient": 0,
        },
        certainty="very_low",
        verdict="insufficient",
        lean="support",
        sort="C",
    ),
    case(
        "deciding-stratum-best-design-over-all-of-e",
        [sup("sr_ma", pools=True, n=500), sup(), sup("cohort")],
        codes={"start.sr_ma": 0},
        certainty="high",
        cebm_level=1,
    ),
    case(
        "deciding-stratum-direct-before-better-tier",
        [sup("sr_ma", pop="animal", pools=True), sup("cohort"), sup("cohort")],
        codes={"start.cohort": 0},
        absent=["indirectness.animal"],
        certainty="low",
        cebm_level=3,
    ),
    # --- risk of bias ------------------------------------------------------------------------
    case(
        "rob-majority-flagged",
        [sup(rob=["open_label"]), sup(rob=["pilot"]), sup()],
        codes={"rob.majority_flagged": -1},
        certainty="moderate",
    ),
    case(
        "rob-exactly-half-flagged-no-downgrade",
        [sup(rob=["open_label"]), sup()],
        absent=["rob.majority_flagged", "rob.all_flagged_low"],
        certainty="high",
    ),
    case(
        "rob-all-flagged-high-start-minus-1",
        two(sup(rob=["open_label"])),
        codes={"rob.majority_flagged": -1},
        absent=["rob.all_flagged_low"],
        certainty="moderate",
    ),
    case(
        "rob-all-flagged-low-start-minus-2",
        two(sup("case_control_cross_sectional", rob=["retrospective", "pilot"])),
        codes={"rob.all_flagged_low": -2, "certainty.very_low": 0},
        certainty="very_low",
        verdict="insufficient",
        lean="support",
    ),
    case(
        "rob-expression-of-concern-counts-as-flagged",
        two(sup(status="concern")),
        codes={"rob.majority_flagged": -1},
        certainty="moderate",
    ),
    # --- inconsistency: m = min(S, C) / (S + C) -----------------------------------------------
    case(
        "inconsistency-none-m-0.14",  # S = 8 + 4, C = 2: m = 2/14
        [sup("sr_ma", pools=True, n=400), sup(), con("nrct")],
        absent=["inconsistency.some", "inconsistency.serious"],
        certainty="high",
        verdict="supported",
    ),
    case(
        "inconsistency-some-at-m-0.15",  # S = 8 + 0.5, C = 1.5: m = 0.15
        [
            sup("sr_ma", pools=True, n=400),
            sup("case_report_series"),
            con("case_control_cross_sectional"),
        ],
        codes={"inconsistency.some": -1},
        certainty="moderate",
        verdict="supported",
        support_share=0.85,
    ),
    case(
        "inconsistency-some-m-0.33",  # S = 8, C = 4
        [sup("sr_ma", pools=True, n=400), con()],
        codes={"inconsistency.some": -1},
        certainty="moderate",
        verdict="contested",
    ),
    case(
        "inconsistency-serious-at-m-0.35",  # S = 8 + 4 + 0.5 + 0.5, C = 4 + 1.5 + 1.5: m = 7/20
        [
            sup("sr_ma", pools=True, n=400),
            sup(),
            sup("case_report_series"),
            sup("case_report_series"),
            con(),
            con("case_control_cross_sectional"),
            con("case_control_cross_sectional"),
        ],
        codes={"inconsistency.serious": -2, "certainty.low": 0},
        certainty="low",
        verdict="contested",
        lean="none",
        support_share=0.65,
        supports_weight=13.0,
        contradicts_weight=7.0,
    ),
    case(
        "inconsistency-weight-halved-per-indirect-level",  # in vitro: 1 * 0.25
        [sup(n=400), con("preclinical_experiment", pop="in_vitro")],
        absent=["inconsistency.some"],
        supports_weight=4.0,
        contradicts_weight=0.25,
    ),
    # --- indirectness --------------------------------------------------------------------------
    case(
        "indirectness-in-vitro-clinical-minus-2",
        two(sup("preclinical_experiment", pop="in_vitro", n=None)),
        codes={"indirectness.in_vitro": -2, "verdict.only_indirect": 0},
        certainty="very_low",
        verdict="insufficient",
    ),
    case(
        "indirectness-in-silico-clinical-minus-2",
        two(sup("preclinical_experiment", pop="in_silico", n=None)),
        codes={"indirectness.in_silico": -2},
        verdict="insufficient",
    ),
    case(
        # Two agreeing studies as direct as the best evidence there is: a verdict, downgraded.
        "indirectness-in-silico-mechanistic-minus-1",
        two(sup("preclinical_experiment", pop="in_silico", n=None)),
        MECHANISTIC,
        codes={"indirectness.in_silico": -1, "certainty.low": 0},
        certainty="low",
        verdict="supported",
        sort="C",
    ),
    case(
        "indirectness-animal-direct-for-mechanistic",
        two(sup("preclinical_experiment", n=None)),
        MECHANISTIC,
        absent=["indirectness.animal"],
        certainty="moderate",
    ),
    case(
        "indirectness-prevalence-animal-only",
        two(sup("preclinical_experiment", n=None)),
        PREVALENCE,
        codes={"indirectness.animal": -1, "verdict.only_indirect": 0},
        verdict="insufficient",
    ),
    case(
        "indirectness-intervention-mismatch",
        two(sup()),
        ClaimFlags(intervention_mismatch=True),
        codes={"indirectness.intervention_mismatch": -1},
        certainty="moderate",
        verdict="supported",
        sort="A",
    ),
    case(
        "population-mixed-counts-as-human",
        two(sup(pop="mixed")),
        codes={"population.mixed": 0},
        certainty="high",
        sort="A",
    ),
    case(
        "population-unknown-direct-but-noted",
        two(sup(pop="unknown")),
        codes={"population.unknown": 0},
        certainty="high",
        verdict="supported",
        sort="B",  # SORT A needs human evidence
    ),
    # --- imprecision ---------------------------------------------------------------------------
    case(
        "imprecision-n-99",
        [sup(n=50), sup(n=49)],
        codes={"imprecision.n_lt_100": -2},
        certainty="low",
    ),
    case(
        "imprecision-n-100",
        [sup(n=50), sup(n=50)],
        codes={"imprecision.n_lt_400": -1},
        absent=["imprecision.n_lt_100"],
        certainty="moderate",
    ),
    case(
        "imprecision-n-399",
        [sup(n=200), sup(n=199)],
        codes={"imprecision.n_lt_400": -1},
        certainty="moderate",
    ),
    case(
        "imprecision-n-400",
        [sup(n=200), sup(n=200)],
        absent=["imprecision.n_lt_100", "imprecision.n_lt_400"],
        certainty="high",
    ),
    case(
        "imprecision-unknown-n-counts-0",
        two(sup(n=None)),
        codes={"imprecision.n_lt_100": -2},
        certainty="low",
    ),
    case(
        "imprecision-single-study",
        [sup(n=400)],
        codes={"imprecision.single_study": -1},
        certainty="moderate",
    ),
    case(
        "imprecision-single-study-plus-n-lt-400",
        [sup(n=200)],
        codes={"imprecision.n_lt_400": -1, "imprecision.single_study": -1},
        certainty="low",
    ),
    case(
        "imprecision-capped-at-minus-2",
        [sup(n=50)],
        codes={"imprecision.n_lt_100": -2, "imprecision.single_study": 0},
        certainty="low",
    ),
    case(
        "imprecision-animal-n-not-counted",
        two(sup("preclinical_experiment", n=500)),
        codes={"imprecision.n_lt_100": -2},
    ),
    case(
        "imprecision-n-over-deciding-stratum-only",
        [sup(n=200), sup(n=100), sup("cohort", n=5000)],
        codes={"imprecision.n_lt_400": -1},
        certainty="moderate",
    ),
    case(
        "imprecision-mechanistic-no-replication",
        [sup("preclinical_experiment", pop="in_vitro", n=None)],
        MECHANISTIC,
        codes={
            "imprecision.no_replication": -1,
            "certainty.low": 0,
            "verdict.single_study": 0,
        },
        absent=["imprecision.n_lt_100"],
        certainty="low",
        verdict="insufficient",
        lean="support",
    ),
    case(
        # Replication across designs: the trial agrees with the single deciding experiment.
        "imprecision-mechanistic-replicated-by-another-design",
        [sup("preclinical_experiment", pop="in_vitro", n=None), sup("rct", n=60)],
        MECHANISTIC,
        codes={"start.preclinical_experiment": 0, "certainty.moderate": 0},
        absent=["imprecision.no_replication"],
        verdict="supported",
    ),
    case(
        "imprecision-mechanistic-sr-is-replicated",
        [sup("sr_ma", pop="animal", n=None)],
        MECHANISTIC,
        absent=["imprecision.no_replication", "imprecision.n_lt_100"],
        certainty="low",
    ),
    # --- publication bias ------------------------------------------------------------------
    case(
        "publication-bias-flag",
        two(sup()),
        ClaimFlags(publication_bias=True),
        codes={"publication_bias.flag": -1},
        certainty="moderate",
    ),
    case(
        "publication-bias-suspected-3-small-supporting",
        [sup(n=40), sup(n=40), sup(n=40)],  # N=120: -1 imprecision too
        codes={"publication_bias.suspected_small_studies": -1, "imprecision.n_lt_400": -1},
        certainty="low",
        verdict="supported",
    ),
    case(
        "publication-bias-suspected-3-small-contradicting",
        [con(n=40), con(n=40), con(n=40)],
        codes={"publication_bias.suspected_small_studies": -1},
        certainty="low",
        verdict="contradicted",
    ),
    case(
        "publication-bias-not-with-2-small",
        [sup(n=49), sup(n=49)],
        absent=["publication_bias.suspected_small_studies"],
    ),
    case(
        "publication-bias-not-at-n-50",
        [sup(n=50), sup(n=50), sup(n=50)],
        absent=["publication_bias.suspected_small_studies"],
        certainty="moderate",
    ),
    case(
        "publication-bias-not-with-unknown-n",
        [sup(n=40), sup(n=40), sup(n=None)],
        absent=["publication_bias.suspected_small_studies"],
    ),
    case(
        "publication-bias-not-when-one-contradicts",
        [sup(n=40), sup(n=40), sup(n=40), con("case_report_series")],
        absent=["publication_bias.suspected_small_studies"],
    ),
    # --- upgrades (observational D, no downgrade, curator flag) ------------------------------
    case(
        "upgrade-large-effect",
        two(sup("cohort", n=300)),
        ClaimFlags(large_effect=1),
        codes={"upgrade.large_effect": 1, "certainty.moderate": 0},
        certainty="moderate",
        verdict="supported",
        sort="A",
    ),
    case(
        "upgrade-very-large-effect",
        two(sup("cohort", n=300)),
        ClaimFlags(large_effect=2),
        codes={"upgrade.very_large_effect": 2},
        certainty="high",
    ),
    case(
        "upgrade-dose-response",
        two(sup("case_control_cross_sectional", n=300)),
        ClaimFlags(dose_response=True),
        codes={"upgrade.dose_response": 1},
        certainty="moderate",
    ),
    case(
        "upgrade-both-clamped-to-high",
        two(sup("nrct", n=300)),
        ClaimFlags(large_effect=2, dose_response=True),
        codes={"upgrade.very_large_effect": 2, "upgrade.dose_response": 1},
        certainty="high",
    ),
    case(
        "upgrade-sr-of-observational-studies",
        [sup("sr_ma", n=400)],
        ClaimFlags(dose_response=True),
        codes={"upgrade.dose_response": 1},
        certainty="moderate",
    ),
    case(
        "upgrade-not-for-rct",
        [sup(n=200), sup(n=199)],
        ClaimFlags(large_effect=1),
        codes={"upgrade.not_applicable": 0},
        absent=["upgrade.large_effect"],
        certainty="moderate",
    ),
    case(
        "upgrade-not-after-downgrade",
        [sup("cohort", n=200), sup("cohort", n=100)],
        ClaimFlags(large_effect=2, dose_response=True),
        codes={"imprecision.n_lt_400": -1, "upgrade.not_applicable": 0},
        absent=["upgrade.very_large_effect", "upgrade.dose_response"],
        certainty="very_low",
        verdict="insufficient",
    ),
    case(
        "upgrade-not-for-case-reports",
        two(sup("case_report_series", n=300)),
        ClaimFlags(large_effect=2),
        codes={"upgrade.not_applicable": 0},
        certainty="very_low",
    ),
    # --- verdict and lean ---------------------------------------------------------------------
    case(
        # The grading.md worked example, with n = 200 each (N = 600, no imprecision).
        "worked-example-2-rct-support-1-contradict",
        [sup(), sup(), con()],
        codes={"start.rct": 0, "inconsistency.some": -1, "certainty.moderate": 0},
        absent=["imprecision.n_lt_400", "imprecision.n_lt_100"],
        certainty="moderate",
        verdict="contested",
        lean="none",
        supports_weight=8.0,
        contradicts_weight=4.0,
        sort="B",
    ),
    case(
        # The same with n = 100 each: N = 300 adds imprecision -1.
        "worked-example-with-n-300",
        [sup(n=100), sup(n=100), con(n=100)],
        codes={"inconsistency.some": -1, "imprecision.n_lt_400": -1, "certainty.low": 0},
        certainty="low",
        verdict="contested",
    ),
    case(
        "verdict-contradicted",
        two(con()),
        codes={"verdict.contradicted": 0},
        verdict="contradicted",
        lean="contradict",
        support_share=0.0,
        sort="A",
    ),
    case(
        "verdict-supported-at-s-0.8",  # S = 8, C = 2: m = 0.2 -> -1
        [sup(), sup(), con("nrct")],
        codes={"inconsistency.some": -1},
        verdict="supported",
        support_share=0.8,
        certainty="moderate",
    ),
    case(
        "verdict-contradicted-at-s-0.2",
        [con(), con(), sup("nrct")],
        verdict="contradicted",
        lean="contradict",
        support_share=0.2,
    ),
    case(
        "verdict-supported-needs-low-certainty",
        two(sup("case_report_series")),
        codes={"verdict.very_low_certainty": 0, "verdict.insufficient": 0},
        verdict="insufficient",
        lean="support",
    ),
    case(
        "verdict-contradicted-needs-low-certainty",
        two(con("unclassified")),
        codes={"verdict.very_low_certainty": 0},
        verdict="insufficient",
        lean="contradict",
    ),
    case(
        "verdict-contested-needs-direct-comparative-pair",  # S = 2, C = 4 * 0.5
        [sup("cohort", n=500), *[con("case_report_series")] * 4],
        codes={"verdict.no_direct_conflict": 0, "verdict.insufficient": 0},
        verdict="insufficient",
        lean="none",
        support_share=0.5,
    ),
    case(
        "verdict-contested-case-reports-only-insufficient",
        [sup("case_report_series"), con("case_report_series")],
        codes={"verdict.no_direct_conflict": 0},
        verdict="insufficient",
    ),
    case(
        "verdict-contested-direct-preclinical-mechanistic",
        [
            sup("preclinical_experiment", pop="in_vitro", n=None),
            con("preclinical_experiment", n=None),
        ],
        MECHANISTIC,
        codes={"inconsistency.serious": -2, "verdict.contested": 0},
        verdict="contested",
        certainty="very_low",
        sort="C",
    ),
    case(
        "verdict-contested-indirect-preclinical-clinical-insufficient",
        [sup("preclinical_experiment", n=None), con("preclinical_experiment", n=None)],
        codes={"verdict.only_indirect": 0},
        verdict="insufficient",
        lean="none",
    ),
    # --- scopes ------------------------------------------------------------------------------
    case(
        "scope-prevalence-sort-b",
        two(sup("case_control_cross_sectional", n=300)),
        PREVALENCE,
        certainty="low",
        verdict="supported",
        sort="B",
        scope="prevalence",
    ),
    case(
        "scope-prevalence-moderate-still-not-a",
        two(sup("cohort", n=300)),
        ClaimFlags(scope="prevalence", large_effect=1),
        certainty="moderate",
        sort="B",
    ),
    case(
        "scope-mechanistic-human-rct-sort-c",
        two(sup()),
        MECHANISTIC,
        certainty="high",
        verdict="supported",
        sort="C",
        cebm_level=2,
    ),
    case(
        "scope-definitional-supported-with-narrative",
        [sup("narrative", n=None), sup("narrative", n=None), sup("unclassified"), sup()],
        DEFINITIONAL,
        codes={"scheme.definitional": 0, "verdict.supported": 0},
        absent=["evidence.narrative_context"],
        verdict="supported",
        certainty=None,
        lean="support",
        support_share=1.0,
        supports_weight=4.0,
        sort="C",
        cebm_level=None,
    ),
    case(
        "scope-definitional-supported-at-0.8",
        [sup("narrative"), sup("narrative"), sup("narrative"), sup("narrative"), con()],
        DEFINITIONAL,
        verdict="supported",
        support_share=0.8,
    ),
    case(
        "scope-definitional-contested-at-0.75",
        [sup("narrative"), sup("narrative"), sup("narrative"), con("narrative")],
        DEFINITIONAL,
        codes={"verdict.contested": 0},
        verdict="contested",
        lean="none",
        certainty=None,
    ),
    case(
        "scope-definitional-contested-one-each",
        [sup("case_report_series"), con("narrative")],
        DEFINITIONAL,
        verdict="contested",
    ),
    case(
        "scope-definitional-contradicted",
        [con("narrative"), con("narrative"), con("narrative"), con("narrative"), sup()],
        DEFINITIONAL,
        verdict="contradicted",
        lean="contradict",
        support_share=0.2,
    ),
    case(
        "scope-definitional-no-source",
        [neu("narrative"), sup("narrative", status="retracted")],
        DEFINITIONAL,
        codes={"scheme.definitional": 0, "verdict.no_evidence": 0},
        verdict="insufficient",
        certainty=None,
        support_share=None,
        basis="none",
    ),
    # --- SORT and CEBM ---------------------------------------------------------------------
    case(
        "sort-a-needs-moderate",
        [sup(n=50), sup(n=49)],  # low
        certainty="low",
        verdict="supported",
        sort="B",
    ),
    case(
        "sort-a-at-moderate-human-clinical",
        [sup(n=200), sup(n=199)],
        codes={"sort.A": 0},
        certainty="moderate",
        sort="A",
    ),
    case(
        "sort-b-contested-moderate",
        [sup(), sup(), con()],
        codes={"sort.B": 0},
        sort="B",
    ),
    case(
        "sort-c-contested-very-low",
        [sup("cohort", n=200), sup("cohort", n=100), con("cohort", n=200)],
        verdict="contested",
        certainty="very_low",
        sort="C",
    ),
    case(
        "sort-c-insufficient",
        two(sup("case_report_series")),
        codes={"sort.C": 0},
        sort="C",
    ),
    case(
        "cebm-best-level-in-deciding-stratum",
        [sup(cebm=3), sup(cebm=2), sup("sr_ma", pop="animal", cebm=1)],
        cebm_level=2,
    ),
    # --- basis -------------------------------------------------------------------------------
    case(
        "basis-reviewed",
        two(sup(source="reviewer")),
        codes={"basis.reviewed": 0},
        basis="reviewed",
    ),
    case(
        "basis-suggested",
        two(sup()),
        codes={"basis.suggested": 0},
        basis="suggested",
    ),
    case(
        "basis-mixed",
        [sup(source="reviewer"), sup()],
        codes={"basis.mixed": 0},
        basis="mixed",
    ),
    case(
        "basis-counts-only-e",
        [sup(source="reviewer"), neu(), con(status="retracted")],
        basis="reviewed",
    ),
    case(
        "basis-none-when-e-empty",
        [neu(source="reviewer")],
        absent=["basis.reviewed"],
        basis="none",
    ),
    # --- exclusions --------------------------------------------------------------------------
    case(
        "excluded-neutral-only",
        [neu(), neu("sr_ma", pools=True)],
        codes={"verdict.no_evidence": 0, "verdict.insufficient": 0},
        verdict="insufficient",
        lean="none",
        certainty=None,
        support_share=None,
        supports_weight=0.0,
        contradicts_weight=0.0,
        sort="C",
        cebm_level=None,
    ),
    case(
        "excluded-retracted-does-not-contest",
        [sup(), sup(), con("sr_ma", pools=True, status="retracted")],
        codes={"evidence.retracted_excluded": 0},
        absent=["inconsistency.some", "inconsistency.serious"],
        verdict="supported",
        certainty="high",
        contradicts_weight=0.0,
    ),
    case(
        "excluded-non-evidence",
        [sup(), sup(), con(status="non_evidence")],
        codes={"evidence.non_evidence_excluded": 0},
        verdict="supported",
        contradicts_weight=0.0,
    ),
    case(
        "corrected-still-counts",
        [sup(status="corrected"), sup(status="corrected")],
        verdict="supported",
        certainty="high",
    ),
    case(
        "narrative-is-context-only",
        [sup("narrative"), sup("narrative")],
        codes={"evidence.narrative_context": 0, "verdict.no_evidence": 0},
        verdict="insufficient",
        certainty=None,
    ),
    case(
        "narrative-does-not-contest",
        [sup(), sup(), con("narrative")],
        codes={"evidence.narrative_context": 0},
        verdict="supported",
        certainty="high",
    ),
    # --- claim types: what counts as direct evidence (issue 14 item 2) ---------------------
    case(
        # Harms questions: case series and poison-centre data are the main evidence; start low.
        "safety-harm-case-series-start-low",
        two(sup("case_report_series", n=None)),
        HARM,
        codes={"start.case_report_series": 0, "certainty.low": 0, "verdict.supported": 0},
        absent=["imprecision.n_lt_100", "imprecision.no_replication"],
        certainty="low",
        verdict="supported",
    ),
    case(
        "safety-harm-single-case-not-a-body-of-evidence",
        [sup("case_report_series", n=1)],
        HARM,
        codes={"imprecision.no_replication": -1, "verdict.very_low_certainty": 0},
        verdict="insufficient",
        lean="support",
    ),
    case(
        # "Can cause" asks whether the harm happens: a small survey of users reporting it,
        # replicated by a case report, is not imprecise for want of respondents.
        "safety-harm-survey-judged-on-replication-not-size",
        [sup("case_control_cross_sectional", n=40), sup("case_report_series", n=None)],
        HARM,
        codes={"start.case_control_cross_sectional": 0, "certainty.low": 0},
        absent=["imprecision.survey_n_lt_100", "imprecision.single_study"],
        certainty="low",
        verdict="supported",
    ),
    case(
        "safety-harm-single-survey-unreplicated",
        [sup("case_control_cross_sectional", n=4000)],
        HARM,
        codes={"imprecision.no_replication": -1, "verdict.very_low_certainty": 0},
        verdict="insufficient",
        lean="support",
    ),
    case(
        # A claim of safety still needs the numbers: the exemption is for reports of harm.
        "safety-claim-of-safety-keeps-survey-imprecision",
        [con("case_control_cross_sectional", n=40)],
        SAFE,
        codes={"imprecision.survey_n_lt_100": -1, "verdict.documented_harm": 0},
        verdict="contradicted",
    ),
    case(
        "safety-harm-animal-toxicity-indirect",
        two(sup("preclinical_experiment", n=None)),
        HARM,
        codes={"indirectness.animal": -1, "verdict.only_indirect": 0},
        verdict="insufficient",
    ),
    case(
        # One serious, well-documented harm refutes "safe", whatever else leans the other way.
        "safety-documented-harm-contradicts-safe",
        [con("case_report_series", n=1), sup("rct", n=300)],
        SAFE,
        codes={"verdict.documented_harm": 0, "verdict.contradicted": 0},
        verdict="contradicted",
    ),
    case(
        "safety-harm-in-animals-does-not-refute-safe-in-people",
        [con("preclinical_experiment", n=None)],
        SAFE,
        absent=["verdict.documented_harm"],
        verdict="insufficient",
    ),
    case(
        # A survey or case series that finds no harm cannot show that harm is absent.
        "safety-absence-not-shown-by-surveys",
        two(sup("case_control_cross_sectional", n=900)),
        SAFE,
        codes={"evidence.absence_not_shown": 0, "verdict.no_evidence": 0},
        verdict="insufficient",
        certainty=None,
    ),
    case(
        "safety-absence-shown-by-trials",
        two(sup("rct", n=300)),
        SAFE,
        codes={"verdict.supported": 0},
        absent=["evidence.absence_not_shown"],
        verdict="supported",
        certainty="high",
    ),
    case(
        # A receptor assay answers a mechanistic question better than a survey of users.
        "mechanistic-experiments-outrank-surveys",
        [
            sup("preclinical_experiment", pop="in_vitro", n=None),
            sup("preclinical_experiment", n=None),
            sup("case_control_cross_sectional", n=5000, rob=["retrospective"]),
        ],
        MECHANISTIC,
        codes={"start.preclinical_experiment": 0, "certainty.moderate": 0},
        absent=["start.case_control_cross_sectional", "rob.all_flagged_low"],
        verdict="supported",
    ),
    case(
        # Surveys of self-reported benefit: low-certainty support, no second downgrade for
        # being self-reported online.
        "clinical-surveys-low-certainty-support",
        two(sup("case_control_cross_sectional", n=2000, rob=["online_survey", "self_report"])),
        codes={"start.case_control_cross_sectional": 0, "certainty.low": 0},
        absent=["rob.all_flagged_low", "rob.majority_flagged", "imprecision.n_lt_400"],
        certainty="low",
        verdict="supported",
    ),
    case(
        # Looking back is what a survey does: no second downgrade for "retrospective".
        "survey-retrospective-is-inherent",
        two(sup("case_control_cross_sectional", n=2000, rob=["retrospective"])),
        absent=["rob.all_flagged_low", "rob.majority_flagged"],
        certainty="low",
        verdict="supported",
    ),
    case(
        # A cohort can be followed forwards: a retrospective one is still downgraded.
        "cohort-retrospective-still-downgraded",
        two(sup("cohort", n=2000, rob=["retrospective"])),
        codes={"rob.all_flagged_low": -2},
        verdict="insufficient",
    ),
    case(
        "prevalence-surveys-few-respondents-minus-1",
        two(sup("case_control_cross_sectional", n=40, rob=["convenience_sample"])),
        PREVALENCE,
        codes={"imprecision.survey_n_lt_100": -1, "certainty.very_low": 0},
        certainty="very_low",
        verdict="insufficient",
    ),
    case(
        "prevalence-surveys-supported",
        two(sup("case_control_cross_sectional", n=1500, rob=["online_survey"])),
        PREVALENCE,
        absent=["imprecision.survey_n_lt_100", "rob.all_flagged_low"],
        certainty="low",
        verdict="supported",
    ),
    case(
        "clinical-single-trial-is-not-enough",
        [sup("rct", n=600)],
        codes={"verdict.single_study": 0},
        verdict="insufficient",
        lean="support",
    ),
    case(
        "clinical-reviews-never-count-as-studies",
        [sup("rct", n=600), sup("narrative"), sup("narrative")],
        codes={"evidence.narrative_context": 0, "verdict.single_study": 0},
        verdict="insufficient",
    ),
    case(
        "definitional-single-source-insufficient",
        [sup("narrative")],
        DEFINITIONAL,
        codes={"verdict.single_source": 0},
        verdict="insufficient",
    ),
]


@pytest.mark.parametrize(("flags", "links_", "expect", "codes", "absent"), CASES)
def test_rule(
    flags: ClaimFlags,
    links_: list[LinkedStudy],
    expect: dict[str, Any],
    codes: dict[str, int],
    absent: tuple[str, ...],
) -> None:
    result = assess(flags, links_)
    got = {field: getattr(result, field) for field in expect}
    assert got == expect, result.reasons
    found = codes_of(result)
    assert {code: found.get(code) for code in codes} == codes, result.reasons
    assert not set(absent) & set(found), result.reasons


@pytest.mark.parametrize(
    ("flags", "links_"),
    [pytest.param(p.values[0], p.values[1], id=p.id) for p in CASES],
)
def test_reason_deltas_add_up_to_the_certainty(
    flags: ClaimFlags, links_: list[LinkedStudy]
) -> None:
    """Every change of level is a reason: start + sum(deltas) clamped is the certainty."""
    result = assess(flags, links_)
    found = codes_of(result)
    verdicts = [code for code in found if code in {f"verdict.{v}" for v in VERDICTS}]
    assert len(verdicts) == 1
    if result.certainty is None:
        assert all(r.delta == 0 for r in result.reasons)
        return
    (start,) = (r for r in result.reasons if r.code.startswith("start."))
    level = int(start.why.rsplit("(", 1)[1].rstrip(")"))
    level += sum(r.delta for r in result.reasons)
    assert result.certainty == CERTAINTY_NAMES[max(1, min(4, level))]
    assert f"certainty.{result.certainty}" in found


def test_study_roles() -> None:
    result = assess(
        CLINICAL,
        [
            LinkedStudy(appraisal(5, "rct"), "supports", "reviewer"),
            LinkedStudy(appraisal(4, "rct"), "contradicts"),
            LinkedStudy(appraisal(3, "preclinical_experiment", pop="in_vitro"), "supports"),
            LinkedStudy(appraisal(2, "cohort"), "supports"),
            LinkedStudy(appraisal(1, "narrative"), "supports"),
            LinkedStudy(appraisal(6, "rct"), "neutral"),
            LinkedStudy(appraisal(7, "rct", status="retracted"), "supports"),
            LinkedStudy(appraisal(8, "rct", status="non_evidence"), "supports"),
            LinkedStudy(appraisal(9, "preclinical_experiment"), "contradicts"),
        ],
    )
    roles = {s.pmid: (s.role, s.indirectness, s.weight) for s in result.studies}
    assert [s.pmid for s in result.studies] == list(range(1, 10))
    assert roles == {
        1: ("context", 0, 0.0),
        2: ("eligible", 0, 2.0),
        3: ("eligible", 2, 0.25),
        4: ("deciding", 0, 4.0),
        5: ("deciding", 0, 4.0),
        6: ("excluded", 0, 0.0),
        7: ("excluded", 0, 0.0),
        8: ("excluded", 0, 0.0),
        9: ("eligible", 1, 0.5),
    }
    whys = {s.pmid: s.why for s in result.studies}
    assert whys[6] == "neutral stance"
    assert whys[7] == "retracted"
    assert result.studies[4] == StudyRole(
        pmid=5,
        stance="supports",
        stance_source="reviewer",
        role="deciding",
        indirectness=0,
        weight=4.0,
        why="rct, human, supports, weight 4",
    )
    assert result.supports_weight == 4.0 + 2.0 + 0.25
    assert result.contradicts_weight == 4.0 + 0.5


def test_retracted_reason_names_every_retracted_pmid() -> None:
    result = assess(
        CLINICAL,
        links(sup(), sup(status="retracted"), neu(status="retracted"), con(status="retracted")),
    )
    (reason,) = (r for r in result.reasons if r.code == "evidence.retracted_excluded")
    assert reason.domain == "evidence"
    assert reason.why.endswith("PMID 2, 3, 4")
    assert reason.delta == 0


def test_inconsistency_why_gives_the_numbers() -> None:
    result = assess(CLINICAL, links(sup(), sup(), con()))
    (reason,) = (r for r in result.reasons if r.domain == "inconsistency")
    assert reason.why == "minority weight share 0.33 (S=8, C=4)"


def test_identical_duplicate_links_collapse() -> None:
    link = LinkedStudy(appraisal(1), "supports")
    assert assess(CLINICAL, [link, link]) == assess(CLINICAL, [link])


@pytest.mark.parametrize(
    "other",
    [
        LinkedStudy(appraisal(1), "contradicts"),
        LinkedStudy(appraisal(1), "supports", "reviewer"),
        LinkedStudy(appraisal(1, n=10), "supports"),
    ],
    ids=["stance", "source", "appraisal"],
)
def test_conflicting_duplicate_links_raise(other: LinkedStudy) -> None:
    with pytest.raises(ValueError, match="PMID 1 is linked twice"):
        assess(CLINICAL, [LinkedStudy(appraisal(1), "supports"), other])


@pytest.mark.parametrize(
    ("flags", "link"),
    [
        (ClaimFlags(scope="botanical"), LinkedStudy(appraisal(1), "supports")),
        (ClaimFlags(large_effect=3), LinkedStudy(appraisal(1), "supports")),
        (CLINICAL, LinkedStudy(appraisal(1), "refutes")),
        (CLINICAL, LinkedStudy(appraisal(1), "supports", "linker")),
        (CLINICAL, LinkedStudy(appraisal(1, pop="plant"), "supports")),
    ],
    ids=["scope", "large-effect", "stance", "stance-source", "population"],
)
def test_unknown_values_raise(flags: ClaimFlags, link: LinkedStudy) -> None:
    with pytest.raises(ValueError):
        assess(flags, [link])


# --- the verdict in words (issue 14 item 4) ----------------------------------------------------


def test_summary_names_the_key_studies_and_designs_first() -> None:
    result = assess(
        MECHANISTIC,
        links(
            sup("preclinical_experiment", pop="in_vitro", n=None, source="reviewer"),
            sup("preclinical_experiment", n=None, source="reviewer"),
            sup("preclinical_experiment", n=None, source="reviewer"),
        ),
    )
    first = result.reasons[0]
    assert first.code == "summary.supported" and first.domain == "summary"
    assert first.why.startswith("Supported (moderate certainty): 2 animal experiments and 1 ")
    assert "laboratory (in-vitro) experiment support the claim" in first.why
    assert "PMID 1" in first.why and "PMID 3" in first.why
    assert "reviewer" not in first.why  # every stance reviewed: no warning


def test_summary_marks_unreviewed_suggestions_plainly() -> None:
    suggested = assess(CLINICAL, links(*two(sup())))
    assert "No reviewer has checked these stances yet" in suggested.reasons[0].why
    mixed = assess(CLINICAL, links(sup(source="reviewer"), sup()))
    assert "1 of 2 stances are unreviewed suggestions" in mixed.reasons[0].why


def test_summary_of_contested_and_documented_harm() -> None:
    contested = assess(CLINICAL, links(sup("rct"), con("rct"), sup("cohort"), con("cohort")))
    assert contested.verdict == "contested"
    assert "support the claim (see PMID" in contested.reasons[0].why
    assert "find against it (see PMID" in contested.reasons[0].why
    harm = assess(SAFE, links(con("case_report_series", n=1)))
    assert harm.reasons[0].why.startswith(
        "Contradicted (very low certainty): 1 case report or series documents harm in people"
    )


@pytest.mark.parametrize(
    "sizes", [(None, None), (None, 30), (0, None)], ids=["none", "some", "zero-and-none"]
)
def test_unknown_sample_size_is_never_shown_as_zero(sizes: tuple[int | None, ...]) -> None:
    result = assess(CLINICAL, links(*(sup("rct", n=n) for n in sizes)))
    imprecision = [r.why for r in result.reasons if r.domain == "imprecision"]
    assert imprecision, result.reasons
    if all(n is None for n in sizes):
        assert imprecision[0].startswith("no deciding study reports a human sample size")
    for r in result.reasons:
        assert "N=0" not in r.why or 0 in sizes, r
