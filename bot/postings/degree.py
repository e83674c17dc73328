"""The degree a posting asks for, read from its title and the sentences of its text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.postings.model import Degree

__all__ = ["detect_degree", "read_degree"]

_PHD = (
    r"(?:ph\.?\s?d\.?|doctoral|doctorate|doctorado|doutorado|doctorat|博士|박사|promotion|"
    r"doktorand(?:in)?)"
)
_PHD_TITLE = re.compile(rf"\b{_PHD}(?![\w.])|\bpost-?doc(?:toral)?\b|\bpostdoc", re.I)
_MASTERS_TITLE = re.compile(
    r"\b(master'?s|master’s|m\.?sc?|ms|msc|mba|m1|m2)\b(?!\s*(?:office|word|excel))", re.I
)
_UNDERGRAD_TITLE = re.compile(
    r"\b(undergrad(?:uate)?s?|bachelor'?s?|bachelor’s|bs/ms|b\.?s\./m\.?s\.)\b|\bBS\b", re.I
)
# A PhD mention that names a person rather than a requirement: "with the PhD student
# host", "your preferred PhD supervisor", "Jane Doe, PhD", "alongside fellow doctoral
# candidates" (the people the intern works with).
_PHD_MENTION = re.compile(rf"(?<![\w])(?P<m>{_PHD})(?![\w])", re.I)
_PHD_PERSON_BEFORE = re.compile(
    r"(?:\b(?:the|their|your|our|his|her|my|fellow)\s+(?:preferred\s+)?|,\s*)$", re.I
)
_PHD_PERSON_AFTER = re.compile(
    r"^\.?\s*(?:students?\s+)?(?:host|supervisor|advisor|adviser|mentor|director)s?\b", re.I
)
# Master's named as such ("Old Masters" of painting are not a degree).
_MASTERS = re.compile(
    r"\b(?:master['’]s|master (?:degree|student|program|programme)s?|"
    r"masters (?:degree|student|program|programme)s?|mba|m1|m2|"
    r"masterstudi\w*|máster|mestrado)\b|\bM\.?Sc?\b\.?|\bMSc\b|\bMS/|/MS\b|硕士|修士|석사",
)
_MASTERS_I = re.compile(
    r"\b(?:master['’]s|master (?:degree|student|program|programme)s?|"
    r"masters (?:degree|student|program|programme)s?|mba|masterstudi\w*)\b|"
    # French names the level, not the degree: "stagiaire de niveau master", "stage de
    # master", "étudiant en master", "Bac+5" (five years after the baccalauréat).
    r"\b(?:niveau|stages? de|stagiaires? de|étudiant(?:e|es|s)? en|élèves? en) master\b|"
    r"\bbac\s?\+\s?[45]\b",
    re.I,
)
# "Graduate students" are Master's or PhD students; next to a PhD they mean PhD students
# ("graduate students pursuing a PhD").
_GRADUATE = re.compile(
    r"\bgraduate (?:students?|interns?|program(?:me)?s?|level|degree)\b|研究生", re.I
)
# A title that makes the intern a graduate student ("Graduate Research Intern", "Graduate
# Design Group Intern"), not a new graduate ("New Grad", "University Graduate") nor a role
# open to either ("Intern/Graduate").
_GRADUATE_INTERN_TITLE = re.compile(
    r"(?<!new )(?<!college )(?<!university )(?<!recent )\bgraduate (?:[\w&'-]+ ){0,4}interns?\b",
    re.I,
)
_ALTERNATIVES = re.compile(r"\bor\b|/|或", re.I)
_BACHELOR = re.compile(
    r"\b(?:bachelor'?s?|bachelor’s|undergrad(?:uate)?s?|b\.?tech|hbo|"
    r"associate degree|associate['’]s degree|"
    r"rising (?:juniors?|seniors?|sophomores?)|juniors and seniors|"
    r"college students?|bachelorstudi\w*|licenciatura|graduação)\b|\bB\.?Sc?\b\.?|\bBS/|"
    r"\bUG\b|本科|学士|学部生|학사|학부생",
    re.I,
)
# Words that name students, not degrees held: eligible undergraduates make it "any".
_UNDERGRAD_STUDENT = re.compile(
    r"\b(?:undergrad(?:uate)?s?|rising (?:juniors?|seniors?|sophomores?)|juniors and seniors|"
    r"college students?)\b|\bUG\b|本科",
    re.I,
)
_STUDYING = re.compile(
    r"\b(pursuing|enrolled|enrol|currently|student|students|studying|working towards|"
    r"rising|final[- ]year|obtaining|returning)\b|在读|在校",
    re.I,
)
_GENERIC_DEGREE = re.compile(
    r"\b(?:(?:pursuing|enrolled in|working towards|obtaining|completing|hold(?:ing)?|have) an? "
    r"(?:university |college |academic |technical )?degree|university degree|college degree|"
    r"degree in\b|(?:related|relevant|equivalent|engineering|technical) (?:\w+ )?degree|"
    r"degree-seeking|(?:enrolled|studying) (?:in|at) an? (?:[\w-]+ )?(?:university|college)|"
    # A student of no named level ("you are currently studying computer science", "enrolled
    # … at a university as a regular student"): any level will do.
    r"currently (?:studying|enrolled)|enrolled\b[^.;]{0,60}\b(?:university|college)|"
    r"(?:as|be) a regular student)",
    re.I,
)
_ANY_LEVEL = re.compile(
    r"\b(all (?:degree|academic|study|educational) levels|any (?:degree|academic) level|"
    r"bs/ms/phd|b\.?s\.?/m\.?s\.?/ph\.?d|"
    r"bachelor'?s?,? master'?s?,? (or|and) ph\.?d)\b|及以上",
    re.I,
)
# Sentences that only wish for a level do not require it.
_WISH = re.compile(
    r"\b(desirable|desired|preferred|a plus|nice to have|bonus|advantage|advantageous|ideally|"
    r"is preferred|would be great|(?:is|are|be) ideal for|ideally suited)\b",
    re.I,
)
_SENTENCE = re.compile(r"\n|(?<=[;!?])\s+|(?<=[a-z0-9)]\.)\s+(?=[A-Z])")


# What each level pattern above needs in the lower-cased text to match at all. Most
# sentences of a posting name no level; checking these substrings first skips their
# regex searches, which were most of enrichment's time (issue #8). A cue list may hold
# more than its pattern needs (that only costs a search), never less: keep each list in
# step with its pattern (tests/test_fast_paths.py compares with the full path).
_PHD_CUES = ("ph", "doctor", "doutor", "博士", "박사", "promotion", "doktorand")  # _PHD
_POSTDOC_CUES = (*_PHD_CUES, "post")  # _PHD_TITLE
# _MASTERS, _MASTERS_I, _MASTERS_TITLE: master…, mba, m1, m2, MS, M.S, MSc, MS/, /MS, 硕士
_MASTERS_CUES = (
    "master",
    "máster",
    "mestrado",
    "bac",
    "mba",
    "m1",
    "m2",
    "ms",
    "m.s",
    "硕士",
    "修士",
    "석사",
)
_GRADUATE_CUES = (  # _GRADUATE
    "graduate student",
    "graduate intern",
    "graduate program",
    "graduate level",
    "graduate degree",
    "研究生",
)
# _BACHELOR and _UNDERGRAD_STUDENT (a subset); _UNDERGRAD_TITLE (bs/ms, b.s./m.s., BS).
_BACHELOR_CUES = (
    "bachelor",
    "undergrad",
    "btech",
    "b.tech",
    "hbo",
    "associate",
    "rising",
    "juniors",
    "college",
    "bs",
    "b.s",
    "ug",
    "本科",
    "学士",
    "licenciatura",
    "graduação",
    "学部生",
    "학사",
    "학부생",
)
# _GENERIC_DEGREE
_GENERIC_CUES = ("degree", "universit", "college", "studying", "enrolled", "regular student")
_ANY_LEVEL_CUES = ("level", "ph", "bachelor", "及以上")  # _ANY_LEVEL
_LEVEL_CUES = tuple(
    dict.fromkeys(
        _PHD_CUES
        + _MASTERS_CUES
        + _GRADUATE_CUES
        + _BACHELOR_CUES
        + _GENERIC_CUES
        + _ANY_LEVEL_CUES
    )
)
# Characters IGNORECASE matching equates with an ASCII letter while str.lower() does not
# (dotless i, long s, dotted capital I): a text with one is read without the cues.
_CASE_ODDITIES = ("ı", "ſ", "İ")


def _lowered(text: str) -> str | None:
    """``text`` lower-cased for the cue checks, or None when cues cannot be trusted on it."""
    if not text.isascii() and any(odd in text for odd in _CASE_ODDITIES):
        return None
    return text.lower()


def _has(lowered: str | None, cues: tuple[str, ...]) -> bool:
    """True when a pattern with these cues may match (always, without a lowered text)."""
    return lowered is None or any(cue in lowered for cue in cues)


def _cued(present: frozenset[str] | None, cues: tuple[str, ...]) -> bool:
    """True when a pattern with these cues may match a sentence with these cues present."""
    return present is None or not present.isdisjoint(cues)


def _requirement_sentences(text: str) -> list[tuple[str, frozenset[str] | None]]:
    """The sentences that may require a level, each with the cues it has (None: unknown)."""
    lowered = _lowered(text)
    if lowered is None:
        return [(s, None) for s in _SENTENCE.split(text) if s and not _WISH.search(s)]
    # Only cues of the whole text can be in its lines and sentences: usually a few.
    found = [cue for cue in _LEVEL_CUES if cue in lowered]
    if not found:
        return []  # no level named anywhere: no sentence to split and read
    lines = text.split("\n")
    if not any(line[-1:].isspace() for line in lines):
        # Without whitespace before a line break no separator spans two lines, so the
        # lines split one by one give the same sentences, and lines without a cue need
        # no splitting at all (enrichment's text has its lines stripped).
        pieces = [
            s
            for line in lines
            if any(cue in line.lower() for cue in found)
            for s in _SENTENCE.split(line)
        ]
    else:
        pieces = _SENTENCE.split(text)
    sentences: list[tuple[str, frozenset[str] | None]] = []
    for piece in pieces:
        lowered_piece = piece.lower()
        present = frozenset(cue for cue in found if cue in lowered_piece)
        if present and not _WISH.search(piece):
            sentences.append((piece, present))
    return sentences


def _says_phd(sentence: str) -> bool:
    for match in _PHD_MENTION.finditer(sentence):
        before = sentence[max(0, match.start() - 20) : match.start()]
        after = sentence[match.end() : match.end() + 25]
        if _PHD_PERSON_BEFORE.search(before) or _PHD_PERSON_AFTER.match(after):
            continue
        return True
    return False


# Sentences that say who may apply: what they name outranks a level named in passing
# elsewhere ("our undergraduate curriculum", "MS Office").
_ELIGIBILITY = re.compile(
    r"\b(enrolled|enrol|pursuing|currently|must be|must have|eligib\w*|open to|applicants?|"
    r"candidates?|you are|are you|you have|you're|who are|studying|working towards|"
    r"requirements?|qualifications?|minimum|required|students? (?:in|of|at|from|who)|"
    r"inscrit\w*|étudiant\w*|immatrikuliert|eingeschrieben|studierende\w*|"
    r"matriculad\w*|cursando|estudiantes?|estudantes?)\b|在读|在校|要求|応募資格|対象",
    re.I,
)


@dataclass(slots=True)
class _Levels:
    """The levels a group of sentences names, each with the first sentence naming it."""

    any_level: str = ""
    phd: str = ""
    masters: str = ""
    bachelor_student: str = ""
    bachelor_held: str = ""
    generic: str = ""


def _read_levels(sentences: list[tuple[str, frozenset[str] | None]]) -> _Levels:
    found = _Levels()
    for sentence, cues in sentences:
        # Each pattern is searched only when its cues are in the sentence (see _LEVEL_CUES).
        if _cued(cues, _ANY_LEVEL_CUES) and _ANY_LEVEL.search(sentence):
            found.any_level = found.any_level or sentence
            break
        sentence_phd = _cued(cues, _PHD_CUES) and _says_phd(sentence)
        sentence_masters = _cued(cues, _MASTERS_CUES) and bool(
            _MASTERS.search(sentence) or _MASTERS_I.search(sentence)
        )
        if sentence_phd:
            found.phd = found.phd or sentence
        graduate = _cued(cues, _GRADUATE_CUES) and bool(_GRADUATE.search(sentence))
        if sentence_masters or (graduate and not sentence_phd):
            found.masters = found.masters or sentence
        bachelor = _cued(cues, _BACHELOR_CUES) and bool(_BACHELOR.search(sentence))
        if bachelor and (sentence_phd or sentence_masters) and _ALTERNATIVES.search(sentence):
            # "A bachelor's, master's, or PhD degree": a bachelor's is enough.
            found.bachelor_student = found.bachelor_student or sentence
        if _cued(cues, _BACHELOR_CUES) and _UNDERGRAD_STUDENT.search(sentence):
            found.bachelor_student = found.bachelor_student or sentence
        elif bachelor:
            if _STUDYING.search(sentence):
                found.bachelor_student = found.bachelor_student or sentence
            else:
                found.bachelor_held = found.bachelor_held or sentence
        if _cued(cues, _GENERIC_CUES) and _GENERIC_DEGREE.search(sentence):
            found.generic = found.generic or sentence
    return found


def _decide(found: _Levels, title_masters: bool) -> tuple[Degree, str]:
    if found.any_level:
        return "any", found.any_level
    if found.bachelor_student:
        return "any", found.bachelor_student
    if found.phd and found.masters:
        return "phd-or-masters", found.phd if found.phd == found.masters else found.masters
    if found.phd:
        return "phd-only", found.phd
    if found.masters:
        return "phd-or-masters", found.masters
    if title_masters:
        return "phd-or-masters", ""
    if found.bachelor_held or found.generic:
        return "any", found.bachelor_held or found.generic
    return "unknown", ""


def read_degree(title: str, text: str) -> tuple[Degree, str]:
    """The degree a posting asks for, and where it was read (``title:"…"``, ``text:"…"``).

    The title decides when it names a level ("PhD Intern", "MS/PhD", "Undergraduate
    Intern"). Otherwise the sentences of the text that require a level are read, skipping
    wishes ("a Master's is desirable") and PhDs that are people ("your PhD supervisor").
    Sentences that say who may apply ("Are enrolled in a PhD") are read first; a level
    named elsewhere counts only when they name none. Bachelor's students being eligible
    makes it ``any``; a held bachelor's next to a required PhD or Master's does not.
    """
    low = _lowered(title)
    title_phd = _has(low, _POSTDOC_CUES) and (_says_phd(title) or bool(_PHD_TITLE.search(title)))
    title_masters = _has(low, _MASTERS_CUES) and bool(_MASTERS_TITLE.search(title))
    if low is None or "graduate" in low:
        title_masters = title_masters or bool(_GRADUATE_INTERN_TITLE.search(title))
    quoted = f'title:"{_snippet(title)}"'
    if _has(low, _BACHELOR_CUES) and _UNDERGRAD_TITLE.search(title):
        return "any", quoted
    if title_phd and title_masters:
        return "phd-or-masters", quoted
    if title_phd:
        return "phd-only", quoted
    sentences = _requirement_sentences(text)
    eligibility = [(s, cues) for s, cues in sentences if _ELIGIBILITY.search(s)]
    degree, sentence = _decide(_read_levels(eligibility), title_masters=False)
    if degree == "unknown":
        degree, sentence = _decide(_read_levels(sentences), title_masters)
    if degree == "unknown":
        return degree, ""
    return degree, f'text:"{_snippet(sentence)}"' if sentence else quoted


def _snippet(text: str, limit: int = 90) -> str:
    """A short, one-line quote of the words that decided a fact."""
    text = " ".join(text.split()).replace('"', "'")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def detect_degree(title: str, text: str) -> Degree:
    """The degree a posting asks for: ``phd-only``, ``phd-or-masters``, ``any`` or ``unknown``.

    See :func:`read_degree`, which also says where the degree was read.
    """
    return read_degree(title, text)[0]
