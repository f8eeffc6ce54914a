"""Understand a question: normalise it, translate an English one (:mod:`.english`), find its intent, the
documents or regions it names, its key terms, and the places and years it mentions."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import jieba

from ..regions import Place, load_gazetteer
from ..text import STOPWORDS, has_cjk, is_english, normalise, tokenize
from ..types import DocumentMeta, Hit
from .english import Glossary, document_names
from .intent import IntentModel
from .titles import STATE_NAME, TitleMatcher

_RESPONSIBILITY_RE = re.compile(
    r"谁负责|由谁|哪些?(个)?(部门|单位|机构)|责任单位|牵头|负责单位|主管部门|谁来|谁牵头|谁抓|归谁|"
    r"who\b.*\b(responsible|lead|in charge)|which (department|agenc|unit|bod)",
    re.I,
)
_DEADLINE_RE = re.compile(
    r"什么时候|何时|截止|期限|时限|哪一?年|多久|多长时间|时间节点|年底前|之前完成|到哪年|几年|啥时候|"
    r"\bby when\b|\bdeadline\b|\bwhen\b|\bwhat year\b|\bby which year\b",
    re.I,
)
_METADATA_RE = re.compile(
    r"谁(发布|印发|发的|制定|出台)|哪个(单位|部门|机关)(发布|印发|制定|出台|发的)|(由|是)哪个?(单位|部门|机关)(发布|印发|制定)|"
    r"发文字号|文号|什么时候(发布|印发|出台|制定|发的)|何时(发布|印发|出台)|(发布|印发|成文|签发)(日期|时间)|"
    r"哪一?天(发布|印发|发表)|(哪一?天|什么时候|何时)(发表|讲的|作的)|成文日期|"
    r"(哪一?天|哪一?年|什么时候|何时|什么时间)(开始|起)?(施行|实施|生效|公布|通过|修正|修订)|(施行|生效|公布|修正|修订)(日期|时间)|"
    r"令号|哪一?号.{0,6}令|发给哪些|主送|发文机关|哪个?机关(发布|印发|制定|出台|发的)|发文机关|讲话人|谁的讲话|谁(作|做)的|(讲话|座谈会|会议)(是)?(在)?(什么时候|何时|哪天|哪一天)|"
    r"(文件|通知|意见|方案|讲话)(是)?(什么时候|何时|哪天|哪一天)(发布|印发|出台|发的|讲的)?[？?]?$|"
    r"\bwho issued\b|\bissued by\b|\bdocument number\b|\bwhen was\b.*\b(issued|published|adopted|amended|revised)\b|"
    r"\bwho gave\b|\b(take|took|come|came) into (effect|force)\b|\beffective date\b",
    re.I,
)
_ARTICLE_RE = re.compile(r"哪一?条|第几条|哪一款|哪些条款|\bwhich (?:article|provision|clause)s?\b", re.I)
_ENUMERATION_RE = re.compile(r"哪些|哪几|几种|几项|几类|几个方面|包括什么|包含什么|\bwhat (?:are|kinds?|types?)\b|\blist\b", re.I)
_YEAR_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?\s*(?:%|％|个|家|项|次|人|名|万|亿|元|天|日|小时|分钟|件)")
_REGION_SUFFIX_RE = re.compile(r"(维吾尔自治区|壮族自治区|回族自治区|自治区|自治州|特别行政区|省|市|地区|县|区|盟)$")
_ASKED_UNIT_RE = re.compile(r"\bhow (?:many|much)\s+([a-z]+)")
_ASCII_WORD_RE = re.compile(r"[a-z][a-z\-']*")
_INTENT_WORDS = frozenset(
    ["负责", "由谁", "部门", "单位", "机构", "责任", "责任单位", "牵头", "主管", "什么", "时候", "何时", "截止", "期限", "时限", "多久", "时间", "节点", "哪年", "完成", "发布", "印发", "制定", "出台", "文号", "发文", "字号", "日期", "分别", "各自", "区别", "不同", "比较", "对比", "相比", "哪些", "哪个", "是否", "有没有", "怎么样", "怎样", "如何", "为什么", "规定", "提出", "要求", "明确", "强调", "指出", "包括", "包含", "关于", "方面", "措施", "工作", "文件", "政策", "意见", "方案", "通知", "讲话", "实施", "主要", "哪天", "哪一天", "哪一年", "几年", "几个", "两个", "多少", "能否", "能不能", "要不要", "这份", "这篇", "这次", "提到", "提及", "发表", "用来", "一起", "是不是", "需不需要", "需要", "应该", "可不可以", "哪里", "哪儿", "怎么", "具体", "什么样", "为何", "目前", "现在"]
)
# "how many / how much" asks and the units a figure answering them carries
_QUANTITY_RE = re.compile(
    r"(多少|(?<![这近前好后或哪])几)(?!乎|点)(个|名|位|人|件|次|项|家|期|篇|天|日|年|月|小时|学时|元|万元|亿元|%|分|条|批|所)?|(比例|比重|占比|百分之|分值)|"
    r"多久|多长时间|\bhow (many|much|long)\b|\bwhat (percentage|share|proportion|number)\b|\bminimum (share|number|weight)\b",
    re.I,
)
_UNIT_CLASSES = (
    ("个名位人家所", r"[个名位人家所]"),
    ("件次项条批期篇", r"[件次项条批期篇]"),
    ("天日年月小时学时", r"(?:天|个?(?:工作|自然)?日|个?月|年|小时|学时)"),  # 3个工作日 is a term in days
    ("元万亿", r"(?:元|万|亿)"),
)
_CN_NUMERAL = "一二三四五六七八九十百千万两零"
_ARABIC = r"(?<![\d.])(?!(?:19|20)\d\d(?!\d))\d+(?:\.\d+)?"
"""A figure in digits, not a year."""
_CHINESE = rf"(?<![第{_CN_NUMERAL}])[一二三四五六七八九十百千两][{_CN_NUMERAL}]*"
"""A figure in Chinese numerals (十五, 两, 一 when a unit follows), not an ordinal (第一)."""
_IN_WORDS_PERCENT = r"[一二三四五六七八九十百千万]+分之[一二三四五六七八九十百零点]+"
"""A share in words: 百分之五十, 三分之一, 千分之五 (百分之 is one case of N分之M)."""
_NUMBER = rf"(?:{_ARABIC}|{_CHINESE})"
_CN_UNIT = r"(?:个|名|位|人|家|所|件|次|项|批|期|篇|天|日|周|个?月|年|周岁|岁|小时|学时|元|万|亿|倍)"
_ANY_FIGURE = re.compile(
    rf"{_ARABIC}(?![\d.]*\s*[年月日号])"  # 30, 5.5 (not a date)
    rf"|{_CHINESE}{_CN_UNIT}"  # 五千元, 两人, 一次 (law writes figures so)
    rf"|{_IN_WORDS_PERCENT}"
)
_PERIOD = r"每(?:个)?(?:学年|学期|年度|年|季度|月|周|星期|日|天)"
_PERCENT = re.compile(rf"\d+(?:\.\d+)?\s*(?:%|％)|{_IN_WORDS_PERCENT}|\d+\s*分")


def quantity_pattern(norm: str) -> re.Pattern[str] | None:
    """For a question asking for a figure, the pattern a passage must match to give it (number + fitting unit)."""
    m = next((m for m in map(_QUANTITY_RE.search, _asking_sentences(norm)) if m), None)
    if not m:
        return None
    asked = m.group(2) or {"多久": "天", "多长时间": "天"}.get(m.group(0), "")
    if not asked and m.group(1):  # "多少钱", "金额是多少", "多少人": the word before or after names the unit
        around = m.string[max(0, m.start() - 4) : m.end() + 2]
        asked = "元" if re.search(r"钱|金额|数额|费用|资金|经费", around) else "人" if re.search(r"人数|人员", around) else ""
    period = re.match(r"(工作日|自然日|个?月|小时|学时|星期|周|年|天|日)", m.string[m.end() :]) if asked in {"个", ""} else None
    if period:  # "多少个工作日", "几个月": the time word after the classifier is the unit
        return re.compile(_NUMBER + r"\s*个?" + period.group(1).removeprefix("个"))
    if m.group(3) in {"比例", "比重", "占比", "百分之", "分值"} or asked in {"%", "分"}:
        return _PERCENT
    if any(w in m.group(0).lower() for w in ("percentage", "share", "proportion", "weight")):
        return _PERCENT
    for members, unit in _UNIT_CLASSES:
        if asked and any(ch in members for ch in asked):
            if m.group(0) in {"多久", "多长时间"}:  # how long, or how often: a term or a period (每学年, 每季度)
                return re.compile(_NUMBER + r"\s*" + unit + "|" + _PERIOD)
            return re.compile(_NUMBER + r"\s*" + unit)
    return _ANY_FIGURE


def _asking_sentences(norm: str) -> list[str]:
    """The question's sentences whose wh-words ask: in a yes-no question ending in 吗 they are indefinite
    (我和几个朋友合伙…，也能算出资吗？ asks no figure), as in any 吗 question of Mandarin grammar."""
    return [s for s in re.findall(r"[^?!。;]+[?!。;]*", norm) if not re.search(r"吗[\s?!。;]*$", s)]


@lru_cache(maxsize=1)
def question_words() -> frozenset[str]:
    """Words people ask with whatever the question is about (能否, 多久), derived by ``python -m eval fit
    question-words`` (``resources/question_words.json``): not key terms a passage must hold."""
    data = json.loads(resources.files("assistant").joinpath("resources", "question_words.json").read_text(encoding="utf-8"))
    return frozenset(entry["word"] for entry in data["words"])


def question_parts(question: str) -> list[str]:
    """The questions a text asks one after another (…？…？), each with its question mark; one part when it
    asks one (a part needs four characters of its own)."""
    parts = [p.strip() for p in re.findall(r"[^？?]+[？?]", question)]
    tail = re.sub(r"^.*[？?]", "", question, flags=re.S).strip()
    if tail:
        parts.append(tail)
    parts = [p for p in parts if len(re.sub(r"[\W_]", "", p)) >= 4]
    return parts if len(parts) >= 2 else [question]


def merge_single_characters(words: list[str]) -> list[str]:
    """Runs of single characters that are not function words (``STOPWORDS``) joined into one word: jieba's
    dictionary lacks some terms and cuts them into characters."""
    out: list[str] = []
    run = ""
    for word in [*words, ""]:
        if len(word) == 1 and has_cjk(word) and word not in STOPWORDS:
            run += word
            continue
        if run:
            out.append(run)
            run = ""
        if word:
            out.append(word)
    return out


def compound_parts(word: str) -> tuple[str, ...]:
    """The shorter words jieba finds inside a compound that together spell all of it, or ``()``."""
    if len(word) < 3:
        return ()
    parts = [w for w in jieba.lcut(word, cut_all=True) if 2 <= len(w) < len(word)]
    covered = set()
    for part in parts:
        start = word.find(part)
        covered.update(range(start, start + len(part)))
    return tuple(dict.fromkeys(parts)) if len(covered) == len(word) else ()


@dataclass(frozen=True)
class Target:
    """A document or a region named in a question, and the sources it covers."""

    name: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class KeyTerm:
    """A content word of the question and the words that count as it when found in a passage."""

    term: str
    alternatives: tuple[str, ...]
    parts: tuple[str, ...] = ()
    """The words a compound is made of (人员配备 → 人员, 配备): all of them in a passage count as the term."""

    def found(self, text: str) -> bool:
        """Whether a normalised text holds the term, one of its alternatives, or all of its parts."""
        return any(a in text for a in self.alternatives) or (bool(self.parts) and all(p in text for p in self.parts))


def coverage(terms: tuple[KeyTerm, ...], text: str, idf: dict[str, float]) -> float:
    """Share of the question's key-term weight (idf) found in a normalised passage text."""
    total = sum(idf[t.term] for t in terms)
    if total <= 0:
        return 0.0
    found = sum(idf[t.term] for t in terms if t.found(text))
    return found / total


