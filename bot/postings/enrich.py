"""Turn a source's RawPosting into a Posting with its facts worked out."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

from bot.postings.deadline import deadline_in_text
from bot.postings.degree import read_degree
from bot.postings.facts import (
    detect_duration,
    detect_pay,
    is_internship,
    parse_posted,
)
from bot.postings.gazetteer import load_gazetteer
from bot.postings.kind import read_posting_kind
from bot.postings.model import DEGREES, Degree, Pay, Posting, RawPosting
from bot.postings.stated import structured_hints
from bot.postings.structured import find_job_posting
from bot.postings.taxonomy import load_taxonomy
from bot.postings.text import clean_inline, html_to_text
from bot.postings.urls import canonical_url

__all__ = ["enrich"]

MAX_TITLE = 300
MAX_DESCRIPTION = 20_000
# "Location: Paris", "**Location:** Saskatoon SK", "### Available Locations: Austin, London",
# and the globe-marked location chip of saved aggregator pages ("`🌎 Remote,US`").
_LOCATION_LINE = re.compile(
    r"^[\s#*>`_•·-]*(?:job |available |office |work )?(?:locations?|ort|lieu|standort)"
    r"[\s*_`]*:[\s*_`]*(.+?)[\s*_`]*$",
    re.I | re.M,
)
_GLOBE = re.compile(r"🌎\s*([^`\n]+)")
# A job board's header line that is only a place: "- Amsterdam, Noord-Holland", "Lyon, France".
_HEADER_PLACE = re.compile(
    r"^[\s*•·-]*((?:[^\W\d_][\w.'’-]*\s?){1,3},\s*(?:[^\W\d_][\w.'’-]*\s?){1,3}"
    r"(?:,\s*(?:[^\W\d_][\w.'’-]*\s?){1,3})?)\s*$",
    re.M,
)
_HEADER_LINES = 8


def _header_places(description: str) -> tuple[str, ...]:
    """A saved page's header lines that are only a place ("Amsterdam, Noord-Holland").

    Job boards print the location on a line of its own under the title and company; a
    line counts when what precedes its first comma is itself a place, so "Intern, Data
    Scientist" (a title) is left alone.
    """
    head = "\n".join(description.split("\n")[:_HEADER_LINES])
    gazetteer = load_gazetteer()
    return tuple(
        line.strip()
        for line in _HEADER_PLACE.findall(head)
        if gazetteer.countries_in_locations((line.split(",", 1)[0],))[0]
    )[:2]


# Phrases that make a role fully remote even where no location field says so.
_REMOTE_TEXT = re.compile(
    r"\b(fully remote|100% remote|remote[- ]first|remote by design|fully home[- ]based|"
    r"work[- ]from[- ]home arrangement|open to remote (?:hires|candidates|applicants)|"
    r"remote (?:position|role|internship|internships|job)s?\b|"
    r"(?:this|the) (?:role|position|internship|program|programme) "
    r"(?:is|can be|will be|is expected to be) (?:fully |entirely )?remote|"
    r"work remotely from anywhere|work from wherever|remote research internships?|"
    # "This role can be based remotely within one of our hubs", "Remote work within
    # Europe may be considered": open to a remote hire.
    r"(?:can|may) be based remotely|"
    r"remote work(?:ing)? (?:within|from|in) (?:[\w,]+ ){1,4}(?:may|can) be considered)",
    re.I,
)
_ANYWHERE = re.compile(r"\b(from anywhere|100% remote|fully remote|work from wherever)\b", re.I)
_CONDITION = re.compile(r"\b(if|unless|whether|some roles)\b", re.I)


# Every _REMOTE_TEXT phrase has one of these words: text without them is not searched
# (issue #8: speed). Keep in step with the pattern.
_REMOTE_CUES = ("remote", "home", "wherever")


def _says_remote(text: str) -> bool:
    """A sentence states the role is remote (not "if the description says fully remote")."""
    lowered = text.lower()
    if not any(cue in lowered for cue in _REMOTE_CUES):
        return False
    for match in _REMOTE_TEXT.finditer(text):
        start = max(text.rfind(".", 0, match.start()), text.rfind("\n", 0, match.start()))
        if not _CONDITION.search(text[start + 1 : match.start()]):
            return True
    return False


# Hybrid as the way of working ("a hybrid work model"), not "a hybrid of roles" nor
# "we support in-person, hybrid, and remote work".
_HYBRID_TEXT = re.compile(
    r"\bhybrid[- ](?:work|working|model|role|position|schedule|policy|arrangement|environment|"
    r"set-?up|way of working|office)|\bhybrid\s*\(|télétravail|teletravail|"
    r"tussen thuiswerken en|\b\d (?:days?|x) (?:a|per) week in (?:the )?office",
    re.I,
)
_TITLE_REMOTE = re.compile(r"\bremote\b", re.I)
_TEXT_SCAN = 12_000
# The sentence patterns below read casefolded sentences, case-sensitively: the same
# matches as a case-insensitive search, in about half the time (issue #8).
# Qualification sentences name degree fields ("PhD in Operations Research or related"),
# which are not the posting's research areas; tool lists ("Java, C++, Python") neither.
_QUALIFICATION_SENTENCE = re.compile(
    r"\b(degree|ph\.?d|master'?s|bachelor'?s|majoring in|major in|field of study|"
    r"related fields?|related discipline|quantitative (field|discipline)|academic background)\b"
)
_TOOL = re.compile(
    r"\b(python|java|c\+\+|c#|pytorch|tensorflow|jax|sql|scala|spark|matlab|r|go|rust|"
    r"kubernetes|docker|aws|gcp|azure|numpy|pandas|scikit-learn|hadoop|javascript)(?![\w+#])"
)
# What a candidate should already bring is not what the role does (LABELLING.md: skill
# lists marked preferred do not count): "a strong background in computer vision",
# "knowledge of search engines / NLP is a plus", "具有…知识者优先". Plain "experience
# with" stays: short postings state the work only in their requirements.
_SKILL_SENTENCE = re.compile(
    r"\b(?:background in|(?:is|are|would be) a (?:big |strong )?plus|(?:is |are )?preferred|"
    r"desirable|nice to have|"
    # What the candidate wants to or gets to learn is not the work either: "a desire to
    # learn how AI agents help", "the chance to learn and grow your deep learning skills".
    r"(?:desire|eager(?:ness)?|keen|willing(?:ness)?|opportunity|chance) to learn)\b|"
    r"优先|歓迎|우대"
)
# An aggregator's tag line ("Categories: Data Science/ML/AI, Industry") files the posting
# under broad headings; it says nothing about this role's work.
_TAG_LINE = re.compile(r"^[\s*_#>-]*(?:categories|category|tags|keywords)[\s*_]*:")
_SENTENCE_SPLIT = re.compile(r"\n|(?<=[.;!?])\s+")


def _says_nothing_of_the_work(sentence: str) -> bool:
    """A qualification or preferred-skill sentence, a tag line or a tool list (casefolded)."""
    return (
        _QUALIFICATION_SENTENCE.search(sentence) is not None
        or _SKILL_SENTENCE.search(sentence) is not None
        or _TAG_LINE.match(sentence) is not None
        or len(_TOOL.findall(sentence)) >= 3
    )


# Headings of sections that describe the company, benefits, the law or the candidate,
# not the role.
_BOILERPLATE_HEADING = re.compile(
    # "About the role" and "About the team" describe the work and stay; "About us",
    # "About the company" and "About <Company>" do not.
    r"^[\s#*_>-]*(about (?!(?:the |this |our )?(?:role|team|job|position|opportunity|"
    r"internship|program|programme|project|work)\b)(us|the (company|employer)|[\w&.' -]{1,40})|"
    r"company description|"
    r"who we are|our (mission|story|values|company|benefits|culture)|benefits|perks|"
    r"what we offer|why (join|work)|equal (employment )?opportunity|eeo|"
    r"preferred qualifications|nice to have|bonus(?: points)?|pay (range|transparency)|"
    # What a candidate must bring is not what the role does (LABELLING.md: areas go by the
    # title and the duties); the degree fields and skill lists live here.
    r"(?:minimum |basic |required )?qualifications|requirements|what you (?:must have|need|bring)|"
    r"must[- ]haves?|"
    r"compensation|salary|disclaimer|privacy)\b[^\n]{0,40}$",
    re.I,
)
_HEADING = re.compile(r"^\s*(#{1,6}\s+.+|\*\*[^*]{2,80}\*\*:?|[A-Z][^.!?\n]{1,60}:)\s*$")
# A body area needs this many mentions: one passing mention in a long text (a list of
# the lab's other topics) does not make the role about it.
_BODY_MENTIONS = 1


# Headings of the sections that list the role's duties.
_DUTY_HEADING = re.compile(
    r"^[\s#*_>-]*(?:key |main |your |job |the )?(?:responsibilities|duties|tasks|"
    r"what you(?:'ll| will) (?:do|be doing|work on)|(?:the |your |this )?role(?: description)?|"
    r"roles? (?:and|&) responsibilities|"
    r"about the (?:role|internship|position|project)|in this role|project description|"
    r"(?:position|role|job|internship) (?:overview|summary)|"
    r"(?:fields|areas|topics) of research|research (?:topics|areas|directions|projects)|"
    r"(?:types of |available |example |intern |internship )?projects)\b",
    re.I,
)
# A heading of a page saved as plain text: a short capitalised line with no sentence end
# ("Types of placements", "Where you will work"). It ends a company or benefits section.
_BARE_HEADING = re.compile(r"^\s*[A-Z][^.!?:;,\n]{2,60}$")
# A line this short that starts with a duties heading is that heading.
_BARE_HEADING_WORDS = 3


def _bare_duties_heading(line: str) -> bool:
    """A saved page's duties heading standing alone, without a colon ("Position
    Overview", "Key Responsibilities"): it still ends a boilerplate section."""
    return len(line.split()) <= _BARE_HEADING_WORDS and bool(
        _DUTY_HEADING.match(line) and not line.rstrip().endswith((".", ","))
    )


