"""Sentence splitting with exact character offsets, and the word normalisation linking uses.

Stored abstracts are "LABEL: text" paragraphs separated by blank lines when PubMed gave
labelled sections (see `parsing._abstract`), and plain text otherwise. Some unlabelled
abstracts still carry inline headings ("BACKGROUND The combination ... METHODS We ..."): those
are recognised too, so a rationale sentence keeps its section either way.
Every `Sentence` satisfies `text[start:end] == sentence.text` for the string it was split from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "FINDING",
    "FINDING_SECTIONS",
    "PURPOSE",
    "RULES_VERSION",
    "SETUP_SECTIONS",
    "Sentence",
    "finding_sentences",
    "findings",
    "split_sentences",
    "stem",
    "tokens",
    "with_rules",
]

#: Which sentences may be rationales (`findings`): 2, findings only (never background, aims or
#: methods); 3, an unstructured abstract's study also starts at a passive-voice method, at
#: "we <adverb> <verb>", and an aim-only sentence is not a finding; 4, headings are read by
#: their words ("Rationale", "Materials and methods" set up; "Key results" reports; "Methods
#: and findings" by wording). A model linker's version carries it (`with_rules`), as the
#: lexical method's own version does.
RULES_VERSION = "4"


def with_rules(model_version: str) -> str:
    """A model linker's version: the model's, then the rationale rules'. Changing either is a
    new method version, so a relink adds rows and keeps the old ones for the audit."""
    return f"{model_version}.{RULES_VERSION}"


@dataclass(frozen=True, slots=True)
class Sentence:
    index: int  # position among the sentences of the text, from 0
    start: int  # character offsets into the text given to `split_sentences`
    end: int
    text: str
    section: str | None = None  # "RESULTS", "Conclusions" ... as the abstract spells it


# A labelled paragraph: "LABEL: text". Labels are short and start with a letter; a colon deep
# inside a sentence ("ratio 1:2", "Aim: to ...") must not be taken for one, hence the length cap
# and the requirement that the paragraph start with it.
_LABEL = re.compile(r"([A-Z][A-Za-z0-9 ,&/()'-]{0,48}?):\s+")
# Inline headings of unlabelled structured abstracts, upper case only (a capitalised "Results"
# at a sentence start is ordinary prose).
_INLINE_HEADINGS = (
    "BACKGROUND AND AIMS",
    "BACKGROUND AND PURPOSE",
    "BACKGROUND",
    "INTRODUCTION",
    "CONTEXT",
    "OBJECTIVES",
    "OBJECTIVE",
    "PURPOSE",
    "AIMS",
    "AIM",
    "DESIGN",
    "SETTING",
    "PARTICIPANTS",
    "PATIENTS",
    "INTERVENTIONS",
    "INTERVENTION",
    "MAIN OUTCOME MEASURES",
    "MEASUREMENTS",
    "METHODS AND FINDINGS",
    "METHODOLOGY/PRINCIPAL FINDINGS",
    "METHODS AND RESULTS",
    "MATERIALS AND METHODS",
    "METHODS",
    "METHOD",
    "FINDINGS",
    "RESULTS",
    "RESULT",
    "INTERPRETATION",
    "DISCUSSION",
    "CONCLUSIONS/SIGNIFICANCE",
    "CONCLUSIONS AND RELEVANCE",
    "CONCLUSIONS",
    "CONCLUSION",
    "SIGNIFICANCE",
)
_INLINE = re.compile(r"(" + "|".join(re.escape(h) for h in _INLINE_HEADINGS) + r")\s+(?=[A-Z0-9])")
# A sentence ends at . ! or ? followed by space and something that can start a sentence.
_BOUNDARY = re.compile(r"[.!?][\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
# Words whose trailing period is not a sentence end.
_ABBREVIATIONS = frozenset(
    "e.g i.e et al vs fig figs approx ca no nos dr mr mrs ms prof st resp ref refs eq cf "
    "incl jan feb mar apr jun jul aug sep sept oct nov dec sp spp var".split()
)


def _ends_with_abbreviation(text: str, dot: int) -> bool:
    """Whether the period at `dot` closes an abbreviation or an initial ("J. Smith")."""
    start = dot
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] == "."):
        start -= 1
    word = text[start:dot].lower()
    if word in _ABBREVIATIONS:
        return True
    # A single capital letter ("J. Smith", "E. coli"), never a sentence end in an abstract.
    return len(word) == 1 and text[dot - 1].isupper()


def _split_span(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans inside text[start:end], whitespace trimmed."""
    spans = []
    cursor = start
    for match in _BOUNDARY.finditer(text, start, end):
        dot = match.start()
        if text[dot] == "." and _ends_with_abbreviation(text, dot):
            continue
        spans.append((cursor, match.end()))
        cursor = match.end()
    spans.append((cursor, end))
    trimmed = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            trimmed.append((a, b))
    return trimmed


