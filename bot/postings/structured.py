"""schema.org ``JobPosting`` data embedded in a page: JSON-LD and microdata.

Most career pages, and many ATS descriptions, carry the posting as structured data
beside the prose: ``<script type="application/ld+json">`` (alone, in a list, or inside an
``@graph``) or microdata (``itemtype=".../JobPosting"`` with ``itemprop`` children). What
it states is the employer's own statement of the role, so enrichment takes it before
anything it could read from the text.

The reader uses the standard library's HTML parser and ``json``; malformed blocks are
skipped, never fatal: a page with a broken JSON-LD block is still read as text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

__all__ = ["JobPostingData", "find_job_posting"]

# Cheap checks before any parsing: most descriptions carry no structured data.
_CUES = ("ld+json", "itemtype")
_MAX_BLOCK = 2_000_000


@dataclass(frozen=True, slots=True)
class JobPostingData:
    """What a schema.org JobPosting states, flattened to plain values.

    ``where`` says which syntax it came from (``jsonld`` or ``microdata``), for the
    evidence each fact carries.
    """

    where: str
    title: str = ""
    company: str = ""
    locations: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    remote: bool | None = None
    employment_types: tuple[str, ...] = ()
    education: tuple[str, ...] = ()
    credential_categories: tuple[str, ...] = ()
    date_posted: str = ""
    valid_through: str = ""
    description: str = ""
    identifier: str = ""
    salary: dict[str, Any] = field(default_factory=dict)


class _Collector(HTMLParser):
    """Collects JSON-LD script bodies and microdata JobPosting properties."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[str] = []
        self._in_ld = False
        self._buffer: list[str] = []
        # Microdata: a stack of (tag, itemtype or None); properties of the JobPosting
        # scope (and of its nested items, keyed by the nested itemprop) are collected.
        self._stack: list[tuple[str, str | None, str | None]] = []
        self.micro: dict[str, list[str]] = {}
        self._text_prop: tuple[str, int] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k.lower(): (v or "") for k, v in attrs}
        if tag == "script" and "ld+json" in attr.get("type", "").lower():
            self._in_ld = True
            self._buffer = []
            return
        itemtype = attr.get("itemtype", "") if "itemscope" in attr else None
        prop = attr.get("itemprop") or None
        if self._in_posting() and prop:
            path = self._path(prop)
            value = attr.get("content") or attr.get("datetime") or attr.get("href")
            if value:
                self.micro.setdefault(path, []).append(value)
            elif itemtype is None and tag not in ("meta", "link", "img", "br"):
                self._text_prop = (path, len(self._stack))
                self._text = []
        if tag not in ("meta", "link", "img", "br", "input", "hr"):
            self._stack.append((tag, itemtype, prop))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_ld:
            self._in_ld = False
            self.scripts.append("".join(self._buffer))
            return
        if self._text_prop is not None and len(self._stack) == self._text_prop[1] + 1:
            text = " ".join("".join(self._text).split())
            if text:
                self.micro.setdefault(self._text_prop[0], []).append(text)
            self._text_prop = None
        # Close the innermost matching tag; browsers tolerate unclosed ones.
        for index in range(len(self._stack) - 1, -1, -1):
            if self._stack[index][0] == tag:
                del self._stack[index:]
                break

    def handle_data(self, data: str) -> None:
        if self._in_ld:
            if sum(map(len, self._buffer)) < _MAX_BLOCK:
                self._buffer.append(data)
        elif self._text_prop is not None:
            self._text.append(data)

    def _in_posting(self) -> bool:
        return any(t and t.rstrip("/").endswith("JobPosting") for _, t, _ in self._stack)

    def _path(self, prop: str) -> str:
        """``prop`` prefixed by the itemprops of nested items inside the JobPosting."""
        names: list[str] = []
        for _, itemtype, outer in reversed(self._stack):
            if itemtype and itemtype.rstrip("/").endswith("JobPosting"):
                break
            if itemtype is not None and outer:
                names.append(outer)
        return ".".join([*reversed(names), prop])


def _nodes(data: Any) -> list[dict[str, Any]]:
    """Every JSON object in a JSON-LD document: top level, lists and ``@graph``."""
    found: list[dict[str, Any]] = []
    stack = [data]
    while stack and len(found) < 200:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            found.append(item)
            graph = item.get("@graph")
            if isinstance(graph, list | dict):
                stack.append(graph)
    return found


def _is_type(node: dict[str, Any], name: str) -> bool:
    kind = node.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return any(isinstance(k, str) and k.rsplit("/", 1)[-1] == name for k in kinds)


