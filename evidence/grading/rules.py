"""The grading rules' vocabulary and constants, in one versioned place.

Every stored appraisal and claim assessment carries `GRADING_VERSION`: change any constant or
rule in `evidence.appraisal` / `evidence.certainty` and bump it, so that the change is visible
in the data (grading recomputes everything graded under another version).

The rules follow `reference/grading.md` (GRADE, Oxford CEBM 2011, SORT, the Haynes hedges).
The animal -1 / in vitro -2 indirectness and the "moderate" start for mechanistic claims are
this project's conventions, not official GRADE.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from evidence import vocab

GRADING_VERSION = "2026.12.2"
# 2026.12.2: reports of a harm in people (surveys too) are judged on replication, not size, for
# a claim that the harm occurs; "retrospective" is inherent to surveys and case-control studies.
# 2026.12.1: claims weighed by type (safety scope; mechanistic ranking of experiments; surveys'
# inherent limits), verdicts need two agreeing studies, a summary sentence per verdict.
# 2026.11.2: letters about one patient are case reports.

# --- study appraisal -------------------------------------------------------------------------

#: Design tiers, best first. The position is the tier used to rank designs (sr_ma = 1).
DESIGNS = vocab.DESIGNS
TIER = {design: i + 1 for i, design in enumerate(DESIGNS)}

#: Oxford CEBM 2011 level ("treatment benefits" question) of each design.
CEBM_LEVEL = {
    "sr_ma": 1,
    "rct": 2,
    "nrct": 3,
    "cohort": 3,
    "case_control_cross_sectional": 4,
    "case_report_series": 4,
    "preclinical_experiment": 5,
    "narrative": 5,
    "unclassified": 5,
}

POPULATIONS = ("human", "animal", "in_vitro", "in_silico", "mixed", "unknown")

#: ok: counts; corrected: an erratum was published (still counts, noted); concern: an
#: expression of concern (counts, forces the risk-of-bias flag); retracted: never counts;
#: non_evidence: the record is itself a notice (erratum, retraction notice, comment).
STATUSES = ("ok", "corrected", "concern", "retracted", "non_evidence")
EXCLUDED_STATUSES = frozenset({"retracted", "non_evidence"})

ROB_FLAGS = (
    "open_label",
    "self_report",
    "online_survey",
    "retrospective",
    "pilot",
    "no_control_group",
    "convenience_sample",
    "concern",
)

LETTERS = ("A", "B", "C", "D")

#: Sample sizes above this are not study sizes (they are registries, money, counts of pills).
MAX_SAMPLE_SIZE = 10_000_000
#: A bare number in this range after "enrolled" / "a total of" is taken for a year.
YEAR_LIKE = range(1900, 2101)
#: A classifier's RCT probability at or above this counts as an RCT: the balanced cut of a
#: calibrated probability (a classifier's raw score must be calibrated before it is stored).
RCT_PROB_THRESHOLD = 0.5
#: Letter A needs at least this many participants (grading.md 2a; also cohort -> B).
LETTER_MIN_N = 100

# Publication types (NLM names) and MeSH descriptors that the appraisal rules read.
SR_MA_PUBLICATION_TYPES = frozenset({"Meta-Analysis", "Network Meta-Analysis", "Systematic Review"})
RCT_PUBLICATION_TYPES = frozenset(
    {
        "Randomized Controlled Trial",
        "Equivalence Trial",
        "Pragmatic Clinical Trial",
        "Adaptive Clinical Trial",
    }
)
NRCT_PUBLICATION_TYPES = frozenset(
    {
        "Controlled Clinical Trial",
        "Clinical Trial",
        "Clinical Trial, Phase I",
        "Clinical Trial, Phase II",
        "Clinical Trial, Phase III",
        "Clinical Trial, Phase IV",
        "Clinical Study",
    }
)
OBSERVATIONAL_PUBLICATION_TYPES = frozenset(
    {"Observational Study", "Comparative Study", "Twin Study"}
)
CASE_REPORT_PUBLICATION_TYPES = frozenset({"Case Reports"})
#: Publication types that say humans were studied: in-vitro / in-silico MeSH then do not make
#: the population non-human (human cell-line work is tagged Humans too).
CLINICAL_PUBLICATION_TYPES = (
    SR_MA_PUBLICATION_TYPES
    | RCT_PUBLICATION_TYPES
    | NRCT_PUBLICATION_TYPES
    | frozenset({"Observational Study", "Case Reports"})
)
#: A primary-study publication type outranks a narrative one ("Case Reports" + "Letter").
PRIMARY_DESIGN_PUBLICATION_TYPES = (
    RCT_PUBLICATION_TYPES
    | NRCT_PUBLICATION_TYPES
    | OBSERVATIONAL_PUBLICATION_TYPES
    | CASE_REPORT_PUBLICATION_TYPES
)
#: Not primary evidence: shown as context. grading.md's list plus NLM's other non-research
#: types (a trial protocol has no results yet).
NARRATIVE_PUBLICATION_TYPES = frozenset(
    {
        "Review",
        "Scoping Review",
        "Editorial",
        "Letter",
        "Comment",
        "News",
        "Newspaper Article",
        "Practice Guideline",
        "Guideline",
        "Consensus Statement",
        "Consensus Development Conference",
        "Consensus Development Conference, NIH",
        "Historical Article",
        "Biography",
        "Autobiography",
        "Personal Narrative",
        "Interview",
        "Lecture",
        "Address",
        "Introductory Journal Article",
        "Clinical Trial Protocol",
    }
)
RETRACTED_PUBLICATION_TYPE = "Retracted Publication"
#: The record is itself a notice about another record.
NOTICE_PUBLICATION_TYPES = frozenset(
    {"Retraction of Publication", "Published Erratum", "Expression of Concern"}
)
COMMENT_PUBLICATION_TYPE = "Comment"
#: A "Comment" with only these besides funding types is a comment, not evidence.
COMMENT_COMPANION_TYPES = frozenset({"Journal Article", "Letter", "Comment"})
FUNDING_PUBLICATION_TYPE_PREFIX = "Research Support"

# CommentsCorrections RefTypes: on the record itself (...In) and on notices about it (...Of/For).
RETRACTION_IN = frozenset({"RetractionIn"})
RETRACTION_NOTICES = frozenset({"RetractionOf"})
CONCERN_IN = frozenset({"ExpressionOfConcernIn"})
CONCERN_NOTICES = frozenset({"ExpressionOfConcernFor"})
#: A partial retraction corrects part of a paper: it still counts, noted like an erratum.
ERRATUM_IN = frozenset({"ErratumIn", "PartialRetractionIn"})
ERRATUM_NOTICES = frozenset({"ErratumFor", "PartialRetractionOf"})

COHORT_MESH = frozenset(
    {"Cohort Studies", "Prospective Studies", "Longitudinal Studies", "Follow-Up Studies"}
)
#: The analysis samples on the outcome or at one time: outranks cohort MeSH (a case-control
#: study nested in a cohort is tagged with both).
CASE_CONTROL_CROSS_SECTIONAL_MESH = frozenset({"Case-Control Studies", "Cross-Sectional Studies"})
#: Weaker 4b cues, checked after cohort MeSH (a prospective cohort often has questionnaires).
SURVEY_RETROSPECTIVE_MESH = frozenset({"Surveys and Questionnaires", "Retrospective Studies"})
HUMAN_DESIGN_MESH = COHORT_MESH | CASE_CONTROL_CROSS_SECTIONAL_MESH | SURVEY_RETROSPECTIVE_MESH

IN_SILICO_MESH = frozenset(
    {
        "Computer Simulation",
        "Molecular Docking Simulation",
        "Molecular Dynamics Simulation",
        "Models, Molecular",
        "Quantitative Structure-Activity Relationship",
    }
)
IN_VITRO_MESH = frozenset(
    {
        "In Vitro Techniques",
        "Cells, Cultured",
        "Cell Line",
        "Cell Line, Tumor",
        "Primary Cell Culture",
        "HEK293 Cells",
        "CHO Cells",
        "HeLa Cells",
        "Hep G2 Cells",
        "MCF-7 Cells",
        "Caco-2 Cells",
        "A549 Cells",
        "HCT116 Cells",
        "THP-1 Cells",
        "Jurkat Cells",
        "Vero Cells",
        "Radioligand Assay",
    }
)
#: MeSH check tags (Humans / Animals) as indexers use them.
HUMANS_MESH = "Humans"
ANIMALS_MESH = "Animals"
#: Laboratory animals (and the animal-model descriptor): with Humans + Animals and no human
#: study design, the Humans tag comes from human cells or samples used in an animal experiment.
LABORATORY_ANIMAL_MESH = frozenset(
    {
        "Disease Models, Animal",
        "Mice",
        "Mice, Inbred C57BL",
        "Mice, Inbred BALB C",
        "Mice, Knockout",
        "Mice, Transgenic",
        "Mice, Nude",
        "Mice, SCID",
        "Rats",
        "Rats, Sprague-Dawley",
        "Rats, Wistar",
        "Zebrafish",
        "Xenopus laevis",
        "Drosophila melanogaster",
        "Caenorhabditis elegans",
        "Guinea Pigs",
        "Rabbits",
        "Cricetinae",
        "Mesocricetus",
        "Macaca mulatta",
        "Macaca fascicularis",
    }
)
#: Species descriptors reported in `Appraisal.species`.
SPECIES_MESH = (LABORATORY_ANIMAL_MESH - {"Disease Models, Animal"}) | frozenset(
    {
        "Macaca",
        "Primates",
        "Callithrix",
        "Chlorocebus aethiops",
        "Dogs",
        "Cats",
        "Swine",
        "Swine, Miniature",
        "Sheep",
        "Goats",
        "Cattle",
        "Horses",
        "Chickens",
        "Ferrets",
        "Gerbillinae",
        "Xenopus",
        "Fishes",
    }
)
SELF_REPORT_MESH = "Self Report"
SURVEY_MESH = "Surveys and Questionnaires"
RETROSPECTIVE_MESH = "Retrospective Studies"
PILOT_MESH = "Pilot Projects"

# --- claim assessment ------------------------------------------------------------------------

#: How a claim is judged. Definitional claims ("kratom is related to coffee") are matters of
#: record, judged on the agreement of sources; GRADE certainty does not apply to them.
SCOPES = ("clinical", "safety", "mechanistic", "prevalence", "definitional")

#: The default scope of each catalog claim type (a curator's `scope` flag overrides it).
SCOPE_OF_TYPE = {
    "mechanistic": "mechanistic",
    "clinical": "clinical",
    "safety": "safety",
    "comparative": "clinical",
    "prevalence": "prevalence",
    "definitional": "definitional",
    "botanical": "definitional",
}
DEFAULT_SCOPE = "clinical"

#: Curator flags on a claim and the values each accepts.
CLAIM_FLAGS: dict[str, tuple[Any, ...]] = {
    "scope": SCOPES,
    "asserts_safety": (True, False),
    "intervention_mismatch": (True, False),
    "publication_bias": (True, False),
    "large_effect": (0, 1, 2),
    "dose_response": (True, False),
}

CERTAINTY_NAMES: dict[int, vocab.Certainty] = {4: "high", 3: "moderate", 2: "low", 1: "very_low"}
CERTAINTIES = vocab.CERTAINTIES
VERDICTS = vocab.VERDICTS
LEANS = vocab.LEANS

#: Starting certainty (4 high .. 1 very low) of the deciding stratum's design.
START = {
    "rct": 4,
    "nrct": 2,
    "cohort": 2,
    "case_control_cross_sectional": 2,
    "case_report_series": 1,
    "unclassified": 1,
}
#: Harms questions (OCEBM 2011, "common/rare harms"): case series, poison-centre and
#: pharmacovigilance reports and death series are the main evidence for harms, so for a safety
#: claim they start low rather than very low.
START_BY_SCOPE = {"safety": {"case_report_series": 2}}
#: Designs that can show the ABSENCE of harm (a "safe" claim needs a comparison with follow-up);
#: case reports, surveys and experiments that find no harm are context for such a claim.
ABSENCE_OF_HARM_DESIGNS = frozenset({"sr_ma", "rct", "nrct", "cohort"})
#: A study that documents a harm (contradicting a claim that asserts safety) decides the claim
#: when it is human, direct and a primary study of one of these designs: one serious,
#: well-documented harm is enough to refute "safe".
DOCUMENTED_HARM_DESIGNS = frozenset(
    {"sr_ma", "rct", "nrct", "cohort", "case_control_cross_sectional", "case_report_series"}
)
#: A claim that a harm occurs ("X can cause Y", a safety claim that does not assert safety) asks
#: whether the harm happens, not how often: reports of it in people are judged on replication,
#: not on participant numbers, as for case series (GRADE imprecision concerns an effect
#: estimate, and the claim states none). A claim of safety still needs the numbers: an absence
#: of harm among few people shows little.
HARM_OCCURRENCE_DESIGNS = frozenset({"case_report_series", "case_control_cross_sectional"})
#: For a mechanistic claim, controlled experiments rank just after systematic reviews: a
#: receptor assay answers "does X bind Y" better than a survey of users does.
MECHANISTIC_TIER = {
    "sr_ma": 1,
    "preclinical_experiment": 2,
    "rct": 3,
    "nrct": 4,
    "cohort": 5,
    "case_control_cross_sectional": 6,
    "case_report_series": 7,
    "narrative": 8,
    "unclassified": 9,
}
#: Risk-of-bias cues that are what makes a study a survey: for a survey (cross-sectional) they
#: explain its low start and are not downgraded a second time. Looking back is one of them: a
#: survey asks about past use and a case-control study ascertains exposure after the outcome,
#: so "retrospective" describes the design, which already starts low.
SURVEY_INHERENT_FLAGS = frozenset(
    {"self_report", "online_survey", "convenience_sample", "retrospective"}
)
#: A survey stratum is imprecise only when it asks fewer respondents than this (a proportion
#: from 100 respondents has a 95% interval of about +-10 points).
SURVEY_IMPRECISION_BELOW = 100
#: A verdict other than "insufficient" needs this many independent agreeing studies (a
#: systematic review counts as several); one study is a signal, not a body of evidence.
MIN_AGREEING_STUDIES = 2
SR_START_POOLING_RCTS = 4
SR_START_OTHERWISE = 2
PRECLINICAL_START_MECHANISTIC = 3
PRECLINICAL_START_CLINICAL = 4  # then indirectness removes 1 (animal) or 2 (in vitro)

#: Inconsistency weights per design, halved per level of indirectness.
WEIGHT = {
    "sr_ma": 8.0,
    "rct": 4.0,
    "nrct": 2.0,
    "cohort": 2.0,
    "case_control_cross_sectional": 1.5,
    "case_report_series": 0.5,
    "preclinical_experiment": 1.0,
    "unclassified": 0.5,
}
INCONSISTENCY_NONE_BELOW = 0.15  # minority share m < 0.15: no downgrade
INCONSISTENCY_ONE_BELOW = 0.35  # 0.15 <= m < 0.35: -1; m >= 0.35: -2

IMPRECISION_SERIOUS_BELOW = 100  # total n of the deciding stratum < 100: -2
IMPRECISION_SOME_BELOW = 400  # < 400: -1 (a rough stand-in for GRADE's optimal information size)

PUBLICATION_BIAS_MIN_STUDIES = 3  # automatic "suspected": >= 3 supporting, all small, none against
PUBLICATION_BIAS_SMALL_N = 50

SUPPORTED_SHARE = 0.8  # support share s >= 0.8 (and certainty >= low): supported
CONTRADICTED_SHARE = 0.2  # s <= 0.2: contradicted
MIN_CERTAINTY_FOR_VERDICT = 2  # low

#: Where a link's stance came from (the stances themselves: `evidence.vocab.STANCES`).
STANCE_SOURCES = ("reviewer", "suggested")
BASES = ("reviewed", "suggested", "mixed", "none")
SORT_LABELS = ("A", "B", "C")

#: Scopes judged on human evidence (animal and in-vitro work is indirect; SORT A needs
#: "clinical").
HUMAN_SCOPES = ("clinical", "safety", "prevalence")
#: Indirectness levels (0 direct, 1, 2) of each population per GRADE scope (grading.md 2b
#: step 2). "mixed" (Humans and Animals both tagged) counts as human; "unknown" is treated as
#: direct and noted in the reasons.
_HUMAN_SCOPE_INDIRECTNESS = {
    "human": 0,
    "mixed": 0,
    "unknown": 0,
    "animal": 1,
    "in_vitro": 2,
    "in_silico": 2,
}
INDIRECTNESS = {
    "clinical": _HUMAN_SCOPE_INDIRECTNESS,
    "safety": _HUMAN_SCOPE_INDIRECTNESS,
    "prevalence": _HUMAN_SCOPE_INDIRECTNESS,
    "mechanistic": {
        "human": 0,
        "mixed": 0,
        "unknown": 0,
        "animal": 0,
        "in_vitro": 0,
        "in_silico": 1,
    },
}
INDIRECT_WEIGHT_FACTOR = 0.5  # inconsistency weight multiplier per level of indirectness
#: Populations whose sample sizes count toward N (appraisal records n for human studies only).
HUMAN_POPULATIONS = frozenset({"human", "mixed", "unknown"})

#: The appraisal reason code that marks a systematic review pooling randomised trials (its
#: abstract mentions randomi[sz]ed trials): such an SR starts High, any other SR Low.
SR_POOLS_RCTS_CODE = "design.sr_pools_rcts"

ROB_ALL_FLAGGED_MAX_START = 2  # all of D flagged and D starts at Low or below: -2 (else -1)
IMPRECISION_MAX_DOWNGRADE = 2  # the imprecision domain removes at most 2 levels
#: Non-randomised designs (start Low) that curator upgrades apply to; an SR that does not
#: pool randomised trials counts as observational too.
OBSERVATIONAL_DESIGNS = frozenset({"nrct", "cohort", "case_control_cross_sectional"})
#: Grading.md tiers 1-4 (4a cohort, 4b case-control/cross-sectional): a contested verdict
#: needs a supporting and a contradicting direct study of these designs (or direct
#: preclinical experiments).
COMPARATIVE_DESIGNS = frozenset({"sr_ma", "rct", "nrct", "cohort", "case_control_cross_sectional"})
CERTAINTY_MIN = 1
CERTAINTY_MAX = 4
SORT_A_MIN_CERTAINTY = 3  # moderate
SORT_A_POPULATIONS = frozenset({"human", "mixed"})
DEFINITIONAL_WEIGHT = 1.0  # every source counts once for a matter of record


@dataclass(frozen=True)
class Reason:
    """One machine-readable reason: which rule (`code`), its domain, its effect, and why.

    `delta` is the change in certainty levels (downgrades negative); 0 for facts that explain
    a classification (a design, a population, an exclusion).
    """

    domain: str
    code: str
    why: str
    delta: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def reasons_json(reasons: Iterable[Reason]) -> str:
    return json.dumps([r.as_dict() for r in reasons], ensure_ascii=False, sort_keys=True)


def reasons_from_json(raw: str | None) -> tuple[Reason, ...]:
    return tuple(Reason(**item) for item in json.loads(raw or "[]"))


#: Words by which a claim asserts safety ("X is safe", "well tolerated", "harmless") ...
_SAFETY_WORDS = re.compile(
    r"\b(safe|safely|harmless|non-?toxic|well[- ]tolerated|no (?:serious )?(?:side|adverse) "
    r"effects?|without (?:serious )?(?:side|adverse) effects?)\b",
    re.IGNORECASE,
)
#: ... unless the word is negated ("not safe", "unsafe" does not match the word at all).
_NEGATED = re.compile(r"\b(not|never|no longer|isn't|is not|aren't|are not)\s+(?:\w+\s+)?$", re.I)


def asserts_safety(statement: str) -> bool:
    """Whether a claim's statement asserts that something is safe.

    Such a claim is refuted by documented harm (one serious, well-documented case is enough)
    and is supported only by designs that can show the absence of harm. A claim that asserts a
    harm ("can cause insomnia") is the opposite kind: case reports support it.
    """
    for match in _SAFETY_WORDS.finditer(statement):
        if not _NEGATED.search(statement[: match.start()]):
            return True
    return False