def _paragraphs(text: str) -> list[tuple[int, int]]:
    spans = []
    cursor = 0
    for match in re.finditer(r"\n\s*\n", text):
        spans.append((cursor, match.start()))
        cursor = match.end()
    spans.append((cursor, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def split_sentences(text: str) -> list[Sentence]:
    """The sentences of `text` with exact offsets and, where the abstract has them, sections."""
    sentences: list[Sentence] = []
    for para_start, para_end in _paragraphs(text):
        section: str | None = None
        body_start = para_start
        while body_start < para_end and text[body_start].isspace():
            body_start += 1
        label = _LABEL.match(text, body_start, para_end)
        # Only a multi-paragraph (structured) abstract or an upper-case label counts as a label:
        # "Aim: to test ..." in a one-paragraph abstract stays a sentence.
        if label and ("\n\n" in text or label.group(1).isupper()):
            section = label.group(1)
            body_start = label.end()
        for start, end in _split_span(text, body_start, para_end):
            inline = _INLINE.match(text, start, end)
            if inline and inline.end() < end:
                section = inline.group(1)
                start = inline.end()
            sentences.append(Sentence(len(sentences), start, end, text[start:end], section))
    return sentences


# --- what a sentence is for: a finding, or the setting of one -------------------------------

# Sentences that report a finding make rationales; sentences that state an aim or a method only
# repeat the claim's topic. On the dev split, a rationale chosen by term overlap alone was an
# aim sentence ("To assess whether ...") in about a third of the gold-evidence abstracts.
FINDING = re.compile(
    r"\b(we (?:found|find|show|showed|shown|demonstrate|demonstrated|report|observed|conclude|"
    r"identified|reveal|revealed|establish|provide)|(?:results?|data|findings|analyses|studies) "
    r"(?:show|showed|suggest|suggested|indicate|indicated|demonstrate|demonstrated|reveal|"
    r"support|confirm)|conclusions?|in summary|taken together|together,|thus|therefore|"
    r"significantly|was associated|were associated|is associated|are associated|led to|"
    r"resulted in|results in|confer|p\s*[<=>]|odds ratio|hazard ratio|relative risk|95% ci)\b",
    re.IGNORECASE,
)
PURPOSE = re.compile(
    r"^(?:\w+ )?(to (?:determine|assess|evaluate|examine|investigate|test|compare|identify|"
    r"study|explore|characteri[sz]e|establish|quantify|estimate|describe|address|understand|"
    r"clarify)|we (?:aimed|sought|hypothesi[sz]ed|investigated|examined|evaluated|assessed|"
    r"analy[sz]ed|studied|tested|asked|compared|conducted|performed|used|recruited|enrolled)|"
    r"here,? we (?:analy|investigat|examin|stud|test|ask|use)|this study|the (?:aim|purpose|"
    r"objective|goal)|whether|(?:objectives?|aims?|purpose|design|setting|participants|methods?)"
    r"\b)",
    re.IGNORECASE,
)
# A structured abstract's headings say what its sentences are for. Headings vary by journal,
# so a heading is read by its words, not matched whole: "Key results", "Main results" and
# "Authors' conclusions" report findings; "Rationale" (Psychopharmacology), "Importance"
# (JAMA), "Experimental approach" (BJP), "Materials and methods", "Search methods",
# "Selection criteria" and "Data collection and analysis" (Cochrane) set the study up. A
# heading with words of both kinds ("Methods and findings", PLoS Medicine; "Methods and
# results") holds both, so its sentences are judged by their wording, as are headings of
# neither kind ("Case presentation", "Data synthesis").
FINDING_SECTIONS = ("RESULT", "CONCLUSION", "FINDING", "INTERPRETATION", "DISCUSSION")
SETUP_SECTIONS = (
    "OBJECTIVE",
    "AIM",
    "PURPOSE",
    "METHOD",
    "MATERIAL",
    "DESIGN",
    "SETTING",
    "PARTICIPANT",
    "BACKGROUND",
    "INTRODUCTION",
    "CONTEXT",
    "RATIONALE",
    "IMPORTANCE",
    "HYPOTHES",
    "APPROACH",
    "MEASURE",
    "INTERVENTION",
    "SEARCH",
    "SELECTION CRITERIA",
    "ELIGIBILITY",
    "DATA SOURCE",
    "DATA COLLECTION",
    "DATA EXTRACTION",
)
_FINDING_HEADING = re.compile(r"\b(?:" + "|".join(FINDING_SECTIONS) + ")")
_SETUP_HEADING = re.compile(r"\b(?:" + "|".join(SETUP_SECTIONS) + ")")


#: An unstructured abstract turns from background to its own study at a sentence like these:
#: what comes before is background, which is not evidence for a claim (issue 13: "used to
#: relieve opioid withdrawal" in a case report's introduction is not a finding). Authors
#: introduce their study in the first person ("we report", "we first showed", "here we"), by
#: naming it ("this study", "in the present report", "a 34-year-old man"), or in the passive
#: voice of methods ("a series of experiments was conducted", "rats were treated", "patients
#: were randomised"). An adverb may stand between "we" and the verb.
_STUDY_START = re.compile(
    r"\b(we (?:\w+ly |first |then |further |also |next |here |now )?(?:report|present|describe|"
    r"investigated|examined|evaluated|assessed|analy[sz]ed|studied|tested|conducted|performed|"
    r"aimed|sought|surveyed|recruited|enrolled|used|measured|compared|administered|found|show|"
    r"showed|demonstrate|applied|developed|designed|identified|characteri[sz]ed|explored|"
    r"determined|quantified|screened|synthesi[sz]ed|isolated|interviewed|reviewed|searched|"
    r"collected|obtained|employed|carried out|undertook|observed|treated|exposed|hypothesi[sz]ed|"
    r"propose|provide)|here,? we|this (?:study|"
    r"report|case|paper|trial|survey|review|article|work)|the (?:present|current) (?:study|"
    r"report|work)|in this (?:study|report|paper|case|work|trial|survey)|a \d{1,3}-year-old|"
    r"(?:case|patient) (?:report|presentation)|(?:objectives?|aims?|purpose|methods?)\b|"
    r"(?:experiments?|stud(?:y|ies)|analys[ie]s|surveys?|trials?|interviews|assays?|"
    r"tests) (?:was|were) (?:conducted|performed|carried out|undertaken|designed|done)|"
    r"(?:rats|mice|animals|zebrafish|cells|participants|patients|subjects|volunteers|"
    r"respondents|adults|children|women|men) (?:were|was) (?:\w+ly )?(?:randomi[sz]ed|"
    r"recruited|enrolled|assigned|allocated|treated|administered|given|exposed|subjected|"
    r"injected|dosed|surveyed|interviewed|followed|included|trained|tested|studied))",
    re.IGNORECASE,
)
#: An aim anywhere in a sentence ("A series of experiments was conducted to investigate ..."):
#: the sentence introduces the study but reports nothing yet (unless it has a finding's cue:
#: "a trial designed to assess X showed that ...").
_AIM = re.compile(
    r"\b(?:conducted|performed|carried out|undertaken|designed|initiated) to (?:determine|"
    r"assess|evaluate|examine|investigate|test|compare|identify|study|explore|characteri[sz]e|"
    r"establish|quantify|estimate|describe|clarify|understand)\b",
    re.IGNORECASE,
)


def _setup(sentence: Sentence) -> bool:
    heading = (sentence.section or "").upper()
    finding, setup = bool(_FINDING_HEADING.search(heading)), bool(_SETUP_HEADING.search(heading))
    if finding != setup:
        return setup
    text = sentence.text
    return bool(PURPOSE.match(text) or (_AIM.search(text) and not FINDING.search(text)))


def findings(sentences: Sequence[Sentence]) -> list[bool]:
    """For each sentence, whether it may serve as a rationale: it reports the study's findings.

    Results and conclusions can be rationales; background, aims and methods cannot, in a
    structured abstract (by section) or not (by wording, and by position: in an unstructured
    abstract every sentence before the study is introduced is background). When nothing
    introduces the study, only aims and methods are ruled out: the rest may be findings.
    """
    flags = [not _setup(s) for s in sentences]
    structured = any(s.section for s in sentences)
    if not structured:
        start = next((i for i, s in enumerate(sentences) if _STUDY_START.search(s.text)), None)
        # The introducing sentence itself stays eligible unless it states an aim: in a case
        # report ("We present a 34-year-old man who developed ... after kratom use") it is the
        # finding.
        for i in range(start or 0):
            flags[i] = False
    return flags


def finding_sentences(abstract: str) -> list[Sentence]:
    """The sentences of an abstract that may serve as rationales (`findings`), in order."""
    split = split_sentences(abstract)
    return [s for s, ok in zip(split, findings(split), strict=True) if ok]


# --- words -----------------------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")
# Suffixes stripped longest first. A light stemmer, not Porter: it only has to map the
# inflections of one word to one key on both sides (claim and abstract) consistently.
_SUFFIXES = (
    "ational",
    "ization",
    "ations",
    "ation",
    "itions",
    "ition",
    "nesses",
    "ness",
    "ments",
    "ment",
    "ities",
    "ity",
    "ically",
    "ical",
    "ously",
    "ous",
    "ively",
    "ive",
    "ingly",
    "ings",
    "ing",
    "edly",
    "ers",
    "er",
    "ies",
    "ied",
    "ed",
    "ly",
    "es",
    "al",
    "s",
)


def stem(word: str) -> str:
    """A crude but consistent stem: 'increased', 'increases', 'increasing' -> 'increas'."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


def tokens(text: str) -> list[str]:
    """Lower-cased words and numbers; hyphens and slashes split words ("IL-10" -> il, 10)."""
    out = []
    for word in _WORD.findall(text.lower().replace("-", " ").replace("/", " ")):
        out.append(word)
    return out