# Words that introduce the work itself: "you will…", "the team is responsible for…".
_DUTY_CUE = re.compile(
    r"\b(?:you will|you'll|responsible for|work(?:s|ing)? on|focus(?:es|ed|ing)? on|"
    r"in this role|(?:intern|role|team|position|internship) will|projects? (?:on|in)|"
    r"(?:to|will) (?:build|develop|design|research))\b"
)
# How far after a cue the work is named: further on, a sentence drifts to lists of
# domains and other teams' topics ("… across domains including vision, robotics").
# (A hyphenated word counts as one: a window never ends inside "robot-assisted".)
# Examples end it too: "you will study effects like label noise or anomaly detection".
_DUTY_WINDOW = re.compile(
    r"(?:\W*(?!(?:across|including|range from|ranging from|such as|like|e\.g)\b)"
    r"\w+(?:-\w+)*){1,16}"
)


def _role_text(text: str) -> tuple[str, str]:
    """The sentences about the role that name an area, and those that state its duties.

    Company boilerplate sections, qualification sentences, tag lines and tool lists are
    left out. The duties are the lines under a duties heading and the few words after a
    phrase that introduces the work ("you will", "responsible for").
    """
    taxonomy = load_taxonomy()
    role: list[str] = []
    duties: list[str] = []
    # Every area phrase is also a duty phrase: a text, then a sentence, naming none needs
    # no further reading (issue #8).
    if not taxonomy.mentions_in_duties(text):
        return "", ""
    skipping = in_duties = False
    for line in text.splitlines():
        if not line:
            continue
        # Typographic apostrophes, as most pages write them: "What You’ll Do".
        line = line.replace("’", "'")
        boilerplate = _BOILERPLATE_HEADING.match(line) is not None
        if boilerplate or _bare_duties_heading(line) or _HEADING.match(line):
            skipping = boilerplate
            in_duties = not boilerplate and _DUTY_HEADING.match(line) is not None
            continue
        if skipping and _BARE_HEADING.match(line):
            skipping = False  # the next section of a page saved without its markup
            continue
        if skipping:
            continue
        for sentence in _SENTENCE_SPLIT.split(line):
            sentence = sentence.casefold()
            if not taxonomy.mentions_in_duties(sentence) or _says_nothing_of_the_work(sentence):
                continue
            if taxonomy.mentions_any(sentence):
                role.append(sentence)
            if in_duties:
                duties.append(sentence)
                continue
            for cue in _DUTY_CUE.finditer(sentence):
                window = _DUTY_WINDOW.match(sentence, cue.end())
                if window is not None:
                    duties.append(sentence[cue.start() : window.end()])
    return "\n".join(role), "\n".join(duties)


