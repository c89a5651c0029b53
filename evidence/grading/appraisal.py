"""Study appraisal: a pure function of a record's stored metadata (`reference/grading.md` 2a).

Publication types and MeSH first; the title and abstract are the fallback (in-process and
publisher records have no MeSH yet). Every classification carries its reasons.

Where this departs from grading.md's "first match wins" lists, it is so that indexing beats
words: population MeSH decides when the record has any (the text only when it has none), and
design publication types and MeSH are all tried before any title/abstract cue. The other
departures are commented where they happen.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from evidence.grading.rules import (
    ANIMALS_MESH,
    CASE_CONTROL_CROSS_SECTIONAL_MESH,
    CASE_REPORT_PUBLICATION_TYPES,
    CEBM_LEVEL,
    CLINICAL_PUBLICATION_TYPES,
    COHORT_MESH,
    COMMENT_COMPANION_TYPES,
    COMMENT_PUBLICATION_TYPE,
    CONCERN_IN,
    CONCERN_NOTICES,
    ERRATUM_IN,
    ERRATUM_NOTICES,
    FUNDING_PUBLICATION_TYPE_PREFIX,
    HUMAN_DESIGN_MESH,
    HUMANS_MESH,
    IN_SILICO_MESH,
    IN_VITRO_MESH,
    LABORATORY_ANIMAL_MESH,
    LETTER_MIN_N,
    MAX_SAMPLE_SIZE,
    NARRATIVE_PUBLICATION_TYPES,
    NOTICE_PUBLICATION_TYPES,
    NRCT_PUBLICATION_TYPES,
    OBSERVATIONAL_PUBLICATION_TYPES,
    PILOT_MESH,
    PRIMARY_DESIGN_PUBLICATION_TYPES,
    RCT_PROB_THRESHOLD,
    RCT_PUBLICATION_TYPES,
    RETRACTED_PUBLICATION_TYPE,
    RETRACTION_IN,
    RETRACTION_NOTICES,
    RETROSPECTIVE_MESH,
    SELF_REPORT_MESH,
    SPECIES_MESH,
    SR_MA_PUBLICATION_TYPES,
    SR_POOLS_RCTS_CODE,
    SURVEY_MESH,
    SURVEY_RETROSPECTIVE_MESH,
    YEAR_LIKE,
    Reason,
)
from evidence.store.records import ParsedArticle
from evidence.vocab import Design

__all__ = ["Appraisal", "StudyFacts", "appraise", "facts_from_record", "letter_for"]


@dataclass(frozen=True)
class StudyFacts:
    """What appraisal reads about one record (everything from the database, nothing else).

    `corrections` are the record's own CommentsCorrections as (RefType, ref PMID), e.g.
    ("RetractionIn", 123), ("ErratumIn", 456), ("ExpressionOfConcernIn", 789).
    `notices` are other stored records that point at this one, as (RefType, notice PMID):
    ("RetractionOf", 123), ("ErratumFor", 456), ("ExpressionOfConcernFor", 789).
    """

    pmid: int
    title: str = ""
    abstract: str = ""
    publication_types: tuple[str, ...] = ()
    mesh: tuple[str, ...] = ()  # descriptor names, as stored (no "*")
    corrections: tuple[tuple[str, int | None], ...] = ()
    notices: tuple[tuple[str, int], ...] = ()
    rct_prob: float | None = None


@dataclass(frozen=True)
class Appraisal:
    pmid: int
    design: Design
    cebm_level: int  # 1..5
    population: str  # one of grading_rules.POPULATIONS
    species: tuple[str, ...]  # e.g. ("Mice",) for animal / mixed populations, else ()
    sample_size: int | None
    rob_flags: tuple[str, ...]  # sorted, from grading_rules.ROB_FLAGS
    status: str  # one of grading_rules.STATUSES
    letter: str  # A..D
    reasons: tuple[Reason, ...] = field(default=())


def facts_from_record(record: ParsedArticle) -> StudyFacts:
    """The facts of a parsed record (for tools and tests; storage builds them from rows).

    Every CommentsCorrections entry is kept (appraisal ignores the RefTypes it has no rule
    for); notices from other records are not known here.
    """
    return StudyFacts(
        pmid=record.pmid,
        title=record.title,
        abstract=record.abstract,
        publication_types=tuple(p.name for p in record.publication_types),
        mesh=tuple(m.descriptor for m in record.mesh_headings),
        corrections=tuple((c.ref_type, c.pmid) for c in record.comments_corrections),
    )


def appraise(facts: StudyFacts) -> Appraisal:
    """Design, population, sample size, risk-of-bias flags, status and letter, with reasons.

    Reasons come in a fixed order: status, population, design, sample size, risk of bias,
    letter.
    """
    record = _Record.of(facts)
    population, population_reason = _population(record)
    design, design_reasons = _design(record, population)
    status, status_reasons = _status(record, population)
    sample_size, size_reasons = _sample_size(record, population)
    rob_flags, rob_reasons = _risk_of_bias(record, status, status_reasons)
    letter, letter_reason = _letter(design, population, sample_size, rob_flags)
    return Appraisal(
        pmid=facts.pmid,
        design=design,
        cebm_level=CEBM_LEVEL[design],
        population=population,
        species=_species(record, population),
        sample_size=sample_size,
        rob_flags=rob_flags,
        status=status,
        letter=letter,
        reasons=(
            *status_reasons,
            population_reason,
            *design_reasons,
            *size_reasons,
            *rob_reasons,
            letter_reason,
        ),
    )


def letter_for(
    design: str, population: str, sample_size: int | None, rob_flags: Iterable[str]
) -> str:
    """The single-study display letter A-D (grading.md 2a), e.g. after a reviewer override."""
    return _letter(design, population, sample_size, tuple(rob_flags))[0]


# --------------------------------------------------------------------------- the record


@dataclass(frozen=True, slots=True)
class _Record:
    """The facts with what every rule needs precomputed once."""

    facts: StudyFacts
    title: str
    text: str  # title and abstract, matched case-insensitively
    lower: str  # the text in lower case, for the cues' substring tests
    pts: frozenset[str]
    mesh: frozenset[str]

    @classmethod
    def of(cls, facts: StudyFacts) -> _Record:
        text = f"{facts.title}\n{facts.abstract}"
        return cls(
            facts=facts,
            title=facts.title,
            text=text,
            lower=text.lower(),
            pts=frozenset(facts.publication_types),
            mesh=frozenset(facts.mesh),
        )

    def pt_in(self, names: frozenset[str]) -> list[str]:
        """The record's publication types in `names`, in record order (for reasons)."""
        return [p for p in self.facts.publication_types if p in names]

    def mesh_in(self, names: frozenset[str]) -> list[str]:
        return [m for m in self.facts.mesh if m in names]