@dataclass(frozen=True)
class Query:
    text: str
    norm: str
    intent: str
    """``fact``, ``responsibility``, ``deadline``, ``metadata`` or ``comparison``."""
    tokens: tuple[str, ...]
    """Lexical search tokens: the question's and its expansions'."""
    dense_text: str
    key_terms: tuple[KeyTerm, ...]
    targets: tuple[Target, ...] = ()
    years: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    quantity: re.Pattern[str] | None = None
    """When the question asks for a figure: what a passage must contain to give it."""
    asks_article: bool = False
    """The question asks which article says something (哪一条规定了…)."""
    enumerates: bool = False
    """The question asks for a list (哪些, 哪几项, what are)."""
    quoted: tuple[str, ...] = ()
    """Titles the question quotes in 《》."""
    places: tuple[Place, ...] = ()
    """The administrative divisions the question names (through the gazetteer)."""
    expansions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """English phrases → the Chinese words they translate to."""
    english: bool = False


def hits_by_target(query: Query, hits: Sequence[Hit]) -> list[tuple[Target, list[Hit]]]:
    """The hits of each document or region a question names, in its order (names without hits left out)."""
    return [(t, mine) for t in query.targets if (mine := [h for h in hits if h.clause.source in t.sources])]


def document_heads(query: Query, hits: Sequence[Hit]) -> list[Hit]:
    """The first hit of each document a question about documents' own facts asks about: of each document or region
    it names, for a question naming several; else the first hit among those it names (the first hit when it names
    none)."""
    if len(query.targets) >= 2:
        heads: dict[str, Hit] = {}
        for _, mine in hits_by_target(query, hits):
            heads.setdefault(mine[0].clause.source, mine[0])
        return list(heads.values())
    wanted = {s for t in query.targets for s in t.sources}
    return [next((h for h in hits if h.clause.source in wanted), hits[0])] if hits else []