# Sentences that name places which are not where this job is: other options ("we may
# also have internships in Austria, France…"), the company's offices, its reach, and
# where benefits apply.
_OTHER_PLACES = re.compile(
    r"\b(?:also|other|additional|further|elsewhere|as well as|similar)\b[^.\n]{0,60}"
    r"\b(?:internships?|positions?|roles?|openings?|locations?|offices?|opportunities|jobs?)\b|"
    r"\b(?:offices?|locations?|hubs?|sites?|presence|operations|customers|clients|employees|"
    r"teams?) (?:in|across|around|throughout) (?:\w+ ){0,2}(?:countries|the world|\w+,)|"
    r"\b(?:offices?|headquarter(?:s|ed)) in\b|\bworldwide\b|\bglobal(?:ly)? (?:presence|team)|"
    r"\b(?:benefits?|insurance|visa|relocation|pension)\b",
    re.I,
)


def _where_text(text: str) -> str:
    """The sentences of a text that may say where the job is (see _OTHER_PLACES)."""
    kept: list[str] = []
    skipping = False
    for line in text.splitlines():
        boilerplate = _BOILERPLATE_HEADING.match(line) is not None
        if boilerplate or _bare_duties_heading(line) or _HEADING.match(line):
            skipping = boilerplate
        elif skipping and _BARE_HEADING.match(line):
            skipping = False
        if skipping:
            continue
        kept.extend(s for s in _SENTENCE_SPLIT.split(line) if not _OTHER_PLACES.search(s))
    return "\n".join(kept)


