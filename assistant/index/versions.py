"""Versions of one document: the same title issued (or amended) on different dates.

A law is amended and re-published under the same title; each text is one version (lawcorpus keeps them side
by side as ``专利法实施细则(2010-01-09).md`` and ``专利法实施细则(2023-12-11).md``). Versions are ordered by
their date (``date_issued``, which for a law is the date of its latest amendment; else the date in the file
name; then ``effective``); a later version supersedes an earlier one; the latest is current unless it says
it is repealed (``已废止`` / ``失效``), in which case no version is.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from ..text import to_simplified
from ..types import DocumentMeta

NOT_IN_FORCE = ("已废止", "失效")
_SOURCE_DATE_RE = re.compile(r"[（(]((?:19|20)\d{2}-\d{2}-\d{2})[）)](?:\.[A-Za-z0-9]+)?$")
_VERSION_MARK_RE = re.compile(r"[（(]\s*(?:19|20)\d{2}\s*年?\s*(?:修正|修订|修改|版)?\s*[）)]$")


@dataclass(frozen=True)
class VersionGroup:
    """The documents that are versions of one title, oldest first."""

    key: tuple[str, str]
    """Normalised title and region: what the versions share."""
    versions: tuple[str, ...]
    """Sources, oldest first."""
    current: str
    """Source of the version in force; ``""`` when the latest version is repealed."""


@dataclass(frozen=True)
class Version:
    """Where one document stands among the versions of its title."""

    source: str
    group: VersionGroup
    position: int
    """Index in ``group.versions`` (0 = oldest)."""
    supersedes: str
    """The version before this one (``""`` for the first)."""
    superseded_by: str
    """The version after this one (``""`` for the latest)."""

    @property
    def current(self) -> bool:
        return self.group.current == self.source


def title_key(title: str) -> str:
    """A title compared across versions: simplified script, no spaces, one set of brackets, no trailing
    version mark such as ``（2019年修正）``."""
    text = unicodedata.normalize("NFKC", to_simplified(title))
    text = re.sub(r"\s+", "", text).translate(str.maketrans("〈〉<>", "《》《》"))
    return _VERSION_MARK_RE.sub("", text)


def version_date(meta: DocumentMeta) -> str:
    """The date that orders versions: ``date_issued``, else the date a lawcorpus file name carries, else
    ``effective``."""
    m = _SOURCE_DATE_RE.search(meta.source)
    return meta.date_issued or (m.group(1) if m else "") or meta.effective


def _order(meta: DocumentMeta) -> tuple[str, str, str]:
    return version_date(meta), meta.effective, meta.source


def link_versions(metas: Iterable[DocumentMeta]) -> dict[str, Version]:
    """Each document's place among the versions of its title (a document alone is its own only version).

    Documents without a title are each alone. Versions with the same date are ordered by source name.
    """
    groups: dict[tuple[str, str], list[DocumentMeta]] = {}
    for meta in metas:
        key = (title_key(meta.title), meta.region) if meta.title else (f"\x00{meta.source}", "")
        groups.setdefault(key, []).append(meta)
    out: dict[str, Version] = {}
    for key, members in groups.items():
        members = sorted(members, key=_order)
        latest = members[-1]
        current = "" if latest.status in NOT_IN_FORCE else latest.source
        group = VersionGroup(key=key, versions=tuple(m.source for m in members), current=current)
        for i, meta in enumerate(members):
            out[meta.source] = Version(
                source=meta.source,
                group=group,
                position=i,
                supersedes=members[i - 1].source if i else "",
                superseded_by=members[i + 1].source if i + 1 < len(members) else "",
            )
    return out
