"""Properties of claim assessment over generated appraisals, links and curator flags.

The appraisals are deliberately unconstrained (any design with any population, status, n,
risk-of-bias flags, SR-pools-RCTs reason or not), so the properties hold for inputs the
appraisal step would never produce as well.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidence.grading.appraisal import Appraisal
from evidence.grading.certainty import ClaimAssessment, ClaimFlags, LinkedStudy, assess
from evidence.grading.rules import (
    BASES,
    CERTAINTIES,
    DESIGNS,
    EXCLUDED_STATUSES,
    LEANS,
    LETTERS,
    POPULATIONS,
    ROB_FLAGS,
    SCOPES,
    SORT_LABELS,
    SR_POOLS_RCTS_CODE,
    STANCE_SOURCES,
    STATUSES,
    VERDICTS,
    Reason,
)
from evidence.vocab import STANCES

# The conftest's autouse environment fixture is function-scoped; assess touches nothing of it.
PROPERTY = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

SR_REASON = Reason("design", SR_POOLS_RCTS_CODE, "pools randomised trials")
OTHER_REASON = Reason("design", "design.other", "some other appraisal reason")
ROLES = ("deciding", "eligible", "context", "excluded")

flags_strategy = st.builds(
    ClaimFlags,
    scope=st.sampled_from(SCOPES),
    intervention_mismatch=st.booleans(),
    publication_bias=st.booleans(),
    large_effect=st.sampled_from((0, 1, 2)),
    dose_response=st.booleans(),
)


@st.composite
def appraisals(draw: st.DrawFn, pmid: int, status: str | None = None) -> Appraisal:
    return Appraisal(
        pmid=pmid,
        design=draw(st.sampled_from(DESIGNS)),
        cebm_level=draw(st.integers(1, 5)),
        population=draw(st.sampled_from(POPULATIONS)),
        species=(),
        sample_size=draw(st.none() | st.integers(0, 1000)),
        rob_flags=tuple(sorted(draw(st.sets(st.sampled_from(ROB_FLAGS), max_size=2)))),
        status=draw(st.sampled_from(STATUSES)) if status is None else status,
        letter=draw(st.sampled_from(LETTERS)),
        reasons=tuple(draw(st.sets(st.sampled_from((SR_REASON, OTHER_REASON))))),
    )


@st.composite
def linked(draw: st.DrawFn, pmid: int, status: str | None = None) -> LinkedStudy:
    return LinkedStudy(
        appraisal=draw(appraisals(pmid, status)),
        # Weighted towards counted stances so that most examples have evidence.
        stance=draw(
            st.sampled_from(("supports", "contradicts", "supports", "contradicts", "neutral"))
        ),
        stance_source=draw(st.sampled_from(STANCE_SOURCES)),
    )


def pmid_lists(min_size: int = 0, max_size: int = 10) -> st.SearchStrategy[list[int]]:
    # A small range so that pmid order and link order often differ.
    return st.lists(st.integers(1, 60), min_size=min_size, max_size=max_size, unique=True)


@st.composite
def link_lists(draw: st.DrawFn) -> list[LinkedStudy]:
    return [draw(linked(pmid)) for pmid in draw(pmid_lists())]


def in_e(flags: ClaimFlags, link: LinkedStudy) -> bool:
    """Membership of the eligible set, restated independently of the implementation."""
    a = link.appraisal
    counted_design = a.design != "narrative" or flags.scope == "definitional"
    return link.stance != "neutral" and a.status not in EXCLUDED_STATUSES and counted_design


def flipped(link: LinkedStudy) -> LinkedStudy:
    other = {"supports": "contradicts", "contradicts": "supports", "neutral": "neutral"}
    return replace(link, stance=other[link.stance])


def decision(result: ClaimAssessment) -> tuple[object, ...]:
    """What a retracted study must never change."""
    return (
        result.verdict,
        result.certainty,
        result.lean,
        result.support_share,
        result.supports_weight,
        result.contradicts_weight,
        result.basis,
        result.sort,
        result.cebm_level,
    )


@PROPERTY
@given(flags=flags_strategy, links=link_lists(), data=st.data())
def test_invariant_to_link_order(
    flags: ClaimFlags, links: list[LinkedStudy], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(links))
    assert assess(flags, shuffled) == assess(flags, links)


@PROPERTY
@given(flags=flags_strategy, data=st.data())
def test_retracted_studies_never_change_the_decision(
    flags: ClaimFlags, data: st.DataObject
) -> None:
    pmids = data.draw(pmid_lists(max_size=14))
    split = data.draw(st.integers(0, len(pmids)))
    base = [data.draw(linked(pmid)) for pmid in pmids[:split]]
    retracted = [data.draw(linked(pmid, status="retracted")) for pmid in pmids[split:]]
    combined = data.draw(st.permutations(base + retracted))
    with_retracted = assess(flags, combined)
    assert decision(with_retracted) == decision(assess(flags, base))
    codes = {r.code for r in with_retracted.reasons}
    assert ("evidence.retracted_excluded" in codes) == any(
        link.appraisal.status == "retracted" for link in combined
    )
    for role in with_retracted.studies:
        if role.pmid in pmids[split:]:
            assert (role.role, role.weight, role.why) == ("excluded", 0.0, "retracted")


@PROPERTY
@given(flags=flags_strategy, links=link_lists())
def test_outputs_stay_in_their_vocabularies(flags: ClaimFlags, links: list[LinkedStudy]) -> None:
    result = assess(flags, links)
    has_evidence = any(in_e(flags, link) for link in links)
    assert result.scope == flags.scope
    assert result.verdict in VERDICTS
    assert result.lean in LEANS
    assert result.certainty is None or result.certainty in CERTAINTIES
    assert (result.certainty is None) == (not has_evidence or flags.scope == "definitional")
    assert (result.support_share is None) == (not has_evidence)
    assert result.basis in BASES
    assert (result.basis == "none") == (not has_evidence)
    assert result.sort in SORT_LABELS
    assert result.cebm_level is None or 1 <= result.cebm_level <= 5
    if flags.scope == "definitional":
        assert (result.sort, result.cebm_level) == ("C", None)
    if result.support_share is not None:
        assert 0.0 <= result.support_share <= 1.0
    assert [s.pmid for s in result.studies] == sorted(link.appraisal.pmid for link in links)
    for role in result.studies:
        assert role.role in ROLES
        assert role.stance in STANCES
        assert role.indirectness in (0, 1, 2)
        assert (role.weight > 0) == (role.role in ("deciding", "eligible"))
    assert any(s.role == "deciding" for s in result.studies) == has_evidence
    verdict_codes = [r.code for r in result.reasons if r.code in {f"verdict.{v}" for v in VERDICTS}]
    assert verdict_codes == [f"verdict.{result.verdict}"]


@PROPERTY
@given(flags=flags_strategy, links=link_lists())
def test_never_decided_without_evidence_or_at_very_low_certainty(
    flags: ClaimFlags, links: list[LinkedStudy]
) -> None:
    result = assess(flags, links)
    if not any(in_e(flags, link) for link in links):
        assert (result.verdict, result.lean) == ("insufficient", "none")
    if flags.scope != "definitional" and result.certainty in (None, "very_low"):
        assert result.verdict not in ("supported", "contradicted")
    if result.verdict == "supported":
        assert result.lean == "support"
    if result.verdict == "contradicted":
        assert result.lean == "contradict"
    if result.sort == "A":
        assert flags.scope == "clinical"
        assert result.certainty in ("high", "moderate")


@PROPERTY
@given(flags=flags_strategy, links=link_lists())
def test_flipping_every_stance_mirrors_the_verdict(
    flags: ClaimFlags, links: list[LinkedStudy]
) -> None:
    result = assess(flags, links)
    mirror = assess(flags, [flipped(link) for link in links])
    swap_verdict = {"supported": "contradicted", "contradicted": "supported"}
    swap_lean = {"support": "contradict", "contradict": "support"}
    assert mirror.verdict == swap_verdict.get(result.verdict, result.verdict)
    assert mirror.lean == swap_lean.get(result.lean, result.lean)
    assert mirror.certainty == result.certainty
    assert (mirror.supports_weight, mirror.contradicts_weight) == (
        result.contradicts_weight,
        result.supports_weight,
    )
    assert (mirror.sort, mirror.cebm_level, mirror.basis) == (
        result.sort,
        result.cebm_level,
        result.basis,
    )
    if result.support_share is None:
        assert mirror.support_share is None
    else:
        assert mirror.support_share == pytest.approx(1 - result.support_share)