# A work mode or place glued to a title by a bare hyphen ("Data Science-Remote") is a
# separate part of the title: the hyphen must not join it into the area phrase before it.
_GLUED_SUFFIX = re.compile(r"(?<=\w)-(?=(?:remote|hybrid|on-?site|in-office)\b)", re.I)


def _areas(title: str, text: str) -> dict[str, str]:
    """Each area the role is about, with where it was read (title, duties or text)."""
    taxonomy = load_taxonomy()
    title = _GLUED_SUFFIX.sub(" - ", title)
    if taxonomy.is_role_without_area(title):
        return {}
    found = dict.fromkeys(sorted(taxonomy.find_in_title(title)), "title")
    role, duties = _role_text(text)
    counts = taxonomy.count(role)
    # With a title that names the role's areas, the body must say an extra area twice to
    # add it (a bare title, "Research Intern", lets one mention count), unless it says it
    # where it states the duties.
    needed = _BODY_MENTIONS + 1 if found else _BODY_MENTIONS
    for slug in sorted(taxonomy.find_in_duties(duties)):
        found.setdefault(slug, "duties")
    for slug, n in sorted(counts.items()):
        if n >= needed:
            found.setdefault(slug, f"text, {n} mention{'s' if n > 1 else ''}")
    return found


def _deadline(value: object, now: datetime) -> datetime | None:
    """An application deadline a source states (an ISO date or time)."""
    if not isinstance(value, str | datetime):
        return None
    return parse_posted(value, now)