def _strings(value: Any) -> list[str]:
    """Plain strings from a value that may be a string, a list, or an object with a name."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    if isinstance(value, dict):
        for key in ("name", "value", "@value", "description"):
            if key in value:
                return _strings(value[key])
    return []


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def _address_parts(place: Any) -> tuple[str, str]:
    """(location as written, country as written) of a schema.org Place or address."""
    if isinstance(place, str):
        return place.strip(), ""
    if not isinstance(place, dict):
        return "", ""
    address = place.get("address", place)
    if isinstance(address, str):
        return address.strip(), ""
    if not isinstance(address, dict):
        return "", ""
    country = " ".join(_strings(address.get("addressCountry"))[:1])
    parts = [
        " ".join(_strings(address.get(key))[:1]) for key in ("addressLocality", "addressRegion")
    ]
    written = ", ".join(p for p in [*parts, country] if p)
    return written, country


def _from_jsonld(node: dict[str, Any]) -> JobPostingData:
    locations: list[str] = []
    countries: list[str] = []
    for place in _as_list(node.get("jobLocation")):
        written, country = _address_parts(place)
        if written:
            locations.append(written)
        if country:
            countries.append(country)
    for requirement in _as_list(node.get("applicantLocationRequirements")):
        countries.extend(_strings(requirement))
    location_type = " ".join(_strings(node.get("jobLocationType"))).upper()
    education = _as_list(node.get("educationRequirements"))
    credentials = [
        c
        for item in education
        if isinstance(item, dict)
        for c in _strings(item.get("credentialCategory"))
    ]
    education_text = [s for item in education if isinstance(item, str) for s in _strings(item)]
    education_text += [
        s
        for item in education
        if isinstance(item, dict)
        for s in _strings(item.get("description") or item.get("name"))
    ]
    salary = node.get("baseSalary")
    return JobPostingData(
        where="jsonld",
        title=" ".join(_strings(node.get("title"))[:1]),
        company=" ".join(_strings(node.get("hiringOrganization"))[:1]),
        locations=tuple(dict.fromkeys(locations)),
        countries=tuple(dict.fromkeys(countries)),
        remote=True if "TELECOMMUTE" in location_type else None,
        employment_types=tuple(s.upper() for s in _strings(node.get("employmentType"))),
        education=tuple(education_text),
        credential_categories=tuple(c.lower() for c in credentials),
        date_posted=" ".join(_strings(node.get("datePosted"))[:1]),
        valid_through=" ".join(_strings(node.get("validThrough"))[:1]),
        description=" ".join(_strings(node.get("description"))[:1]),
        identifier=" ".join(_strings(node.get("identifier"))[:1]),
        salary=salary if isinstance(salary, dict) else {},
    )


def _from_microdata(props: dict[str, list[str]]) -> JobPostingData:
    def first(*names: str) -> str:
        for name in names:
            if props.get(name):
                return props[name][0]
        return ""

    localities = props.get("jobLocation.address.addressLocality", [])
    countries = props.get("jobLocation.address.addressCountry", [])
    regions = props.get("jobLocation.address.addressRegion", [])
    locations = [
        ", ".join(p for p in parts if p)
        for parts in zip(localities, regions + [""] * len(localities), strict=False)
    ] or props.get("jobLocation", [])
    if countries and locations:
        locations = [f"{loc}, {countries[0]}" for loc in locations]
    salary: dict[str, Any] = {}
    if first("baseSalary.currency"):
        salary = {
            "currency": first("baseSalary.currency"),
            "value": {
                "minValue": first("baseSalary.value.minValue"),
                "maxValue": first("baseSalary.value.maxValue"),
                "value": first("baseSalary.value.value", "baseSalary.value"),
                "unitText": first("baseSalary.value.unitText"),
            },
        }
    return JobPostingData(
        where="microdata",
        title=first("title"),
        company=first("hiringOrganization.name", "hiringOrganization"),
        locations=tuple(dict.fromkeys(locations)),
        countries=tuple(dict.fromkeys(countries + props.get("applicantLocationRequirements", []))),
        remote=True if "TELECOMMUTE" in first("jobLocationType").upper() else None,
        employment_types=tuple(v.upper() for v in props.get("employmentType", [])),
        education=tuple(props.get("educationRequirements", [])),
        credential_categories=tuple(
            v.lower() for v in props.get("educationRequirements.credentialCategory", [])
        ),
        date_posted=first("datePosted"),
        valid_through=first("validThrough"),
        description=first("description"),
        identifier=first("identifier", "identifier.value"),
        salary=salary,
    )


def find_job_posting(html: str) -> JobPostingData | None:
    """The first schema.org JobPosting a page or HTML description states, if any."""
    if not any(cue in html for cue in _CUES):
        return None
    collector = _Collector()
    try:
        collector.feed(html)
        collector.close()
    except (AssertionError, ValueError):  # HTMLParser on pathological markup
        pass
    for script in collector.scripts:
        try:
            data = json.loads(script.strip().strip(";"), strict=False)
        except (ValueError, RecursionError):
            continue
        for node in _nodes(data):
            if _is_type(node, "JobPosting"):
                return _from_jsonld(node)
    if collector.micro:
        return _from_microdata(collector.micro)
    return None