_DISTRIBUTED_RE = re.compile(r"(?:印发|发布|颁布|转发)《([^》]{2,80})》")


def asked(query: Query) -> str:
    """The normalised question without the names of the documents it names (``刑法修正案`` asks nothing about
    amendments, ``关于印发…的通知`` nothing about who issued what): what it asks of them."""
    text = re.sub(r"《[^》]*》", " ", query.norm)
    for target in sorted(query.targets, key=lambda t: len(t.name), reverse=True):
        text = text.replace(normalise(target.name), " ")
    return text


def region_aliases(meta: DocumentMeta) -> set[str]:
    """Short and full names of a document's region (``张掖市`` → ``张掖市``, ``张掖``)."""
    aliases: set[str] = set()
    region = normalise(meta.region)
    if region:
        aliases.add(region)
        short = _REGION_SUFFIX_RE.sub("", region)
        if len(short) >= 2:
            aliases.add(short)
    return aliases


def document_aliases(meta: DocumentMeta) -> set[str]:
    """Names that pick out one document: its title, without the state's name legislation is cited without
    (``中华人民共和国反外国制裁法`` → ``反外国制裁法``) or without its maker (``…常务委员会关于…的决定`` →
    ``关于…的决定``), the document a notice distributes (``关于印发《X》的通知`` → ``X``), and the speaker of a
    speech (``…法制办主任 白文晖`` → ``白文晖``)."""
    title = normalise(meta.title).strip()
    aliases = {title, title.removeprefix(STATE_NAME)} if has_cjk(title) else set()
    aliases |= {normalise(inner) for inner in _DISTRIBUTED_RE.findall(title)}
    if title.find("关于") > 0:  # cited without its maker: 关于…的决定 of 全国人民代表大会常务委员会关于…的决定
        aliases.add(title[title.index("关于"):])
    if meta.doc_type == "讲话" and meta.issuer:
        speaker = normalise(meta.issuer).split()[-1]
        if 2 <= len(speaker) <= 4 and has_cjk(speaker):
            aliases.add(speaker)
    return {a for a in aliases if len(a) >= 2}