def _with_structured(raw: RawPosting) -> tuple[RawPosting, str]:
    """The record with a schema.org JobPosting in its description taken as stated hints.

    Hints the source itself states win over the embedded data; the second value is the
    text to read facts from (the JobPosting's own description where the record is a whole
    page around it).
    """
    data = find_job_posting(raw.description) if raw.description else None
    if data is None:
        return raw, raw.description
    hints, origins = structured_hints(data)
    hints.update(raw.hints)
    origins.update(raw.origins)
    if not raw.locations and data.locations:
        origins["locations"] = f"{data.where}:jobLocation"
    page = not raw.url and not raw.company and not raw.locations
    text = raw.description
    if page and len(data.description) >= 200:
        text = data.description
    return (
        replace(
            raw,
            title=data.title if page and data.title else raw.title,
            company=raw.company or data.company,
            locations=raw.locations or data.locations,
            posted=raw.posted or data.date_posted or None,
            hints=hints,
            origins=origins,
        ),
        text,
    )


def _origin(raw: RawPosting, key: str) -> str:
    return raw.origins.get(key, f"source:{key}")


def _quote(text: str, limit: int = 90) -> str:
    text = " ".join(text.split()).replace('"', "'")
    return f'"{text if len(text) <= limit else text[: limit - 1].rstrip() + "…"}"'