def _pt_why(names: list[str]) -> str | None:
    if not names:
        return None
    return f"publication type{'s' if len(names) > 1 else ''} {', '.join(names)}"


def _mesh_why(names: list[str]) -> str | None:
    return f"MeSH {', '.join(names)}" if names else None


def _quote(match: re.Match[str]) -> str:
    return f"text '{match.group(0)}'"


def _text(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Cue:
    """A case-insensitive pattern, tried only when the record contains one of `needs`.

    Python's regex engine cannot skip ahead on a pattern that starts with a word boundary, so
    a search costs 15-50 µs per abstract; a substring test rules most records out in about
    1 µs. Every match of the pattern contains one of `needs` (lower case); none: always tried.
    """

    pattern: re.Pattern[str]
    needs: tuple[str, ...]

    def _possible(self, record: _Record) -> bool:
        return not self.needs or any(n in record.lower for n in self.needs)

    def search(self, record: _Record, text: str | None = None) -> re.Match[str] | None:
        """The first match in `text` (a part of the record's text; default: all of it)."""
        if not self._possible(record):
            return None
        return self.pattern.search(record.text if text is None else text)

    def finditer(self, record: _Record, text: str) -> Iterator[re.Match[str]]:
        return self.pattern.finditer(text) if self._possible(record) else iter(())


def _cue(pattern: str, *needs: str) -> _Cue:
    return _Cue(_text(pattern), needs)


# --------------------------------------------------------------------------- status

_RETRACTED_TITLE = _text(r"^\s*(?:\[retracted\]|retracted(?: article)?\s*:)")


def _status(record: _Record, population: str) -> tuple[str, tuple[Reason, ...]]:
    """ok / corrected / concern / retracted / non_evidence; retracted wins over everything."""
    for status, finder in (
        ("retracted", _retraction_reasons),
        ("non_evidence", _notice_reasons),
        ("concern", _concern_reasons),
        ("corrected", _erratum_reasons),
    ):
        reasons = tuple(finder(record, population))
        if reasons:
            return status, reasons
    return "ok", (Reason("status", "status.ok", "no retraction, notice, concern or erratum"),)


def _retraction_reasons(record: _Record, population: str) -> Iterable[Reason]:
    if RETRACTED_PUBLICATION_TYPE in record.pts:
        yield Reason(
            "status", "status.pt_retracted", f"publication type {RETRACTED_PUBLICATION_TYPE}"
        )
    title = _RETRACTED_TITLE.match(record.title)
    if title:
        yield Reason("status", "status.title_retracted", f"title starts '{title.group(0).strip()}'")
    for ref_type, pmid in record.facts.corrections:
        if ref_type in RETRACTION_IN:
            yield Reason("status", "status.retraction_in", f"{ref_type} {pmid or '(no PMID)'}")
    for ref_type, pmid in record.facts.notices:
        if ref_type in RETRACTION_NOTICES:
            yield Reason(
                "status", "status.retraction_notice", f"retraction notice {pmid} ({ref_type})"
            )


def _notice_reasons(record: _Record, population: str) -> Iterable[Reason]:
    why = _pt_why(record.pt_in(NOTICE_PUBLICATION_TYPES))
    if why:
        yield Reason("status", "status.pt_notice", f"{why}: the record is a notice")
    elif _comment_only(record) and _design_cue(record, population) is None:
        yield Reason(
            "status",
            "status.comment_only",
            "publication type Comment with no design publication type, MeSH or text cue",
        )


def _comment_only(record: _Record) -> bool:
    if COMMENT_PUBLICATION_TYPE not in record.pts:
        return False
    # Funding types say who paid, not what the record is.
    return all(
        p in COMMENT_COMPANION_TYPES or p.startswith(FUNDING_PUBLICATION_TYPE_PREFIX)
        for p in record.pts
    )


def _concern_reasons(record: _Record, population: str) -> Iterable[Reason]:
    for ref_type, pmid in record.facts.corrections:
        if ref_type in CONCERN_IN:
            yield Reason("status", "status.concern_in", f"{ref_type} {pmid or '(no PMID)'}")
    for ref_type, pmid in record.facts.notices:
        if ref_type in CONCERN_NOTICES:
            yield Reason(
                "status", "status.concern_notice", f"expression of concern {pmid} ({ref_type})"
            )


def _erratum_reasons(record: _Record, population: str) -> Iterable[Reason]:
    for ref_type, pmid in record.facts.corrections:
        if ref_type in ERRATUM_IN:
            yield Reason(
                "status", "status.erratum_in", f"{ref_type} {pmid or '(no PMID)'}: still counts"
            )
    for ref_type, pmid in record.facts.notices:
        if ref_type in ERRATUM_NOTICES:
            yield Reason(
                "status", "status.erratum_notice", f"erratum {pmid} ({ref_type}): still counts"
            )


# --------------------------------------------------------------------------- population

# "in vitro fertilisation" is a clinical procedure, not bench work.
_IN_VITRO_TEXT = _cue(
    r"\b(?:in vitro(?! fertili[sz])|cell lines?|cultured (?:\w+ )?cells|HEK[- ]?293|CHO cells"
    r"|oocytes|radioligand|binding assays?|crystal structures?|recombinant (?:proteins?|enzymes?)"
    r"|minimum inhibitory concentrations?|(?:broth|agar) (?:micro)?dilution)\b",
    *("vitro", "cell", "hek", "oocyte", "radioligand", "binding assay", "crystal structure"),
    *("recombinant", "inhibitory concentration", "dilution"),
)
_IN_SILICO_TEXT = _cue(
    r"\b(?:in silico|(?:molecular )?docking|molecular dynamics|mathematical models?"
    r"|computational models?|monte carlo simulations?|finite element)\b",
    *("silico", "docking", "molecular dynamics", "mathematical model", "computational model"),
    *("monte carlo", "finite element"),
)
#: Animal words and the species name each reports (when MeSH names none).
_SPECIES_WORDS = (
    (r"mice|mouse|murine", "mice"),
    (r"rats?", "rats"),
    (r"rodents?", "rodents"),
    (r"zebrafish", "zebrafish"),
    (r"macaques?", "macaques"),
    (r"monkeys?", "monkeys"),
    (r"primates?", "primates"),
    (r"guinea pigs?", "guinea pigs"),
    (r"pigs?|piglets?|swine", "pigs"),
    (r"dogs?|beagles?", "dogs"),
    (r"rabbits?", "rabbits"),
)
_SPECIES_TEXT = tuple((_text(rf"\b(?:{words})\b"), name) for words, name in _SPECIES_WORDS)
_ANIMAL_TEXT = _cue(
    r"\b(?:" + "|".join(words for words, _ in _SPECIES_WORDS) + r")\b",
    *("mice", "mouse", "murine", "rat", "rodent", "zebrafish", "macaque", "monkey", "primate"),
    *("pig", "swine", "dog", "beagle", "rabbit"),
)
# Forensic words name people too: a postmortem toxicology series has no "patients".
_HUMAN_TEXT = _cue(
    r"\b(?:patients?|participants?|volunteers?|subjects|respondents?|users|adults|veterans"
    r"|children|adolescents|women|men|students|decedents?|autops(?:y|ies)|post-?mortem)\b",
    *("patient", "participant", "volunteer", "subjects", "respondent", "users", "adults"),
    *("veterans", "children", "adolescents", "men", "students", "decedent", "autops"),
    "mortem",
)
_NON_HUMAN = frozenset({"animal", "in_vitro", "in_silico"})


def _population(record: _Record) -> tuple[str, Reason]:
    found = _population_from_mesh(record) or _population_from_text(record)
    if found is None:
        return "unknown", Reason(
            "population", "population.unknown", "no population MeSH and no population words"
        )
    population, code, why = found
    return population, Reason("population", code, why)


def _population_from_mesh(record: _Record) -> tuple[str, str, str] | None:
    clinical = _pt_why(record.pt_in(CLINICAL_PUBLICATION_TYPES))
    humans, animals = HUMANS_MESH in record.mesh, ANIMALS_MESH in record.mesh
    in_vitro = _mesh_why(record.mesh_in(IN_VITRO_MESH))
    # Bench work outranks computation done alongside it (grading.md checks in silico first,
    # which made cell-culture studies with a docking figure "in silico").
    if in_vitro and not clinical and not (animals and not humans):
        return "in_vitro", "population.mesh_in_vitro", f"{in_vitro}, no clinical publication type"
    in_silico = _mesh_why(record.mesh_in(IN_SILICO_MESH))
    if in_silico and not clinical and not animals:
        return (
            "in_silico",
            "population.mesh_in_silico",
            f"{in_silico}, no clinical publication type",
        )
    if animals and not humans:
        return "animal", "population.mesh_animal", "MeSH Animals without Humans"
    if animals:
        lab = record.mesh_in(LABORATORY_ANIMAL_MESH)
        if lab and not _human_or_narrative_frame(record):
            why = f"MeSH Humans and Animals with {', '.join(lab)}, no human study design"
            return "animal", "population.mesh_animal_experiment", why
        return "mixed", "population.mesh_mixed", "MeSH Humans and Animals"
    if humans:
        # Human cell-line work is tagged Humans; the text tells it from a study of people.
        bench = None if _human_or_narrative_frame(record) else _IN_VITRO_TEXT.search(record)
        if bench:
            why = f"{_quote(bench)} with MeSH Humans but no human study design"
            return "in_vitro", "population.text_in_vitro", why
        return "human", "population.mesh_humans", "MeSH Humans"
    return None


def _human_or_narrative_frame(record: _Record) -> bool:
    """A clinical or narrative publication type, or a human study-design MeSH term.

    Without one, a Humans tag next to laboratory animals or bench words comes from human
    cells or samples, not from people studied.
    """
    return bool(
        record.pts & (CLINICAL_PUBLICATION_TYPES | NARRATIVE_PUBLICATION_TYPES)
        or record.mesh & HUMAN_DESIGN_MESH
    )


def _population_from_text(record: _Record) -> tuple[str, str, str] | None:
    if not record.pts & CLINICAL_PUBLICATION_TYPES:
        bench = _IN_VITRO_TEXT.search(record)
        if bench:
            return "in_vitro", "population.text_in_vitro", _quote(bench)
        model = _IN_SILICO_TEXT.search(record)
        if model:
            return "in_silico", "population.text_in_silico", _quote(model)
    animal = _ANIMAL_TEXT.search(record)
    human = _HUMAN_TEXT.search(record)
    if animal and not human:
        return "animal", "population.text_animal", f"{_quote(animal)}, no human-subject words"
    if human:
        return "human", "population.text_human", _quote(human)
    return None


def _species(record: _Record, population: str) -> tuple[str, ...]:
    if population not in ("animal", "mixed"):
        return ()
    named = record.mesh_in(SPECIES_MESH)
    if named:
        return tuple(sorted(set(named)))
    return tuple(sorted({name for words, name in _SPECIES_TEXT if words.search(record.text)}))


# --------------------------------------------------------------------------- design

_SR_TITLE = _cue(r"systematic (?:literature )?review|meta-?analy[sz]", "systematic", "analy")
_SR_ABSTRACT = _cue(
    r"\b(?:we|this) (?:conducted |performed |undertook |carried out )?(?:an? )?"
    r"(?:systematic review|meta-?analy[sz]\w*)",
    *("systematic review", "analy"),
)
_RCT_MENTION = _cue(
    r"\brandomi[sz]ed(?:[\s-]+\w+){0,2}?[\s-]+trials?\b|\bRCTs?\b", "randomi", "rct"
)
# Authors who call their paper a narrative review outrank a Meta-Analysis index term.
_NARRATIVE_REVIEW = _cue(
    r"\b(?:this|our|the present|a) narrative (?:review|overview)\b", "narrative"
)
_NARRATIVE_TITLE = _cue(
    r"^\s*(?:review|overview|editorial|commentary|perspective|viewpoint|inaugural editorial)\b"
    r"|\b(?:literature|narrative|state[- ]of[- ]the[- ]art|scoping|mini[- ]?|critical"
    r"|comprehensive|updated?|brief|clinical|historical|integrative|selective)\s+review\b"
    r"|\breview of (?:the )?literature\b"
    r"|:\s*(?:an?\s+)?(?:\w+\s+)?review\.?\s*$"
    r"|\b(?:clinical|practice) guidelines?\b(?!-)"
    r"|\bguideline(?:\s+\d{4})?[.:]?\s*$"
    r"|\b(?:consensus|position) statement\b"
    r"|\b(?:consensus|expert|evidence[- ]based) recommendations\b",
    *("review", "overview", "editorial", "commentary", "perspective", "viewpoint"),
    *("guideline", "statement", "recommendations"),
)
_NARRATIVE_ABSTRACT = _cue(
    r"\b(?:this|the present|our) (?:narrative |brief |short |mini[- ]?|critical |comprehensive "
    r"|literature )?(?:review|commentary|editorial|perspective|overview)\b",
    *("review", "commentary", "editorial", "perspective", "overview"),
)
# Haynes narrow therapy filter: all three words; "non-randomized" is not "randomized".
_HAYNES = (
    _cue(r"(?<!non-)\brandomi[sz]ed\b", "randomi"),
    _cue(r"\bcontrolled\b", "controlled"),
    _cue(r"\btrials?\b", "trial"),
)
_NRCT_TEXT = _cue(
    r"\b(?:open[- ]label|single[- ]arm|pilot (?:study|trial)|first[- ]in[- ](?:human|man)"
    r"|non-?randomi[sz]ed (?:controlled )?(?:clinical )?trial)\b",
    *("label", "arm", "pilot", "first", "randomi"),
)
_OBSERVATIONAL_COHORT_TEXT = _cue(
    r"\b(?:cohorts?|prospective(?:ly)?|followed)\b", "cohort", "prospective", "followed"
)
_COHORT_TEXT = _cue(
    r"\b(?:cohort stud(?:y|ies)"
    r"|(?:prospective|retrospective|population-based|birth|longitudinal) cohorts?"
    r"|prospective(?:ly)? (?:stud(?:y|ied)|followed|enrolled|recruited|collected)"
    r"|longitudinal stud(?:y|ies)"
    r"|followed (?:up )?for (?:a (?:median|mean) of )?\d)",
    *("cohort", "prospective", "longitudinal", "followed"),
)
# Qualitative interview and focus-group studies are cross-sectional observation of people.
_CCS_TEXT = _cue(
    r"\b(?:surveys?|surveyed|cross[- ]sectional|questionnaires?|case[- ]control"
    r"|focus groups?|semi[- ]structured interviews?"
    r"|qualitative (?:stud(?:y|ies)|research|interviews?|exploration|analysis|design)"
    r"|twin (?:stud(?:y|ies)|design|samples?|registry)|(?:healthy|matched) controls"
    r"|retrospective(?:ly)?)\b",
    *("survey", "sectional", "questionnaire", "control", "focus group", "interview"),
    *("qualitative", "twin", "retrospective"),
)
_CASE_TEXT = _cue(
    r"\bcase (?:reports?|series)\b"
    # a forensic series: "the toxicology reports of 35 deaths", "a series of 12 decedents"
    r"|\b(?:reports|records|a series) of \d+ (?:\w+ )?(?:deaths|decedents|fatalities)\b"
    r"|\bwe (?:describe|report|present|highlight) (?:an?|the first|two|three|four|five|\d+)\b"
    r"(?:\W+\w+){0,3}?\W+(?:cases?|patients?|(?:wo)?man|boy|girl|child|infant|neonate"
    r"|\d+[- ]year[- ]old)\b"
    # a single patient in a title: "Management of kratom withdrawal ... in a patient with ..."
    r"|\bin an? (?:\d+[- ]year[- ]old )?(?:patient|man|woman|boy|girl|child|infant|neonate)"
    r" (?:with|on|who|taking|receiving|treated)\b",
    *("case", "we describe", "we report", "we present", "we highlight", "deaths", "decedents"),
    *("fatalities", "in a ", "in an "),
)

_Matcher = Callable[[_Record, str], str | None]


def _by_pt(names: frozenset[str]) -> _Matcher:
    return lambda record, population: _pt_why(record.pt_in(names))


def _by_mesh(names: frozenset[str]) -> _Matcher:
    return lambda record, population: _mesh_why(record.mesh_in(names))


def _by_text(cue: _Cue) -> _Matcher:
    def match(record: _Record, population: str) -> str | None:
        found = cue.search(record)
        return _quote(found) if found else None

    return match


def _narrative_review(record: _Record, population: str) -> str | None:
    found = _NARRATIVE_REVIEW.search(record)
    return f"{_quote(found)}: the authors call it narrative" if found else None


def _sr_title(record: _Record, population: str) -> str | None:
    found = _SR_TITLE.search(record, record.title)
    return f"title '{found.group(0)}'" if found else None


def _sr_abstract(record: _Record, population: str) -> str | None:
    found = _SR_ABSTRACT.search(record, record.facts.abstract)
    return _quote(found) if found else None


def _narrative_pt(record: _Record, population: str) -> str | None:
    if record.pts & PRIMARY_DESIGN_PUBLICATION_TYPES:
        return None  # "Case Reports" + "Letter" is a case report
    if "Letter" in record.pts and _CASE_TEXT.search(record, record.title):
        return None  # clinical journals publish case reports as letters
    return _pt_why(record.pt_in(NARRATIVE_PUBLICATION_TYPES))


def _preclinical(record: _Record, population: str) -> str | None:
    return f"population {population}" if population in _NON_HUMAN else None


def _observational_cohort(record: _Record, population: str) -> str | None:
    if "Observational Study" not in record.pts:
        return None
    found = _OBSERVATIONAL_COHORT_TEXT.search(record)
    return f"publication type Observational Study and {_quote(found)}" if found else None


def _narrative_text(record: _Record, population: str) -> str | None:
    # "A case report and review of the literature" is a case report.
    case = _CASE_TEXT.search(record, record.title)
    title = None if case else _NARRATIVE_TITLE.search(record, record.title)
    if title:
        return f"title '{title.group(0).strip()}'"
    found = _NARRATIVE_ABSTRACT.search(record, record.facts.abstract)
    return _quote(found) if found else None


def _rct_prob(record: _Record, population: str) -> str | None:
    prob = record.facts.rct_prob
    if prob is None or prob < RCT_PROB_THRESHOLD:
        return None
    return f"RCT classifier probability {prob:.2f} >= {RCT_PROB_THRESHOLD}"


def _haynes(record: _Record, population: str) -> str | None:
    found = [cue.search(record) for cue in _HAYNES]
    words = [m.group(0) for m in found if m]
    if len(words) < len(_HAYNES):
        return None
    return f"text '{words[0]}', '{words[1]}', '{words[2]}' (Haynes narrow therapy filter)"


@dataclass(frozen=True, slots=True)
class _Rule:
    design: Design
    code: str
    matcher: _Matcher


#: First match wins. Publication types and MeSH are all tried before title/abstract words.
_DESIGN_RULES = (
    _Rule("narrative", "design.text_narrative_review", _narrative_review),
    _Rule("sr_ma", "design.pt_sr_ma", _by_pt(SR_MA_PUBLICATION_TYPES)),
    _Rule("sr_ma", "design.title_sr_ma", _sr_title),
    _Rule("sr_ma", "design.text_sr_ma", _sr_abstract),
    _Rule("narrative", "design.pt_narrative", _narrative_pt),
    # An animal "randomised controlled" study is still preclinical (grading.md tier 6).
    _Rule("preclinical_experiment", "design.preclinical", _preclinical),
    _Rule("rct", "design.pt_rct", _by_pt(RCT_PUBLICATION_TYPES)),
    _Rule("nrct", "design.pt_nrct", _by_pt(NRCT_PUBLICATION_TYPES)),
    _Rule(
        "case_control_cross_sectional",
        "design.mesh_case_control",
        _by_mesh(CASE_CONTROL_CROSS_SECTIONAL_MESH),
    ),
    _Rule("cohort", "design.mesh_cohort", _by_mesh(COHORT_MESH)),
    _Rule("cohort", "design.pt_observational_cohort", _observational_cohort),
    _Rule(
        "case_control_cross_sectional",
        "design.mesh_survey_retrospective",
        _by_mesh(SURVEY_RETROSPECTIVE_MESH),
    ),
    _Rule(
        "case_control_cross_sectional",
        "design.pt_observational",
        _by_pt(OBSERVATIONAL_PUBLICATION_TYPES),
    ),
    _Rule("case_report_series", "design.pt_case_report", _by_pt(CASE_REPORT_PUBLICATION_TYPES)),
    # A review's title or abstract outranks the trial words it is bound to contain.
    _Rule("narrative", "design.text_narrative", _narrative_text),
    _Rule("rct", "design.rct_prob", _rct_prob),
    _Rule("rct", "design.text_haynes", _haynes),
    _Rule("nrct", "design.text_nrct", _by_text(_NRCT_TEXT)),
    _Rule("cohort", "design.text_cohort", _by_text(_COHORT_TEXT)),
    _Rule("case_control_cross_sectional", "design.text_ccs", _by_text(_CCS_TEXT)),
    _Rule("case_report_series", "design.text_case_report", _by_text(_CASE_TEXT)),
)
#: The rules that name a study design (tiers 1-5): a "Comment" with one of them is evidence.
_CUE_RULES = tuple(
    r for r in _DESIGN_RULES if r.design not in ("narrative", "preclinical_experiment")
)


def _first_match(
    rules: tuple[_Rule, ...], record: _Record, population: str
) -> tuple[_Rule, str] | None:
    for rule in rules:
        why = rule.matcher(record, population)
        if why is not None:
            return rule, why
    return None


def _design_cue(record: _Record, population: str) -> tuple[_Rule, str] | None:
    return _first_match(_CUE_RULES, record, population)


def _design(record: _Record, population: str) -> tuple[Design, tuple[Reason, ...]]:
    found = _first_match(_DESIGN_RULES, record, population)
    if found is None:
        pts = ", ".join(record.facts.publication_types) or "none"
        why = f"no design publication type, MeSH or text cue (publication types: {pts})"
        return "unclassified", (Reason("design", "design.unclassified", why),)
    rule, why = found
    reasons = [Reason("design", rule.code, why)]
    if rule.design == "sr_ma":
        pooled = _RCT_MENTION.search(record)
        if pooled:  # certainty starts such an SR at High (grading.md 2b step 4)
            reasons.append(Reason("design", SR_POOLS_RCTS_CODE, f"pools trials: {_quote(pooled)}"))
    return rule.design, tuple(reasons)


# --------------------------------------------------------------------------- sample size

_COUNT = r"(\d{1,3}(?:,\d{3})+|\d+)"  # 1,234 or 1234; "12,34" reads as 12
_SUBJECT = (
    r"(?:(?:consecutive|eligible|healthy|adult|older|elderly|hospitali[sz]ed|pregnant|male"
    r"|female|affected)\s+)?(?:patients|participants|subjects|adults|individuals|respondents"
    r"|users|volunteers|people|veterans|women|men|children|adolescents|students|infants"
    r"|persons|decedents|deaths)\b"
)
#: (pattern, whether a year-like value is rejected). "n =" and a subject noun mark a count;
#: after "enrolled" or "a total of" a bare 2019 is a year.
_SIZE_PATTERNS = (
    (_cue(rf"\bn\s*=\s*{_COUNT}", "="), False),
    (_cue(rf"\b{_COUNT}\s+{_SUBJECT}"), False),
    (
        _cue(
            rf"\b(?:enrolled|recruited|included|surveyed|randomi[sz]ed)\s+{_COUNT}\b",
            *("enrolled", "recruited", "included", "surveyed", "randomi"),
        ),
        True,
    ),
    (_cue(rf"\ba total of {_COUNT}\b", "a total of"), True),
)


#: Labelled abstract sections about the world before the study ("About 600,000 children
#: live on the street"): their counts are not the study's.
_BACKGROUND_SECTION = _text(r"^(?:background|introduction|context|rationale)\s*:")


def _study_text(record: _Record) -> str:
    """The title and abstract without background sections (sections are blank-line separated)."""
    sections = record.facts.abstract.split("\n\n")
    kept = [s for s in sections if not _BACKGROUND_SECTION.match(s)]
    return "\n".join([record.title, *kept])


def _sample_size(record: _Record, population: str) -> tuple[int | None, tuple[Reason, ...]]:
    """The largest participant count in the title/abstract (human and mixed studies only)."""
    if population not in ("human", "mixed"):
        why = f"population {population}: sample size is read for human studies only"
        return None, (Reason("sample_size", "n.not_human", why),)
    counts: list[tuple[int, str]] = []
    rejected: dict[str, None] = {}  # an ordered set
    text = _study_text(record)
    for cue, years_rejected in _SIZE_PATTERNS:
        for found in cue.finditer(record, text):
            value, snippet = int(found.group(1).replace(",", "")), found.group(0)
            if value > MAX_SAMPLE_SIZE:
                rejected[f"'{snippet}' (over {MAX_SAMPLE_SIZE:,})"] = None
            elif value == 0:
                rejected[f"'{snippet}' (zero)"] = None
            elif years_rejected and value in YEAR_LIKE:
                rejected[f"'{snippet}' (looks like a year)"] = None
            else:
                counts.append((value, snippet))
    reasons = []
    if counts:
        value, snippet = max(counts)
        why = f"text '{snippet}' (largest of {len(counts)} count{'s' if len(counts) > 1 else ''})"
        reasons.append(Reason("sample_size", "n.regex", why))
    else:
        reasons.append(Reason("sample_size", "n.none", "no participant count in title/abstract"))
    if rejected:
        reasons.append(Reason("sample_size", "n.rejected", "ignored " + "; ".join(rejected)))
    return (max(counts)[0] if counts else None), tuple(reasons)


# --------------------------------------------------------------------------- risk of bias

_OPEN_LABEL = _cue(r"\bopen[- ]label(?:led)?\b", "label")
_SELF_REPORT = _cue(r"\bself[- ]report(?:ed|s|ing)?\b", "report")
_ONLINE = _cue(r"\b(?:online|internet|web[- ]based)\b", "online", "internet", "web")
_SURVEY = _cue(r"\b(?:surveys?|questionnaires?)\b", "survey", "questionnaire")
_RETROSPECTIVE = _cue(r"\bretrospective(?:ly)?\b", "retrospective")
_PILOT = _cue(
    r"\bpilot (?:stud(?:y|ies)|trials?|projects?|phase|data|testing|programs?|programmes?)\b",
    "pilot",
)
_NO_CONTROL = _cue(
    r"\b(?:no|without an?|lack(?:ed|ing)? an?) (?:control|comparison) (?:group|arm)\b"
    r"|\buncontrolled (?:study|trial|design)\b|\bsingle[- ]arm\b",
    *("control", "comparison", "arm"),
)
_CONVENIENCE = _cue(
    r"\b(?:convenience|snowball|non-?probabilit(?:y|ies)|non-?probabilistic) sampl(?:e|es|ing)\b",
    "sampl",
)


def _mesh_or_text(mesh: str, cue: _Cue) -> Callable[[_Record], str | None]:
    def match(record: _Record) -> str | None:
        if mesh in record.mesh:
            return f"MeSH {mesh}"
        found = cue.search(record)
        return _quote(found) if found else None

    return match


def _text_only(cue: _Cue) -> Callable[[_Record], str | None]:
    def match(record: _Record) -> str | None:
        found = cue.search(record)
        return _quote(found) if found else None

    return match


def _online_survey(record: _Record) -> str | None:
    online = _ONLINE.search(record)
    if online is None:
        return None
    if SURVEY_MESH in record.mesh:
        return f"MeSH {SURVEY_MESH} and {_quote(online)}"
    survey = _SURVEY.search(record)
    return f"{_quote(online)} and '{survey.group(0)}'" if survey else None


_ROB_RULES: tuple[tuple[str, Callable[[_Record], str | None]], ...] = (
    ("open_label", _text_only(_OPEN_LABEL)),
    ("self_report", _mesh_or_text(SELF_REPORT_MESH, _SELF_REPORT)),
    ("online_survey", _online_survey),
    ("retrospective", _mesh_or_text(RETROSPECTIVE_MESH, _RETROSPECTIVE)),
    ("pilot", _mesh_or_text(PILOT_MESH, _PILOT)),
    ("no_control_group", _text_only(_NO_CONTROL)),
    ("convenience_sample", _text_only(_CONVENIENCE)),
)


def _risk_of_bias(
    record: _Record, status: str, status_reasons: tuple[Reason, ...]
) -> tuple[tuple[str, ...], tuple[Reason, ...]]:
    found: dict[str, Reason] = {}
    for flag, matcher in _ROB_RULES:
        why = matcher(record)
        if why is not None:
            found[flag] = Reason("risk_of_bias", f"rob.{flag}", why)
    if status == "concern":
        why = "expression of concern: " + "; ".join(r.why for r in status_reasons)
        found["concern"] = Reason("risk_of_bias", "rob.concern", why)
    if not found:
        return (), (Reason("risk_of_bias", "rob.none", "no risk-of-bias cue"),)
    flags = tuple(sorted(found))
    return flags, tuple(found[flag] for flag in flags)


# --------------------------------------------------------------------------- letter


def _letter(
    design: str, population: str, sample_size: int | None, rob_flags: tuple[str, ...]
) -> tuple[str, Reason]:
    if design in ("preclinical_experiment", "narrative", "unclassified"):
        return "D", Reason("letter", "letter.d_design", f"design {design}")
    if population in _NON_HUMAN:
        return "D", Reason("letter", "letter.d_population", f"population {population}")
    large = sample_size is not None and sample_size >= LETTER_MIN_N
    if design in ("rct", "sr_ma"):
        shortfalls = [
            *([] if population in ("human", "mixed") else [f"population {population}"]),
            *([] if large else [f"n {sample_size if sample_size is not None else 'unknown'}"]),
            *([f"risk-of-bias flags {', '.join(rob_flags)}"] if rob_flags else []),
        ]
        if not shortfalls:
            why = f"{design}, {population}, n {sample_size} >= {LETTER_MIN_N}, no flags"
            return "A", Reason("letter", "letter.a", why)
        return "B", Reason("letter", "letter.b_rct_sr_ma", f"{design} with {'; '.join(shortfalls)}")
    if design == "cohort" and large:
        return "B", Reason("letter", "letter.b_cohort", f"cohort, n {sample_size}")
    return "C", Reason("letter", "letter.c", f"{design}, population {population}")
