"""Tests for evidence.appraisal: one table per classification, each row asserting the output
and the reason code that explains it (grading.md 2a plus the rules in the module docstring).

Records are synthetic StudyFacts; tests/test_appraisal_shared.py runs real PubMed records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.grading.appraisal import (
    Appraisal,
    StudyFacts,
    appraise,
    facts_from_record,
    letter_for,
)
from evidence.grading.rules import (
    CEBM_LEVEL,
    DESIGNS,
    LETTERS,
    POPULATIONS,
    ROB_FLAGS,
    SR_POOLS_RCTS_CODE,
    STATUSES,
)
from evidence.pubmed.parsing import iter_records
from evidence.store.records import ParsedArticle

ARTICLESET = Path(__file__).parent / "fixtures" / "pubmed" / "articleset.xml"
DOMAINS = ("status", "population", "design", "sample_size", "risk_of_bias", "letter")


def facts(
    title: str = "",
    abstract: str = "",
    pt: tuple[str, ...] = ("Journal Article",),
    mesh: tuple[str, ...] = (),
    **kwargs: Any,
) -> StudyFacts:
    return StudyFacts(
        pmid=1, title=title, abstract=abstract, publication_types=pt, mesh=mesh, **kwargs
    )


def codes(appraisal: Appraisal, domain: str) -> list[str]:
    return [r.code for r in appraisal.reasons if r.domain == domain]


HUMANS = ("Humans",)
MOUSE = ("Animals", "Mice")

# --------------------------------------------------------------------------- design

DESIGN_CASES = [
    # tier 1: systematic reviews and meta-analyses
    (
        "pt_systematic_review",
        facts(pt=("Systematic Review",), mesh=HUMANS),
        "sr_ma",
        "design.pt_sr_ma",
    ),
    (
        "pt_meta_analysis",
        facts(pt=("Journal Article", "Meta-Analysis")),
        "sr_ma",
        "design.pt_sr_ma",
    ),
    ("pt_network_meta_analysis", facts(pt=("Network Meta-Analysis",)), "sr_ma", "design.pt_sr_ma"),
    (
        "title_systematic_review",
        facts("Statins and falls: a systematic review"),
        "sr_ma",
        "design.title_sr_ma",
    ),
    (
        "title_meta_analysis",
        facts("Statins and falls: a meta-analysis."),
        "sr_ma",
        "design.title_sr_ma",
    ),
    (
        "abstract_systematic_review",
        facts("Statins and falls", "We conducted a systematic review of 12 trials."),
        "sr_ma",
        "design.text_sr_ma",
    ),
    # An SR of animal studies stays an SR (tier 1 before the preclinical override).
    (
        "sr_of_animal_studies",
        facts(pt=("Systematic Review",), mesh=MOUSE),
        "sr_ma",
        "design.pt_sr_ma",
    ),
    # Authors who call it narrative outrank a Meta-Analysis index term.
    (
        "self_declared_narrative_review",
        facts(
            abstract="The purpose of this narrative review is...", pt=("Meta-Analysis", "Review")
        ),
        "narrative",
        "design.text_narrative_review",
    ),
    # tier 7 by publication type (checked before the population override and tiers 2-5)
    (
        "pt_review",
        facts(pt=("Journal Article", "Review"), mesh=HUMANS),
        "narrative",
        "design.pt_narrative",
    ),
    ("pt_editorial", facts(pt=("Editorial",)), "narrative", "design.pt_narrative"),
    ("pt_letter", facts(pt=("Letter",)), "narrative", "design.pt_narrative"),
    (
        "pt_practice_guideline",
        facts(pt=("Practice Guideline",)),
        "narrative",
        "design.pt_narrative",
    ),
    (
        "pt_historical_article",
        facts(pt=("Historical Article",)),
        "narrative",
        "design.pt_narrative",
    ),
    (
        "pt_review_beats_cohort_mesh",
        facts(pt=("Review",), mesh=("Humans", "Prospective Studies")),
        "narrative",
        "design.pt_narrative",
    ),
    (
        "pt_case_report_beats_letter",
        facts(pt=("Case Reports", "Letter"), mesh=HUMANS),
        "case_report_series",
        "design.pt_case_report",
    ),
    # tier 6: the population overrides tiers 2-5
    (
        "animal_randomized_controlled",
        facts(pt=("Randomized Controlled Trial",), mesh=("Animals", "Rats")),
        "preclinical_experiment",
        "design.preclinical",
    ),
    (
        "veterinary_clinical_trial",
        facts(pt=("Clinical Trial",), mesh=("Animals", "Dogs")),
        "preclinical_experiment",
        "design.preclinical",
    ),
    (
        "human_cell_line",
        facts(mesh=("Humans", "Cell Line")),
        "preclinical_experiment",
        "design.preclinical",
    ),
    (
        "human_cell_line_with_clinical_pt",
        facts(pt=("Clinical Trial",), mesh=("Humans", "Cell Line")),
        "nrct",
        "design.pt_nrct",
    ),
    (
        "text_mice",
        facts(abstract="Mice were fed kratom."),
        "preclinical_experiment",
        "design.preclinical",
    ),
    # tier 2
    ("pt_rct", facts(pt=("Randomized Controlled Trial",), mesh=HUMANS), "rct", "design.pt_rct"),
    ("pt_equivalence_trial", facts(pt=("Equivalence Trial",)), "rct", "design.pt_rct"),
    ("pt_pragmatic_trial", facts(pt=("Pragmatic Clinical Trial",)), "rct", "design.pt_rct"),
    ("pt_adaptive_trial", facts(pt=("Adaptive Clinical Trial",)), "rct", "design.pt_rct"),
    (
        "pt_rct_beats_phase_iii",
        facts(pt=("Clinical Trial, Phase III", "Randomized Controlled Trial")),
        "rct",
        "design.pt_rct",
    ),
    ("rct_prob", facts(rct_prob=0.91), "rct", "design.rct_prob"),
    (
        "text_haynes",
        facts("A randomised controlled trial of kratom", "Adults were randomized."),
        "rct",
        "design.text_haynes",
    ),
    # tier 3
    ("pt_clinical_trial", facts(pt=("Clinical Trial",)), "nrct", "design.pt_nrct"),
    ("pt_phase_ii", facts(pt=("Clinical Trial, Phase II",)), "nrct", "design.pt_nrct"),
    ("pt_controlled_trial", facts(pt=("Controlled Clinical Trial",)), "nrct", "design.pt_nrct"),
    ("pt_clinical_study", facts(pt=("Clinical Study",)), "nrct", "design.pt_nrct"),
    (
        "text_open_label",
        facts(abstract="An open-label study in 20 adults."),
        "nrct",
        "design.text_nrct",
    ),
    (
        "text_single_arm",
        facts(abstract="A single-arm study of patients."),
        "nrct",
        "design.text_nrct",
    ),
    ("text_pilot_study", facts("A pilot study of kratom tea"), "nrct", "design.text_nrct"),
    (
        "text_first_in_human",
        facts("First-in-human evaluation of a device"),
        "nrct",
        "design.text_nrct",
    ),
    (
        "text_non_randomized_trial",
        facts(abstract="A non-randomized controlled trial in veterans."),
        "nrct",
        "design.text_nrct",
    ),
    (
        "low_rct_prob",
        facts(abstract="An open-label study.", rct_prob=0.2),
        "nrct",
        "design.text_nrct",
    ),
    # tier 4a
    (
        "mesh_cohort_studies",
        facts(mesh=("Humans", "Cohort Studies")),
        "cohort",
        "design.mesh_cohort",
    ),
    (
        "mesh_prospective",
        facts(mesh=("Humans", "Prospective Studies")),
        "cohort",
        "design.mesh_cohort",
    ),
    ("mesh_longitudinal", facts(mesh=("Longitudinal Studies",)), "cohort", "design.mesh_cohort"),
    ("mesh_follow_up", facts(mesh=("Follow-Up Studies",)), "cohort", "design.mesh_cohort"),
    (
        "cohort_mesh_beats_questionnaires",
        facts(mesh=("Prospective Studies", "Surveys and Questionnaires")),
        "cohort",
        "design.mesh_cohort",
    ),
    (
        "cohort_mesh_beats_trial_words",
        facts(abstract="Unlike randomized controlled trials, ...", mesh=("Cohort Studies",)),
        "cohort",
        "design.mesh_cohort",
    ),
    (
        "pt_observational_followed",
        facts(abstract="Users were followed for a year.", pt=("Observational Study",)),
        "cohort",
        "design.pt_observational_cohort",
    ),
    (
        "text_retrospective_cohort",
        facts(abstract="Study design: retrospective cohort study."),
        "cohort",
        "design.text_cohort",
    ),
    (
        "text_followed_up",
        facts(abstract="Adults were followed up for 5 years."),
        "cohort",
        "design.text_cohort",
    ),
    # tier 4b
    (
        "mesh_case_control",
        facts(mesh=("Humans", "Case-Control Studies")),
        "case_control_cross_sectional",
        "design.mesh_case_control",
    ),
    (
        "nested_case_control_beats_cohort_mesh",
        facts(mesh=("Case-Control Studies", "Prospective Studies"), pt=("Observational Study",)),
        "case_control_cross_sectional",
        "design.mesh_case_control",
    ),
    (
        "mesh_cross_sectional",
        facts(mesh=("Cross-Sectional Studies",)),
        "case_control_cross_sectional",
        "design.mesh_case_control",
    ),
    (
        "mesh_questionnaires",
        facts(mesh=("Humans", "Surveys and Questionnaires")),
        "case_control_cross_sectional",
        "design.mesh_survey_retrospective",
    ),
    (
        "mesh_retrospective",
        facts(mesh=("Humans", "Retrospective Studies")),
        "case_control_cross_sectional",
        "design.mesh_survey_retrospective",
    ),
    (
        "pt_observational",
        facts(pt=("Observational Study",)),
        "case_control_cross_sectional",
        "design.pt_observational",
    ),
    (
        "pt_comparative",
        facts(pt=("Comparative Study",)),
        "case_control_cross_sectional",
        "design.pt_observational",
    ),
    (
        "pt_twin",
        facts(pt=("Twin Study",)),
        "case_control_cross_sectional",
        "design.pt_observational",
    ),
    (
        "text_online_survey",
        facts(abstract="An online survey of kratom users."),
        "case_control_cross_sectional",
        "design.text_ccs",
    ),
    (
        "text_cross_sectional",
        facts("A cross-sectional study of veterans"),
        "case_control_cross_sectional",
        "design.text_ccs",
    ),
    (
        "text_focus_groups",
        facts(abstract="Focus groups with 35 students."),
        "case_control_cross_sectional",
        "design.text_ccs",
    ),
    (
        "text_healthy_controls",
        facts(abstract="Patients had lower levels than healthy controls."),
        "case_control_cross_sectional",
        "design.text_ccs",
    ),
    # tier 5
    (
        "pt_case_reports",
        facts(pt=("Case Reports",), mesh=HUMANS),
        "case_report_series",
        "design.pt_case_report",
    ),
    (
        "text_case_report",
        facts("Kratom hepatitis: a case report"),
        "case_report_series",
        "design.text_case_report",
    ),
    (
        "text_we_describe",
        facts(abstract="We describe a 45-year-old man who drank kratom."),
        "case_report_series",
        "design.text_case_report",
    ),
    (
        "text_we_report_two_patients",
        facts(abstract="We report two patients with seizures."),
        "case_report_series",
        "design.text_case_report",
    ),
    (
        "text_forensic_series",
        facts(abstract="We investigated the toxicology reports of 35 deaths in Nevada."),
        "case_report_series",
        "design.text_case_report",
    ),
    (
        "case_report_and_review_title",
        facts("Kratom hepatitis: a case report and review of the literature"),
        "case_report_series",
        "design.text_case_report",
    ),
    (
        # PMID 33342583's shape: a single patient reported as a Letter, no abstract.
        "letter_about_one_patient",
        facts(
            "Management of kratom withdrawal with gabapentin in a patient with a left "
            "ventricular assist device",
            pt=("Letter",),
        ),
        "case_report_series",
        "design.text_case_report",
    ),
    (
        # "in an" before a vowel: the cue's pre-filter once knew only "in a ".
        "letter_about_an_infant",
        facts("Neonatal abstinence syndrome in an infant with maternal kratom use", pt=("Letter",)),
        "case_report_series",
        "design.text_case_report",
    ),
    (
        "letter_without_case_cue_is_narrative",
        facts("Kratom regulation needs evidence", pt=("Letter",)),
        "narrative",
        "design.pt_narrative",
    ),
    # tier 7 by title or abstract (before trial words, which reviews are bound to contain)
    (
        "text_state_of_the_art_review",
        facts("Kratom: State-of-the-Art Review.", "Randomized controlled trials are lacking."),
        "narrative",
        "design.text_narrative",
    ),
    ("text_editorial_title", facts("Editorial."), "narrative", "design.text_narrative"),
    (
        "text_guideline_title",
        facts("ACG Clinical Guideline: Kratom."),
        "narrative",
        "design.text_narrative",
    ),
    (
        "text_in_this_review",
        facts(abstract="In this review article, we summarise surveys of users."),
        "narrative",
        "design.text_narrative",
    ),
    # tier 8
    ("unclassified", facts("Kratom", "Kratom is a tree."), "unclassified", "design.unclassified"),
]


@pytest.mark.parametrize(
    ("study", "design", "code"),
    [pytest.param(f, d, c, id=i) for i, f, d, c in DESIGN_CASES],
)
def test_design(study: StudyFacts, design: str, code: str) -> None:
    appraisal = appraise(study)
    assert appraisal.design == design
    assert codes(appraisal, "design")[0] == code
    assert appraisal.cebm_level == CEBM_LEVEL[design]


def test_sr_of_animal_studies_keeps_population_animal() -> None:
    appraisal = appraise(facts(pt=("Systematic Review",), mesh=MOUSE))
    assert (appraisal.design, appraisal.population, appraisal.species) == (
        "sr_ma",
        "animal",
        ("Mice",),
    )


@pytest.mark.parametrize(
    ("abstract", "pools"),
    [
        pytest.param("We pooled 12 randomised controlled trials.", True, id="rcts"),
        pytest.param("Eligible RCTs were searched.", True, id="rct_acronym"),
        pytest.param("We pooled 12 cohort studies.", False, id="cohorts"),
    ],
)
def test_sr_pools_rcts_reason(abstract: str, pools: bool) -> None:
    appraisal = appraise(facts(abstract=abstract, pt=("Meta-Analysis",)))
    assert (SR_POOLS_RCTS_CODE in codes(appraisal, "design")) is pools


def test_sr_pools_rcts_only_for_sr() -> None:
    appraisal = appraise(facts(abstract="Randomized trials.", pt=("Randomized Controlled Trial",)))
    assert codes(appraisal, "design") == ["design.pt_rct"]


# --------------------------------------------------------------------------- population

POPULATION_CASES = [
    ("mesh_humans", facts(mesh=HUMANS), "human", (), "population.mesh_humans"),
    ("mesh_animals", facts(mesh=MOUSE), "animal", ("Mice",), "population.mesh_animal"),
    (
        "mesh_animal_strains_sorted",
        facts(mesh=("Rats, Wistar", "Animals", "Rats")),
        "animal",
        ("Rats", "Rats, Wistar"),
        "population.mesh_animal",
    ),
    (
        "mesh_mixed_with_design",
        facts(mesh=("Humans", "Animals", "Dogs", "Cohort Studies")),
        "mixed",
        ("Dogs",),
        "population.mesh_mixed",
    ),
    (
        "mesh_mixed_no_species",
        facts(mesh=("Humans", "Animals")),
        "mixed",
        (),
        "population.mesh_mixed",
    ),
    (
        "mixed_review_keeps_tags",
        facts(pt=("Review",), mesh=("Humans", "Animals", "Mice")),
        "mixed",
        ("Mice",),
        "population.mesh_mixed",
    ),
    # A mouse experiment using human cells is tagged Humans too.
    (
        "animal_experiment_with_human_material",
        facts(mesh=("Humans", "Animals", "Mice", "Disease Models, Animal")),
        "animal",
        ("Mice",),
        "population.mesh_animal_experiment",
    ),
    (
        "mesh_cells_cultured",
        facts(mesh=("Cells, Cultured",)),
        "in_vitro",
        (),
        "population.mesh_in_vitro",
    ),
    (
        "mesh_human_cell_line",
        facts(mesh=("Humans", "Cell Line, Tumor")),
        "in_vitro",
        (),
        "population.mesh_in_vitro",
    ),
    (
        "xenograft_is_animal",
        facts(mesh=("Animals", "Mice", "Cell Line, Tumor")),
        "animal",
        ("Mice",),
        "population.mesh_animal",
    ),
    (
        "mesh_docking",
        facts(mesh=("Molecular Docking Simulation",)),
        "in_silico",
        (),
        "population.mesh_in_silico",
    ),
    (
        "in_silico_with_animals_is_animal",
        facts(mesh=("Computer Simulation", "Animals", "Rats")),
        "animal",
        ("Rats",),
        "population.mesh_animal",
    ),
    (
        "in_vitro_beats_in_silico",
        facts(mesh=("Humans", "Cell Line", "Molecular Dynamics Simulation")),
        "in_vitro",
        (),
        "population.mesh_in_vitro",
    ),
    (
        "in_silico_with_clinical_pt",
        facts(pt=("Clinical Trial",), mesh=("Humans", "Computer Simulation")),
        "human",
        (),
        "population.mesh_humans",
    ),
    (
        "humans_tag_with_bench_words",
        facts(abstract="Silencing was effective in vitro and in vivo.", mesh=HUMANS),
        "in_vitro",
        (),
        "population.text_in_vitro",
    ),
    (
        "humans_in_vitro_fertilization",
        facts(abstract="Women undergoing in vitro fertilization.", mesh=HUMANS),
        "human",
        (),
        "population.mesh_humans",
    ),
    (
        "humans_bench_words_with_design_mesh",
        facts(
            abstract="Samples were assayed in vitro.", mesh=("Humans", "Cross-Sectional Studies")
        ),
        "human",
        (),
        "population.mesh_humans",
    ),
    (
        "text_cell_lines",
        facts(abstract="Two cancer cell lines."),
        "in_vitro",
        (),
        "population.text_in_vitro",
    ),
    (
        "text_molecular_docking",
        facts(abstract="Molecular docking of mitragynine."),
        "in_silico",
        (),
        "population.text_in_silico",
    ),
    (
        "text_mice",
        facts(abstract="Mice and rats were dosed."),
        "animal",
        ("mice", "rats"),
        "population.text_animal",
    ),
    (
        "text_macaques",
        facts(abstract="Captive rhesus macaques."),
        "animal",
        ("macaques",),
        "population.text_animal",
    ),
    (
        "text_animal_words_with_patients",
        facts(abstract="Mice, and then patients, were treated."),
        "human",
        (),
        "population.text_human",
    ),
    (
        "text_participants",
        facts(abstract="Participants drank tea."),
        "human",
        (),
        "population.text_human",
    ),
    (
        "text_postmortem",
        facts(abstract="Postmortem blood of kratom decedents was analysed."),
        "human",
        (),
        "population.text_human",
    ),
    (
        "text_bench_words_with_clinical_pt",
        facts(abstract="Patients' cells were tested in vitro.", pt=("Clinical Trial",)),
        "human",
        (),
        "population.text_human",
    ),
    ("unknown", facts("Kratom", "A tree."), "unknown", (), "population.unknown"),
    # Indexing beats words: MeSH Humans is not overruled by "mice" in the abstract.
    (
        "mesh_beats_text",
        facts(abstract="Unlike mice, ...", mesh=HUMANS),
        "human",
        (),
        "population.mesh_humans",
    ),
]


@pytest.mark.parametrize(
    ("study", "population", "species", "code"),
    [pytest.param(f, p, s, c, id=i) for i, f, p, s, c in POPULATION_CASES],
)
def test_population(
    study: StudyFacts, population: str, species: tuple[str, ...], code: str
) -> None:
    appraisal = appraise(study)
    assert (appraisal.population, appraisal.species) == (population, species)
    assert codes(appraisal, "population") == [code]


# --------------------------------------------------------------------------- sample size

SIZE_CASES = [
    ("comma_thousands", "We enrolled 1,234 patients.", 1234, ["n.regex"]),
    ("n_equals", "Kratom users (n = 45) were asked.", 45, ["n.regex"]),
    ("a_total_of", "A total of 250 were randomized.", 250, ["n.regex"]),
    ("decedents", "Postmortem reports of 35 decedents (n = 27 with toxicity).", 35, ["n.regex"]),
    (
        "max_of_several",
        "Kratom (n=30) or placebo (n = 23); 120 participants screened.",
        120,
        ["n.regex"],
    ),
    ("adjective_noun", "We studied 88 consecutive patients.", 88, ["n.regex"]),
    ("year_rejected", "Participants recruited 2019 were analysed.", None, ["n.none", "n.rejected"]),
    ("year_with_noun_kept", "Of 2019 patients, most improved.", 2019, ["n.regex"]),
    ("over_max_rejected", "Registry of users (n = 12,000,000).", None, ["n.none", "n.rejected"]),
    (
        "over_max_and_real",
        "Of users (n = 20,000,000), 300 participants answered.",
        300,
        ["n.regex", "n.rejected"],
    ),
    ("zero_rejected", "Adverse events (n = 0) in adults.", None, ["n.none", "n.rejected"]),
    (
        "background_section_skipped",
        "BACKGROUND: About 600,000 children live on streets.\n\n"
        "RESULTS: A total of 85 youths took part.",
        85,
        ["n.regex"],
    ),
    ("none", "Patients were satisfied.", None, ["n.none"]),
]


@pytest.mark.parametrize(
    ("abstract", "n", "expected"),
    [pytest.param(a, n, c, id=i) for i, a, n, c in SIZE_CASES],
)
def test_sample_size(abstract: str, n: int | None, expected: list[str]) -> None:
    appraisal = appraise(facts(abstract=abstract, mesh=HUMANS))
    assert appraisal.sample_size == n
    assert codes(appraisal, "sample_size") == expected


def test_rejected_year_is_named() -> None:
    appraisal = appraise(facts(abstract="Participants recruited 2019 were analysed.", mesh=HUMANS))
    (rejected,) = [r for r in appraisal.reasons if r.code == "n.rejected"]
    assert "recruited 2019" in rejected.why and "year" in rejected.why


@pytest.mark.parametrize(
    ("mesh", "n"),
    [
        pytest.param(MOUSE, None, id="animal"),
        pytest.param(("Cells, Cultured",), None, id="in_vitro"),
        pytest.param(("Humans", "Animals"), 40, id="mixed_counts"),
    ],
)
def test_sample_size_human_and_mixed_only(mesh: tuple[str, ...], n: int | None) -> None:
    appraisal = appraise(facts(abstract="We studied 40 patients and 12 mice (n = 12).", mesh=mesh))
    assert appraisal.sample_size == n
    assert codes(appraisal, "sample_size") == (["n.regex"] if n else ["n.not_human"])


# --------------------------------------------------------------------------- risk of bias

ROB_CASES = [
    ("open_label", facts(abstract="An open-label trial."), "open_label", "rob.open_label"),
    (
        "self_report_text",
        facts(abstract="Self-reported kratom use."),
        "self_report",
        "rob.self_report",
    ),
    ("self_report_mesh", facts(mesh=("Humans", "Self Report")), "self_report", "rob.self_report"),
    (
        "online_survey_text",
        facts(abstract="An online survey."),
        "online_survey",
        "rob.online_survey",
    ),
    (
        "online_survey_mesh",
        facts(abstract="Recruited on web-based forums.", mesh=("Surveys and Questionnaires",)),
        "online_survey",
        "rob.online_survey",
    ),
    (
        "retrospective_mesh",
        facts(mesh=("Retrospective Studies",)),
        "retrospective",
        "rob.retrospective",
    ),
    (
        "retrospective_text",
        facts(abstract="Charts were reviewed retrospectively."),
        "retrospective",
        "rob.retrospective",
    ),
    ("pilot_text", facts(abstract="A pilot study."), "pilot", "rob.pilot"),
    ("pilot_mesh", facts(mesh=("Pilot Projects",)), "pilot", "rob.pilot"),
    (
        "no_control_group",
        facts(abstract="There was no control group."),
        "no_control_group",
        "rob.no_control_group",
    ),
    (
        "single_arm",
        facts(abstract="A single-arm study."),
        "no_control_group",
        "rob.no_control_group",
    ),
    (
        "convenience_sample",
        facts(abstract="A convenience sample of users."),
        "convenience_sample",
        "rob.convenience_sample",
    ),
    (
        "snowball_sampling",
        facts(abstract="Snowball sampling was used."),
        "convenience_sample",
        "rob.convenience_sample",
    ),
    (
        "concern_forces_flag",
        facts(corrections=(("ExpressionOfConcernIn", 789),)),
        "concern",
        "rob.concern",
    ),
]


@pytest.mark.parametrize(
    ("study", "flag", "code"),
    [pytest.param(f, fl, c, id=i) for i, f, fl, c in ROB_CASES],
)
def test_rob_flag(study: StudyFacts, flag: str, code: str) -> None:
    appraisal = appraise(study)
    assert flag in appraisal.rob_flags
    assert code in codes(appraisal, "risk_of_bias")


def test_rob_flags_sorted_with_reasons_in_flag_order() -> None:
    appraisal = appraise(
        facts(abstract="A retrospective, open-label pilot study using an online survey.")
    )
    assert appraisal.rob_flags == ("online_survey", "open_label", "pilot", "retrospective")
    assert codes(appraisal, "risk_of_bias") == [f"rob.{f}" for f in appraisal.rob_flags]


def test_no_rob_flags() -> None:
    appraisal = appraise(facts(abstract="A double-blind trial."))
    assert appraisal.rob_flags == ()
    assert codes(appraisal, "risk_of_bias") == ["rob.none"]


# --------------------------------------------------------------------------- status

STATUS_CASES = [
    ("ok", facts(), "ok", "status.ok"),
    (
        "pt_retracted",
        facts(pt=("Journal Article", "Retracted Publication")),
        "retracted",
        "status.pt_retracted",
    ),
    (
        "title_retracted_colon",
        facts("Retracted: Kratom cures all"),
        "retracted",
        "status.title_retracted",
    ),
    (
        "title_retracted_bracket",
        facts("[Retracted] Kratom cures all"),
        "retracted",
        "status.title_retracted",
    ),
    (
        "title_retracted_upper",
        facts("RETRACTED: Kratom cures all"),
        "retracted",
        "status.title_retracted",
    ),
    (
        "retraction_in",
        facts(corrections=(("RetractionIn", 123456),)),
        "retracted",
        "status.retraction_in",
    ),
    (
        "retraction_notice",
        facts(notices=(("RetractionOf", 654321),)),
        "retracted",
        "status.retraction_notice",
    ),
    (
        "retracted_beats_concern_and_erratum",
        facts(corrections=(("ExpressionOfConcernIn", 1), ("ErratumIn", 2), ("RetractionIn", 3))),
        "retracted",
        "status.retraction_in",
    ),
    (
        "pt_retraction_notice",
        facts(pt=("Retraction of Publication",)),
        "non_evidence",
        "status.pt_notice",
    ),
    ("pt_erratum", facts(pt=("Published Erratum",)), "non_evidence", "status.pt_notice"),
    (
        "pt_expression_of_concern",
        facts(pt=("Expression of Concern",)),
        "non_evidence",
        "status.pt_notice",
    ),
    (
        "comment_only",
        facts(pt=("Journal Article", "Comment")),
        "non_evidence",
        "status.comment_only",
    ),
    (
        "comment_with_funding",
        facts(pt=("Letter", "Comment", "Research Support, Non-U.S. Gov't")),
        "non_evidence",
        "status.comment_only",
    ),
    (
        "comment_with_design_cue",
        facts(abstract="We describe a 30-year-old woman.", pt=("Letter", "Comment")),
        "ok",
        "status.ok",
    ),
    ("editorial_comment", facts(pt=("Editorial", "Comment")), "ok", "status.ok"),
    (
        "concern_in",
        facts(corrections=(("ExpressionOfConcernIn", 789),)),
        "concern",
        "status.concern_in",
    ),
    (
        "concern_notice",
        facts(notices=(("ExpressionOfConcernFor", 790),)),
        "concern",
        "status.concern_notice",
    ),
    ("erratum_in", facts(corrections=(("ErratumIn", 456),)), "corrected", "status.erratum_in"),
    (
        "erratum_in_without_pmid",
        facts(corrections=(("ErratumIn", None),)),
        "corrected",
        "status.erratum_in",
    ),
    ("erratum_notice", facts(notices=(("ErratumFor", 457),)), "corrected", "status.erratum_notice"),
    (
        "partial_retraction",
        facts(corrections=(("PartialRetractionIn", 9),)),
        "corrected",
        "status.erratum_in",
    ),
    ("comment_in_is_ok", facts(corrections=(("CommentIn", 11), ("Cites", 12))), "ok", "status.ok"),
]


@pytest.mark.parametrize(
    ("study", "status", "code"),
    [pytest.param(f, s, c, id=i) for i, f, s, c in STATUS_CASES],
)
def test_status(study: StudyFacts, status: str, code: str) -> None:
    appraisal = appraise(study)
    assert appraisal.status == status
    assert code in codes(appraisal, "status")


@pytest.mark.parametrize(
    ("study", "why"),
    [
        pytest.param(
            facts(corrections=(("RetractionIn", 123456),)), "RetractionIn 123456", id="in"
        ),
        pytest.param(
            facts(notices=(("RetractionOf", 654321),)),
            "retraction notice 654321 (RetractionOf)",
            id="notice",
        ),
        pytest.param(
            facts(corrections=(("ErratumIn", None),)), "ErratumIn (no PMID)", id="no_pmid"
        ),
    ],
)
def test_status_reason_names_the_evidence(study: StudyFacts, why: str) -> None:
    (reason,) = [r for r in appraise(study).reasons if r.domain == "status"]
    assert why in reason.why


def test_every_retraction_cue_is_a_reason() -> None:
    appraisal = appraise(
        facts(
            "Retracted: Kratom",
            pt=("Retracted Publication",),
            corrections=(("RetractionIn", 1),),
            notices=(("RetractionOf", 1),),
        )
    )
    assert codes(appraisal, "status") == [
        "status.pt_retracted",
        "status.title_retracted",
        "status.retraction_in",
        "status.retraction_notice",
    ]


# --------------------------------------------------------------------------- CEBM and letter

RCT = ("Randomized Controlled Trial",)
LETTER_CASES = [
    (
        "a_large_clean_rct",
        facts(abstract="A total of 408 patients.", pt=RCT, mesh=HUMANS),
        "A",
        2,
        "letter.a",
    ),
    (
        "a_large_clean_sr",
        facts(abstract="Trials of 5,000 participants.", pt=("Meta-Analysis",), mesh=HUMANS),
        "A",
        1,
        "letter.a",
    ),
    (
        "b_small_rct",
        facts(abstract="Adults (n = 30).", pt=RCT, mesh=HUMANS),
        "B",
        2,
        "letter.b_rct_sr_ma",
    ),
    (
        "b_flagged_rct",
        facts(abstract="An open-label trial in 400 patients.", pt=RCT, mesh=HUMANS),
        "B",
        2,
        "letter.b_rct_sr_ma",
    ),
    ("b_sr_without_n", facts(pt=("Systematic Review",), mesh=HUMANS), "B", 1, "letter.b_rct_sr_ma"),
    (
        "b_rct_population_unknown",
        facts("Kratom: a randomized controlled trial", rct_prob=None),
        "B",
        2,
        "letter.b_rct_sr_ma",
    ),
    (
        "b_large_cohort",
        facts(abstract="We followed 500 adults.", mesh=("Humans", "Cohort Studies")),
        "B",
        3,
        "letter.b_cohort",
    ),
    (
        "c_small_cohort",
        facts(abstract="We followed 50 adults.", mesh=("Humans", "Cohort Studies")),
        "C",
        3,
        "letter.c",
    ),
    ("c_nrct", facts(pt=("Clinical Trial",), mesh=HUMANS), "C", 3, "letter.c"),
    (
        "c_cross_sectional",
        facts(abstract="1,000 respondents.", mesh=("Humans", "Cross-Sectional Studies")),
        "C",
        4,
        "letter.c",
    ),
    ("c_case_report", facts(pt=("Case Reports",), mesh=HUMANS), "C", 4, "letter.c"),
    ("d_preclinical", facts(mesh=MOUSE), "D", 5, "letter.d_design"),
    ("d_narrative", facts(pt=("Review",), mesh=HUMANS), "D", 5, "letter.d_design"),
    ("d_unclassified", facts(mesh=HUMANS), "D", 5, "letter.d_design"),
    (
        "d_sr_of_animal_studies",
        facts(pt=("Systematic Review",), mesh=MOUSE),
        "D",
        1,
        "letter.d_population",
    ),
]


@pytest.mark.parametrize(
    ("study", "letter", "cebm", "code"),
    [pytest.param(f, le, c, co, id=i) for i, f, le, c, co in LETTER_CASES],
)
def test_cebm_and_letter(study: StudyFacts, letter: str, cebm: int, code: str) -> None:
    appraisal = appraise(study)
    assert (appraisal.letter, appraisal.cebm_level) == (letter, cebm)
    assert codes(appraisal, "letter") == [code]


@pytest.mark.parametrize(
    ("args", "letter"),
    [
        pytest.param(("rct", "human", 100, ()), "A", id="boundary_100"),
        pytest.param(("rct", "human", 99, ()), "B", id="boundary_99"),
        pytest.param(("sr_ma", "mixed", 100, ()), "A", id="mixed_counts_as_human"),
        pytest.param(("rct", "human", 500, ["concern"]), "B", id="flags"),
        pytest.param(("cohort", "human", 100, ()), "B", id="cohort_100"),
        pytest.param(("cohort", "human", None, ()), "C", id="cohort_unknown_n"),
        pytest.param(("nrct", "human", 10_000, ()), "C", id="nrct"),
        pytest.param(("rct", "in_vitro", 500, ()), "D", id="rct_in_vitro"),
        pytest.param(("narrative", "human", 500, ()), "D", id="narrative"),
    ],
)
def test_letter_for(args: tuple[str, str, int | None, tuple[str, ...]], letter: str) -> None:
    assert letter_for(*args) == letter


def test_letter_matches_letter_for() -> None:
    for _, study, *_ in LETTER_CASES:
        a = appraise(study)
        assert a.letter == letter_for(a.design, a.population, a.sample_size, a.rob_flags)


# --------------------------------------------------------------------------- the whole appraisal

ALL_FACTS = [
    case[1]
    for table in (DESIGN_CASES, POPULATION_CASES, ROB_CASES, STATUS_CASES, LETTER_CASES)
    for case in table
]


def check_vocabulary(appraisal: Appraisal) -> None:
    assert appraisal.design in DESIGNS
    assert appraisal.population in POPULATIONS
    assert appraisal.status in STATUSES
    assert appraisal.letter in LETTERS
    assert appraisal.cebm_level == CEBM_LEVEL[appraisal.design]
    assert set(appraisal.rob_flags) <= set(ROB_FLAGS)
    assert list(appraisal.rob_flags) == sorted(set(appraisal.rob_flags))
    assert list(appraisal.species) == sorted(set(appraisal.species))
    assert appraisal.species == () or appraisal.population in ("animal", "mixed")
    assert appraisal.sample_size is None or 1 <= appraisal.sample_size <= 10_000_000
    # Every classification has a reason, in the fixed domain order, and none changes certainty.
    domains = [r.domain for r in appraisal.reasons]
    assert sorted(set(domains), key=DOMAINS.index) == list(DOMAINS)
    assert domains == sorted(domains, key=DOMAINS.index)
    assert all(r.delta == 0 and r.code.strip() and r.why.strip() for r in appraisal.reasons)


@pytest.mark.parametrize("study", ALL_FACTS)
def test_outputs_within_vocabularies(study: StudyFacts) -> None:
    check_vocabulary(appraise(study))


def test_deterministic() -> None:
    for study in ALL_FACTS:
        # A fresh but equal StudyFacts: nothing depends on identity or earlier calls.
        copy = StudyFacts(**{k: getattr(study, k) for k in study.__dataclass_fields__})
        assert appraise(study) == appraise(copy) == appraise(study)


PUBLICATION_TYPES = [
    "Journal Article",
    "Review",
    "Letter",
    "Comment",
    "Editorial",
    "Systematic Review",
    "Randomized Controlled Trial",
    "Clinical Trial",
    "Observational Study",
    "Case Reports",
    "Published Erratum",
    "Retracted Publication",
]
MESH_TERMS = [
    "Humans",
    "Animals",
    "Mice",
    "Rats",
    "Cell Line",
    "Computer Simulation",
    "Cohort Studies",
    "Retrospective Studies",
    "Surveys and Questionnaires",
    "Self Report",
]
PHRASES = [
    "randomized controlled trial",
    "open-label",
    "a total of 2019",
    "n = 1,500",
    "120 patients",
    "mice",
    "in vitro",
    "online survey",
    "we report a case",
    "this review",
    "RETRACTED: ",
    "cohort study",
]


@settings(max_examples=300, deadline=None)
@given(
    pt=st.lists(st.sampled_from(PUBLICATION_TYPES), max_size=4),
    mesh=st.lists(st.sampled_from(MESH_TERMS), max_size=5),
    phrases=st.lists(st.sampled_from(PHRASES), max_size=5),
    corrections=st.lists(
        st.tuples(
            st.sampled_from(["RetractionIn", "ErratumIn", "ExpressionOfConcernIn", "CommentIn"]),
            st.none() | st.integers(1, 99_999_999),
        ),
        max_size=2,
    ),
    rct_prob=st.none() | st.floats(0, 1),
)
def test_any_facts_give_a_valid_deterministic_appraisal(
    pt: list[str],
    mesh: list[str],
    phrases: list[str],
    corrections: list[tuple[str, int | None]],
    rct_prob: float | None,
) -> None:
    study = StudyFacts(
        pmid=7,
        title=" ".join(phrases[:1]),
        abstract=". ".join(phrases[1:]),
        publication_types=tuple(pt),
        mesh=tuple(mesh),
        corrections=tuple(corrections),
        rct_prob=rct_prob,
    )
    appraisal = appraise(study)
    check_vocabulary(appraisal)
    assert appraise(study) == appraisal
    assert appraisal.pmid == 7


# --------------------------------------------------------------------------- facts_from_record


def test_facts_from_record() -> None:
    records = {r.pmid: r for r in iter_records(ARTICLESET) if isinstance(r, ParsedArticle)}
    study = facts_from_record(records[90000005])
    assert study.pmid == 90000005
    assert study.title == records[90000005].title and study.abstract == records[90000005].abstract
    assert study.publication_types == ("Journal Article", "Retracted Publication")
    assert study.corrections == (
        ("ExpressionOfConcernIn", 90000101),
        ("RetractionIn", 90000102),
        ("ErratumIn", None),
    )
    assert study.notices == () and study.rct_prob is None
    assert appraise(study).status == "retracted"

    rct = facts_from_record(records[90000001])
    assert rct.mesh[:2] == ("Adult", "Pain Management")
    assert appraise(rct).design == "rct"


def _cues() -> list[tuple[str, Any]]:
    from evidence.grading import appraisal

    found: list[tuple[str, Any]] = []
    for name, value in vars(appraisal).items():
        items = value if isinstance(value, tuple) else (value,)
        found += [(name, c) for c in items if isinstance(c, appraisal._Cue) and c.needs]
    return found


@pytest.mark.parametrize(("name", "cue"), _cues(), ids=[n for n, _ in _cues()])
def test_every_cue_match_contains_one_of_its_prefilter_words(name: str, cue: Any) -> None:
    # A cue skips the regex unless the record contains one of its pre-filter words (a speed-up):
    # a match without any of them would be a case the rule means to catch and never sees.
    @settings(max_examples=100, derandomize=True, deadline=None)
    @given(st.from_regex(cue.pattern))
    def check(text: str) -> None:
        match = cue.pattern.search(text)
        assert match is not None
        assert any(word in match.group(0).lower() for word in cue.needs), match.group(0)

    check()