def enrich(raw: RawPosting, now: datetime) -> Posting:
    """Work out areas, countries, degree, internship, dates and pay for one raw record.

    What the source states (its fields, or schema.org data in the page) wins; the text
    fills what is not stated. Each fact records where it was read (``Posting.evidence``).
    """
    raw, body = _with_structured(raw)
    evidence: list[tuple[str, str]] = []
    posted_at = parse_posted(raw.posted, now)
    title = clean_inline(raw.title)[:MAX_TITLE] or "(untitled)"
    description = html_to_text(body)[:MAX_DESCRIPTION]
    locations = tuple(clean_inline(loc) for loc in raw.locations if loc and loc.strip())
    if not locations:
        written = _GLOBE.findall(description) + _LOCATION_LINE.findall(description)
        locations = tuple(dict.fromkeys(m.strip() for m in written if m.strip()))[:5]
    if not locations and not raw.url:
        locations = _header_places(description)
    gazetteer = load_gazetteer()
    countries, remote = gazetteer.countries_in_locations(locations)
    if countries:
        where = raw.origins.get("locations") or f"locations:{_quote('; '.join(locations))}"
        evidence.append(("countries", where))
    strong_remote = _says_remote(f"{title}\n{description}") or bool(
        _TITLE_REMOTE.search(title) and not _HYBRID_TEXT.search(title)
    )
    hinted = raw.hints.get("countries")
    stated_countries = (
        {str(c) for c in hinted} if isinstance(hinted, list | tuple) and hinted else set()
    )
    # A title that names a country ("… Intern - Colombia") adds it; where no location
    # says where the job is, the text is read for places, unless the role is remote from
    # anywhere: then the places a text names (where past interns came from, the company's
    # offices) are not where the job is. Countries the source states leave the text unread.
    in_title = gazetteer.countries_in_text(title) - countries
    if in_title:
        countries |= in_title
        evidence.append(("countries", f"title:{_quote(title)}"))
    remote_anywhere = not countries and (remote or bool(_ANYWHERE.search(description)))
    if not countries and not stated_countries and not remote_anywhere:
        in_text = gazetteer.countries_in_text(_where_text(description[:_TEXT_SCAN]))
        if in_text:
            countries |= in_text
            evidence.append(("countries", "text"))
    if not countries and not stated_countries and not raw.locations and not remote_anywhere:
        # A page that names no place at all: the country of the domains it links to.
        linked = gazetteer.countries_of_domains(raw.description[:_TEXT_SCAN])
        if linked:
            countries |= linked
            evidence.append(("countries", "text:linked domains"))
        else:
            paid_in = gazetteer.countries_of_currency(description[:_TEXT_SCAN])
            countries |= paid_in
            if paid_in:
                evidence.append(("countries", "text:currency"))
    if strong_remote:
        remote = True
    elif remote and _HYBRID_TEXT.search(description):
        # "Remote" in a header, but the text describes office days: hybrid is not remote.
        remote = False
    if stated_countries - countries:
        evidence.append(("countries", _origin(raw, "countries")))
    countries |= stated_countries
    hinted_remote = raw.hints.get("remote")
    if isinstance(hinted_remote, bool):
        remote = remote or hinted_remote
    intern_hint = raw.hints.get("is_internship")
    pay_text = raw.hints.get("pay_text")
    active = raw.hints.get("active")
    posting_hint = raw.hints.get("is_posting")
    is_posting, posting_reason = read_posting_kind(
        title,
        description,
        posting_hint if isinstance(posting_hint, bool) else None,
        structured=bool(raw.locations or raw.company),
        page=not raw.url,
    )
    evidence.append(
        ("is_posting", _origin(raw, "is_posting") if posting_reason == "stated" else posting_reason)
    )
    # A guide, news item or landing page asks for no degree of its own: only its title can
    # say one ("… for PhD students").
    degree_hint = raw.hints.get("degree")
    if isinstance(degree_hint, str) and degree_hint in DEGREES:
        degree: Degree = degree_hint
        evidence.append(("degree", _origin(raw, "degree")))
    else:
        degree, where = read_degree(title, description if is_posting else "")
        if where:
            evidence.append(("degree", where))
    # A page its source files as a blog post or news item has no role, hence no role areas
    # (a lab's openings page, not a posting either, still says what the lab works on).
    blog_post = posting_hint is False and not is_posting
    stated_areas = raw.hints.get("areas")
    if blog_post:
        areas: dict[str, str] = {}
    elif isinstance(stated_areas, tuple) and not stated_areas:
        areas = {}
        evidence.append(("areas", f"{_origin(raw, 'areas')}: no research area"))
    else:
        areas = _areas(title, description)
    evidence.extend(("areas", f"{slug}: {where}") for slug, where in areas.items())
    internship = is_posting and is_internship(
        title, description, intern_hint if isinstance(intern_hint, bool) else None
    )
    if is_posting and isinstance(intern_hint, bool):
        evidence.append(("is_internship", _origin(raw, "is_internship")))
    elif internship:
        evidence.append(("is_internship", f"title:{_quote(title)}"))
    return Posting(
        source=raw.source,
        external_id=raw.external_id,
        url=canonical_url(raw.url),
        title=title,
        company=clean_inline(raw.company),
        locations=locations,
        countries=tuple(sorted(countries)),
        remote=remote,
        areas=tuple(sorted(areas)),
        degree=degree,
        is_posting=is_posting,
        is_internship=internship,
        posted_at=posted_at,
        # A deadline without a year is read against the posting's date where known, so
        # that the same text gives the same deadline at every poll.
        deadline=_deadline(raw.hints.get("deadline"), now)
        or deadline_in_text(f"{title}\n{description}", posted_at or now),
        pay=stated_pay
        if isinstance(stated_pay := raw.hints.get("pay"), Pay)
        else detect_pay(pay_text if isinstance(pay_text, str) else f"{title}\n{description}"),
        duration=detect_duration(f"{title}\n{description}"),
        description=description,
        active=active if isinstance(active, bool) else True,
        evidence=tuple(evidence),
    )