class QueryAnalyzer:
    """Turns a question into a :class:`Query`, knowing the documents of the index."""

    def __init__(
        self,
        metas: list[DocumentMeta],
        idf: Callable[[str], float] | None = None,
        intents: IntentModel | None = None,
        titles: TitleMatcher | None = None,
    ) -> None:
        """``idf``: of a token in the index (0 when unknown); without it every word counts as known.
        ``intents``: the fitted intent model (without it, the rules below decide)."""
        self.idf = idf
        self.intents = intents
        self.titles = titles
        self.known = (lambda word: idf(word) > 0) if idf is not None else None
        self.gazetteer = load_gazetteer()
        self.region_codes = {m.region_code for m in metas if m.region_code}
        groups: dict[str, set[str]] = {}
        for meta in metas:
            for alias in region_aliases(meta):
                groups.setdefault(alias, set()).add(meta.source)
        self.region_groups = {a: tuple(sorted(s)) for a, s in groups.items()}
        # names that pick out one document: its title, a speech by its speaker
        self.document_names: dict[str, tuple[str, ...]] = {}
        for meta in metas:
            for alias in document_aliases(meta):
                self.document_names[alias] = (*self.document_names.get(alias, ()), meta.source)
        self._names_longest_first = sorted(self.document_names, key=len, reverse=True)

    def analyse(self, question: str) -> Query:
        norm = normalise(question).strip()
        english = is_english(norm)
        expansions: dict[str, tuple[str, ...]] = {}
        if english and self.idf is not None:
            expansions.update(Glossary.load().translate(norm, self._word_idf))
        extra = " ".join(t for terms in expansions.values() for t in terms)
        searchable = f"{norm} {extra}"
        tokens = [*tokenize(norm, normalised=True), *tokenize(extra, normalised=True)]
        targets = self._targets(searchable)
        if english:
            targets += self._english_targets(question, targets)
        places = tuple(self.gazetteer.find(searchable + (" " + " ".join(Glossary.load().proper_names(norm)) if english else "")))
        return Query(
            text=question,
            norm=norm,
            intent=self.intent_of(norm, targets),
            tokens=tuple(tokens),
            dense_text=f"{norm} {extra}".strip() if english else norm,
            key_terms=self._key_terms(norm, expansions, targets, self._regional(places)),
            targets=targets,
            years=tuple(dict.fromkeys(_YEAR_RE.findall(norm))),
            numbers=tuple(dict.fromkeys(m.group(0) for m in _NUMBER_RE.finditer(norm))),
            quantity=quantity_pattern(norm),
            enumerates=bool(_ENUMERATION_RE.search(norm)),
            asks_article=bool(_ARTICLE_RE.search(norm)),
            quoted=tuple(normalise(q) for q in re.findall(r"《([^》]{2,80})》", norm)),
            places=places,
            expansions=expansions,
            english=english,
        )

    def _english_targets(self, question: str, found: tuple[Target, ...]) -> tuple[Target, ...]:
        """Documents an English question names by their English names (``the Trust Law``), through the titles."""
        if self.titles is None:
            return ()
        covered = {s for t in found for s in t.sources}
        targets: list[Target] = []
        for name in document_names(question, Glossary.load().stopwords):
            match = self.titles.match(name)
            if match is not None and not set(match.sources) <= covered:
                targets.append(Target(normalise(name), match.sources))
                covered.update(match.sources)
        return tuple(targets)

    def _regional(self, places: tuple[Place, ...]) -> list[str]:
        """The names (official and short) of the places a regional document applies in: the search is scoped to
        them, so they are not key terms a passage must hold."""
        names: list[str] = []
        for place in places:
            if any(code and self.gazetteer.covers(code, place) for code in self.region_codes):
                names += [place.name, *self.gazetteer.short_names(place)]
        return sorted(names, key=len, reverse=True)

    def _word_idf(self, word: str) -> float:
        """idf of a Chinese word through its tokens (the rarest part); 0 when any part is unknown."""
        parts = tokenize(word, normalised=True)
        weights = [self.idf(t) for t in parts] if self.idf is not None else []
        return max(weights) if weights and all(weights) else 0.0

    def intent_of(self, norm: str, targets: tuple[Target, ...]) -> str:
        """The answer path; a question naming two documents or regions compares them, unless it asks for the
        documents' own facts (施行日期 of each: the metadata path answers for each)."""
        kind = self._kind(norm)
        return "comparison" if len(targets) >= 2 and kind != "metadata" else kind

    def _kind(self, norm: str) -> str:
        if self.intents is not None:
            return self.intents.predict(norm)
        if _METADATA_RE.search(norm):
            return "metadata"
        if _RESPONSIBILITY_RE.search(norm):
            return "responsibility"
        if _DEADLINE_RE.search(norm):
            return "deadline"
        return "fact"

    def _targets(self, searchable: str) -> tuple[Target, ...]:
        found: list[Target] = []
        covered: set[str] = set()
        for alias in self._names_longest_first:  # the longest name first (刑法修正案 before 刑法)
            if alias in searchable and not set(self.document_names[alias]) <= covered and not any(alias in t.name for t in found):
                found.append(Target(alias, self.document_names[alias]))
                covered.update(self.document_names[alias])
        named = set(covered)
        for alias in sorted(self.region_groups, key=len, reverse=True):
            if alias in searchable and not any(alias in t.name for t in found):
                # a region also holding a document already named by its own name stands for the others
                sources = tuple(s for s in self.region_groups[alias] if s not in named) or self.region_groups[alias]
                if set(sources) <= covered:
                    continue
                found.append(Target(alias, sources))
                covered.update(sources)
        return tuple(found)

    def _key_terms(
        self, norm: str, expansions: dict[str, tuple[str, ...]], targets: tuple[Target, ...], places: list[str] = ()
    ) -> tuple[KeyTerm, ...]:
        # an English phrase of a document's name (the "trust law") names it, and the unit a figure is asked in ("how
        # many days") is how one asks, as 多少日 is: neither is a term the passages must hold
        units = set(_ASKED_UNIT_RE.findall(norm))
        terms: list[KeyTerm] = [
            KeyTerm(k, (k, *v)) for k, v in expansions.items() if k not in units and not any(k in t.name for t in targets)
        ]
        rest = norm
        for key in expansions:
            rest = rest.replace(key, " ")
        for target in targets:
            rest = rest.replace(target.name, " ")
        for name in places:
            rest = rest.replace(name, " ")
        rest = _YEAR_RE.sub(" ", rest)
        seen = {t.term for t in terms}
        words = []
        for word in merge_single_characters(jieba.lcut(rest, HMM=False)):  # the HMM glues particles ("前要")
            if self.known and len(word) >= 3 and not self.known(word):  # "在讲话中": a word the index never saw
                words += [w for w in jieba.lcut_for_search(word) if len(w) >= 2 and w != word] or [word]
            else:
                words.append(word)
        for word in words:
            word = word.strip()
            if (
                len(word) < 2
                or word in seen
                or word in STOPWORDS
                or word in _INTENT_WORDS
                or word in question_words()
                or not any(ch.isalnum() for ch in word)
                or (word.isascii() and not word.isdigit())
            ):
                continue
            seen.add(word)
            terms.append(KeyTerm(word, (word,), compound_parts(word)))
        return tuple(terms)
