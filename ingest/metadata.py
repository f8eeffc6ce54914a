"""Document metadata read from the text (title, 发文字号, issuer, dates, region, type, period), with sidecar overrides.

Two layouts: a policy document (header lines, page fields such as 标题 / 发文字号 / 成文日期, a sign-off), and a law
(a title line, then dated history lines — 通过 / 批准 / 公布 / 修正 / 施行 — then the articles, as in lawcorpus).
For a law the history gives the issuing body, the version's date, the 令号 and the 施行 date. Places are resolved
in the gazetteer of :mod:`ingest.regions`; the kind of text follows from its title's kind word and its maker.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections import Counter
from dataclasses import dataclass, fields, replace
from pathlib import Path

from assistant.regions import Gazetteer, Place, load_gazetteer
from assistant.text import IN_FORCE_RE, is_traditional, to_simplified
from assistant.types import DocumentMeta

DOC_NUMBER_RE = re.compile(
    r"[\u4e00-\u9fff]{1,10}[〔\[［【(（]\s*(?:19|20)\d{2}\s*[〕\]］】)）]\s*\d{1,4}\s*[号號]"
)
_DATE_RE = re.compile(r"((?:19|20)\d{2})\s*[年\-./]\s*(\d{1,2})\s*[月\-./]\s*(\d{1,2})")
_DMY_RE = re.compile(r"(\d{1,2})[./-](\d{1,2})[./-]((?:19|20)\d{2})")
_PERIOD_RE = re.compile(r"((?:19|20)\d{2})\s*(?:年)?\s*[-—–－~～至到]+\s*((?:19|20)\d{2})\s*年?")
DOC_TYPES = (
    "实施方案", "工作方案", "行动方案", "实施意见", "指导意见", "意见", "通知", "讲话", "决定", "办法", "规定", "条例",
    "细则", "纲要", "规划", "报告", "方案", "批复", "通告", "公告", "函", "要点", "解释", "规则", "安排", "决议", "守则", "命令",
)
RULE_KINDS = ("条例", "规定", "办法", "细则", "规则", "决定", "决议")
"""Title kinds that make a text of a law-making body legislation (法律 / 行政法规 / 规章 / 地方性法规)."""
STATE_COUNCIL = ("国务院", "政务院", "中央军委", "中央军事委员会")
"""The central government (政务院 before 1954) and the military commission: their rules are 行政法规 (军事法规)."""
REGULATION_KINDS = ("规定", "办法", "细则", "规则")
"""Title kinds of the rules (规章) of ministries and local governments."""
JUDICIAL_KINDS = ("解释", "规定", "批复", "决定", "规则", "办法", "细则", "安排", "解答")
"""Title kinds of the supreme court's and procuratorate's judicial interpretations (the 司法解释工作规定 forms)."""
NATIONAL_BODIES = ("全国人民代表大会", "国务院", "最高人民法院", "最高人民检察院", "中共中央", "中央", "中华人民共和国")
"""Issuers that act for the whole country (the organs the Constitution names); their documents have no region."""
_ISSUER_END = r"(?:人民政府办公厅|人民政府办公室|人民政府|办公厅|办公室|委员会|党委|市委|省委|县委|区委|政府|厅|局|委|院)"


class MetadataError(ValueError):
    """A sidecar metadata file is invalid."""


def iso_date(text: str) -> str:
    m = _DATE_RE.search(text)
    if m:
        y, mo, d = m.groups()
    else:
        m = _DMY_RE.search(text)
        if not m:
            return ""
        d, mo, y = m.groups()
    return f"{int(y):04d}-{int(mo):02d}-{int(d):02d}"


# ---------------------------------------------------------------- legislation: title line and dated history

_NUM = r"[\d〇零一二三四五六七八九十百千]+"
_EVENT_DATE_RE = re.compile(r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_EVENT_BREAK = "\n \t（(）)，,；;。"
"""A date at the start of the block or after one of these characters (or after 根据) begins a new event."""
_STRUCTURE_RE = re.compile(rf"^(?:#|<!--|第{_NUM}[条章编节]|目\s*录|序\s*言)")
MAX_EVENT = 400
"""A history line is short: a longer dated paragraph is body text."""
_BODY_END_RE = re.compile(
    rf"第{_NUM}次|第{_NUM}号|令第|公告|《|[（(]|(?:部长办公|常务|全体|部务|主任|办公)?会议|审议|通过|批准|公布|发布|颁布|修正|修订|施行|实施"
)
_ORDER_RE = re.compile(rf"([\u4e00-\u9fff]{{1,40}}?(?:令|公告))第({_NUM})号")
_HEADING_RE = re.compile(r"[\u4e00-\u9fff]{2,30}(?:令|公告)")
"""The first line of a promulgating order or announcement (某市人民政府令, 某省人民代表大会常务委员会公告)."""
_HEADING_NUMBER_RE = re.compile(rf"[（(]?第({_NUM})[号號][）)]?")
_DATE_LINE_RE = re.compile(r"(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日")
_STATUS_RE = re.compile(r"(?:时效性|效力状态|效力级别|有效性|状态)\s*[:：]\s*(现行有效|已修订|已废止|已失效|失效)")
_STATUS_MARK_RE = re.compile(r"[（(【\[]\s*(现行有效|已修订|已废止|已失效|失效)\s*[）)】\]]$")
_STATUS_LINE_RE = re.compile(r"(现行有效|已修订|已废止|已失效|失效)")


@dataclass(frozen=True)
class Event:
    """One dated line of a law's history: adoption, approval, promulgation, amendment or entry into force."""

    date: str
    """ISO date."""
    text: str
    """The line as written (a line wrapped over several lines joined)."""
    act: str
    """``adopted``, ``approved``, ``promulgated``, ``amended`` or ``effective``."""
    body: str
    """The body that acted, without the session (第十三届, 第五次会议): 某市人民代表大会常务委员会."""

    @property
    def in_force(self) -> bool:
        """The line puts the text in force: ``…施行`` (``公布施行``, ``发布之日施行``)."""
        return bool(re.search(r"(?:施行|实施|生效)$", self.text))


def _act(text: str) -> str:
    if re.search("修正|修订|修改", text):
        return "amended"
    if re.search("公布|发布|颁布", text):
        return "promulgated"
    if "通过" in text:
        return "adopted"
    if "批准" in text:
        return "approved"
    if re.search(r"(?:施行|实施|生效)$", text):
        return "effective"
    return ""


def acting_body(rest: str) -> str:
    """The body named after an event's date: ``第九届某省人民代表大会常务委员会第三次会议通过`` → 某省人民代表大会常务委员会."""
    rest = rest.lstrip(" 经由")
    m = _BODY_END_RE.search(rest)
    body = rest[: m.start()] if m else ""
    body = re.sub(rf"第?{_NUM}届|第?{_NUM}次$|(?:19|20)\d{{2}}年$|中华人民共和国", "", body)
    body = re.sub(r"(?:审判|检察)委员会$", "", body).strip(" ，,、")
    if not body:
        m = re.match(r"《([^《》〈]{2,30}?)关于", rest)
        body = m.group(1) if m else ""
    return body


def split_events(block: str) -> list[Event]:
    """The dated events of a history block; one line may hold several (``…修正 2010年5月1日…修订``)."""
    starts = [
        m
        for m in _EVENT_DATE_RE.finditer(block)
        if m.start() == 0 or block[m.start() - 1] in _EVENT_BREAK or block[: m.start()].endswith("根据")
    ]
    events = []
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(block)
        text = re.sub(r"\s*\n\s*", "", block[m.start() : end]).strip()
        text = re.sub(r"(?:\s|根据|[（）()，,。；;])+$", "", text)
        act = _act(text[m.end() - m.start() :]) if _closed(text) and len(text) <= MAX_EVENT else ""
        if act:
            y, mo, d = m.groups()
            date = f"{int(y):04d}-{int(mo):02d}-{int(d):02d}"
            events.append(Event(date, text, act, acting_body(text[m.end() - m.start() :])))
    return events


def _closed(line: str) -> bool:
    """A history line ends with its act (``…通过``, ``…第一次修正``, ``…施行``); otherwise it wraps onto the next."""
    act = r"(?:通过|批准|公布|发布|颁布|修正|修订|修改|施行|实施|生效)"
    return bool(re.search(rf"{act}(?:的《[^《》]*》)?[^\u4e00-\u9fff]*(?:根据)?$", line))


def order_heading(lines: list[str]) -> tuple[str, str]:
    """The 令号 or 公告号 and the act's name when a text opens as the order or announcement that promulgates it
    (``某市人民政府令`` / ``第289号`` / ``《某市某办法》已经……通过，现予公布……``), else ``("", "")``: such a text
    is cited by the act's name and the order's number, not by its heading line."""
    if len(lines) < 3 or not _HEADING_RE.fullmatch(lines[0]):
        return "", ""
    m = _HEADING_NUMBER_RE.fullmatch(re.sub(r"\s", "", lines[1]))
    if not m:
        return "", ""
    named = next((q.group(1) for line in lines[2:6] for q in [re.search(r"《([^《》]{2,60})》", line)] if q), "")
    return f"{lines[0]}第{m.group(1)}号", named


def order_history(opening: list[str], order: str) -> list[str]:
    """History lines (``2023年11月20日市政府第37次常务会议审议通过``, ``2023年12月5日某市人民政府令第289号公布``)
    from an order's promulgating sentence (``《…》已经2023年11月20日市政府第37次常务会议审议通过，现予公布``, ``已由
    …会议于2023年8月29日通过，经…于2023年11月30日批准``) and its date line, in the layout of a law's history."""
    lines = []
    for line in opening[2:]:
        if _DATE_LINE_RE.fullmatch(line):
            lines.append(f"{line}{order}公布")
            break
        for segment in re.split(r"[，,。；]", line):
            m = _EVENT_DATE_RE.search(segment)
            if not m or not re.search(r"(?:通过|批准)$", segment):
                continue
            body = re.sub(r"^(?:《[^《》]*》)?(?:已经|已由|已|经|由)", "", segment[: m.start()]).rstrip("于在")
            lines.append(f"{m.group(0)}{body}{segment[m.end():]}")
    return lines


def law_head(text: str, header: list[str], lead: int = 4) -> tuple[str, list[str]]:
    """The title of a law and its history lines (lawcorpus layout: title, then dated lines, then the articles).

    Read from the first lines of the cleaned text (a ``# `` mark and ``<!-- INFO END -->`` may or may not be
    there), else from the header lines. A text is taken for a law when a dated line with an act (通过, 公布,
    修正 …) comes within ``lead`` lines of its first line, or its first line is a ``# `` title. Lines that do
    not start with a date continue a history line that has not reached its act yet.
    """
    for source in (text.split("\n", 80)[:80], header):
        lines = [line.strip() for line in source if line.strip()]
        if not lines:
            continue
        marked = bool(re.match(r"#\s", lines[0]))
        title = order_heading(lines)[1] or lines[0].lstrip("#").strip()
        block: list[str] = []
        open_line = False
        for n, line in enumerate(lines[1:], 1):
            if _STRUCTURE_RE.match(line):
                break
            dated = bool(_EVENT_DATE_RE.match(line.lstrip("（(")))
            wraps = open_line and len(line) <= MAX_EVENT // 2
            if dated or wraps or re.fullmatch(r"(?:公布|发布)之日(?:起)?施行", line):
                block.append(line)
                open_line = not _closed(line) and not re.search(r"[。：:；）)]$", line)
            elif any(_EVENT_DATE_RE.match(b.lstrip("（(")) for b in block) or n > lead:
                break
            else:
                block.append(line)
        if marked or split_events("\n".join(block)):
            return title, block
    return "", []


def issuing_body(events: list[Event]) -> str:
    """Who made the law: the adopting body (全国人大常委会 rather than the 主席令 that promulgates), else the
    promulgating or revising body, and only then a body that approved it (a province approves a city's law)."""
    for act in ("adopted", "promulgated", "amended", "approved"):
        for event in events:
            if event.act == act and event.body:
                return event.body
    return ""


def order_number(events: list[Event]) -> str:
    """The latest 令号 or 公告号 in the history, without a leading country name: ``…公布（某省人民政府令第123号）``
    → 某省人民政府令第123号."""
    for event in reversed(events):
        m = _ORDER_RE.search(event.text[event.text.index("日") + 1 :])
        if m:
            return (m.group(1).split("中华人民共和国")[-1] or m.group(1)) + f"第{m.group(2)}号"
    return ""


def promulgation_date(events: list[Event]) -> str:
    """The date the original text was made public: its last 公布/发布 (else 通过/批准) before any amendment."""
    original = []
    for event in events:
        if event.act == "amended":
            break
        original.append(event)
    for acts in (("promulgated",), ("adopted", "approved")):
        dates = [e.date for e in original if e.act in acts]
        if dates:
            return dates[-1]
    return ""


def in_force_date(events: list[Event], text: str, issued: str) -> str:
    """ISO date the text takes effect: a ``…施行`` history line, else its own ``本…自…起施行`` clause.

    ``自公布之日起施行`` (发布 / 印发 / 通过) is the promulgation date (the issue date of a notice).
    """
    for event in reversed(events):
        if event.in_force:
            return event.date
    matches = list(IN_FORCE_RE.finditer(text))
    if not matches:
        return ""
    when = matches[-1].group(1)
    if iso_date(when):
        return iso_date(when)
    if "通过之日" in when:
        return next((e.date for e in events if e.act == "adopted"), "") or promulgation_date(events) or issued
    if re.search("(?:公布|发布|發布|印发|印發|颁布|頒布|下发|下發|公告)之日", when):
        return promulgation_date(events) or issued
    return ""


def stated_status(title: str, head: list[str], page: dict[str, str]) -> str:
    """The document's own validity where its header says so: a ``时效性：现行有效`` field or a ``（已废止）`` mark
    on the title or a header line of its own. Sentences of the body (``…同时废止``) are about other documents."""
    lines = [f"{key}：{value}" for key, value in page.items()] + [title, *head]
    for line in lines:
        simple = to_simplified(line.strip())
        m = _STATUS_RE.search(simple) or _STATUS_MARK_RE.search(simple) or _STATUS_LINE_RE.fullmatch(simple)
        if m:
            return "失效" if m.group(1) == "已失效" else m.group(1)
    return ""


def period_end(period: str) -> str:
    """``2021—2025`` → 2025-12-31."""
    m = re.search(r"((?:19|20)\d{2})$", period)
    return f"{m.group(1)}-12-31" if m else ""


def _title(header: list[str], page: dict[str, str]) -> str:
    for key in ("标题", "標題"):
        if page.get(key):
            return page[key]
    candidates = [t for t in header if not DOC_NUMBER_RE.fullmatch(t) and not t.endswith(("：", ":")) and 6 <= len(t) <= 120]
    for text in candidates:
        if re.search(r"关于|關於|关于|方案|意见|意見|通知|讲话|講話|决定|決定|办法|辦法|规定|規定|纲要|綱要|条例|條例", text):
            return text
    return candidates[0] if candidates else ""


def _doc_type(title: str) -> str:
    simple = to_simplified(title)
    simple = re.sub(r"《[^》]*》", lambda m: "" if not simple.endswith("》") else m.group(0), simple)
    best, best_end = "", -1
    for kind in DOC_TYPES:
        pos = simple.rfind(kind)
        end = pos + len(kind) if pos >= 0 else -1
        if end > best_end or (end == best_end and end >= 0 and len(kind) > len(best)):
            best, best_end = kind, end
    return best


def _law_type(title: str, issuer: str, local: bool, bodies: tuple[str, ...] = ()) -> str:
    """The kind of a text from its title's last kind word and who issued it.

    全国人大 (常委会) → 法律 (宪法 for the Constitution); 最高人民法院 / 最高人民检察院 with a judicial kind →
    司法解释; 国务院 (政务院, 中央军委) making or approving a rule-kind text → 行政法规; a local 人民代表大会 →
    地方性法规, a local 人民政府 → 地方政府规章; another national body (a ministry) → 部门规章. A 条例 whose
    maker is not stated is 行政法规 or, with a place in its title, 地方性法规: rules (规章) may not be called
    条例. Otherwise the title's kind word (通知, 意见 …). ``bodies``: every body named in the history.
    """
    simple = re.sub(r"[（(][^（）()]*[）)]$", "", to_simplified(title).strip())
    kind = _doc_type(simple)
    body = to_simplified(issuer)
    if body.startswith("全国人民代表大会") or (not body and simple.endswith("法") and kind == ""):
        return "宪法" if simple.endswith("宪法") else "法律"
    if body.startswith(("最高人民法院", "最高人民检察院")) or (not body and simple.startswith("最高人民")):
        return "司法解释" if simple.endswith(JUDICIAL_KINDS) else kind
    if not simple.endswith(RULE_KINDS):
        return kind
    if any(part.startswith(STATE_COUNCIL) for b in (body, *bodies) for part in b.split("、")):
        return "行政法规"
    if (local and re.search("人民代表大会|人大", body)) or (not body and kind == "条例"):
        return "地方性法规" if local else "行政法规"
    if not simple.endswith(REGULATION_KINDS):
        return kind
    if local and "人民政府" in body:
        return "地方政府规章"
    if body and not local:
        return "部门规章"
    return kind


def _region(
    title: str, issuer: str, text: str, legislation: bool, gazetteer: Gazetteer, bodies: tuple[str, ...] = ()
) -> Place | None:
    """The place a document belongs to: named at the start of its title or issuer (or of another body of its
    history, such as the province that approved a city's regulation), found in the gazetteer.

    National documents (issuer a national body, or legislation naming no place) have no region. Other
    documents without a place in title or issuer fall back on the province their text names most (≥ 2 times).
    """
    for candidate in (title, issuer, *bodies):
        simple = re.sub(r"^中国[（(]([^）)]+)[）)]", r"\1", to_simplified(candidate).removeprefix("中共"))
        place = gazetteer.locate(simple)
        if place is not None:
            return place
    kind = _doc_type(title)
    lawlike = kind in RULE_KINDS or kind in JUDICIAL_KINDS or to_simplified(title).endswith("法")
    if legislation or lawlike or to_simplified(issuer).startswith(NATIONAL_BODIES):
        return None
    simple_text = to_simplified(text)
    counts = Counter()
    for province, names in gazetteer.provinces():
        counts[province] = max(simple_text.count(n) for n in names[1:] or names)
    if counts:
        province, count = counts.most_common(1)[0]
        if count >= 2:
            return province
    return None


def _issuer(title: str, header: list[str], signoff: list[str], preamble: str, page: dict[str, str]) -> str:
    for key in ("发文机关", "發文機關"):
        if page.get(key):
            return page[key]
    m = re.match(f"^(.{{2,40}}?{_ISSUER_END})(?:关于|關於|關于|关於)", title)
    if m:
        return m.group(1)
    orgs = [t for t in signoff if not _DATE_RE.search(t)]
    if orgs:
        return " ".join(orgs)
    for line in header:
        m = re.search(r"([\u4e00-\u9fff、]{2,30}(?:主任|秘书长|祕書長|秘書長|省长|省長|市长|市長|书记|書記|厅长|廳長|局长|局長|部长|部長))\s*([\u4e00-\u9fff]{2,4})$", line)
        if m:
            return f"{m.group(1)} {m.group(2)}"
    m = re.search(r"([\u4e00-\u9fff]{2,20}?)(?:印发|印發)了?《", preamble)
    if m:
        return m.group(1).removeprefix("近日").lstrip("，, ")
    return ""


def extract_metadata(
    source: str,
    header: list[str],
    signoff: list[str],
    preamble: str,
    text: str,
    page: dict[str, str],
    gazetteer: Gazetteer | None = None,
) -> DocumentMeta:
    """Metadata of one document from its header lines, sign-off lines, preamble, text and page fields.

    A law (``# title`` then dated history lines, as in lawcorpus) gets its title, history, 令号, issuing body
    and dates from those lines: ``date_issued`` is the date of the latest adoption, promulgation or amendment
    (the version's date, as a lawyer cites 《…》(2023年修订)); ``effective`` the 施行 date. ``region`` is the
    place named by title or issuer, resolved in the gazetteer (``""`` for national documents).
    """
    gazetteer = gazetteer or load_gazetteer()
    law_title, block = law_head(text, header)
    events = split_events("\n".join(block))
    opening = [line.strip() for line in text.split("\n", 8)[:8] if line.strip()]
    order, named = order_heading(opening)
    if order:  # the promulgating sentence, read clause by clause
        events = split_events("\n".join(order_history(opening, order)))
    title = law_title or named or _title(header, page)
    head = [*block, *header] if block else header
    number = ""
    for line in head:
        m = DOC_NUMBER_RE.search(line)
        if m:
            number = re.sub(r"\s", "", m.group(0))
            break
    number = number or order_number(events) or order or page.get("发文字号", "")
    signed = next((iso_date(t) for t in reversed(signoff) if iso_date(t)), "")
    header_date = next((iso_date(t) for t in header if iso_date(t) and not DOC_NUMBER_RE.search(t)), "")
    published = ""
    for key in ("发布时间", "發布時間", "发布日期", "發布日期", "时间", "時間"):
        if page.get(key) and iso_date(page[key]):
            published = iso_date(page[key])
            break
    written = iso_date(page.get("成文日期", ""))
    made = max((e.date for e in events if e.act != "effective"), default="")
    # an order's own date line (``市长 某某`` / ``2023年12月5日``) dates the act it promulgates
    ordered = next((iso_date(t) for t in opening if order and _DATE_LINE_RE.fullmatch(t)), "")
    issued = made or signed or header_date or ordered or written or published
    if not published and written and written != issued:
        published = written
    issuer = (re.sub(r"(?:令|公告)第.*$", "", order) or issuing_body(events) or
              _issuer(title, header, signoff, preamble, page))
    period = ""
    m = _PERIOD_RE.search(title) or _PERIOD_RE.search(preamble)
    if m and int(m.group(1)) < int(m.group(2)):
        period = f"{m.group(1)}—{m.group(2)}"
    place = _region(title, issuer, text, bool(events), gazetteer, tuple(e.body for e in events))
    path = gazetteer.path(place) if place else ()
    return DocumentMeta(
        source=source,
        title=title,
        doc_number=number,
        issuer=issuer,
        date_issued=issued,
        date_published=published if published != issued else "",
        region=place.name if place else "",
        doc_type=_law_type(title, issuer, place is not None, tuple(e.body for e in events)),
        period=period,
        script="traditional" if is_traditional(text) else "simplified",
        effective=in_force_date(events, text, issued),
        status=stated_status(title, head, page),
        history=tuple(e.text for e in events),
        region_code=place.adcode if place else "",
        region_path=tuple(p.name for p in path),
        period_end=period_end(period),
    )


def sidecar_path(path: Path) -> Path | None:
    for suffix in (".meta.json", ".meta.toml"):
        candidate = path.with_name(path.name + suffix)
        if candidate.is_file():
            return candidate
    return None


def apply_sidecar(meta: DocumentMeta, path: Path) -> DocumentMeta:
    """Override fields from ``<file>.meta.json`` or ``<file>.meta.toml`` next to the document."""
    sidecar = sidecar_path(path)
    if sidecar is None:
        return meta
    try:
        raw = sidecar.read_text(encoding="utf-8")
        data = json.loads(raw) if sidecar.suffix == ".json" else tomllib.loads(raw)
    except (ValueError, OSError) as exc:
        raise MetadataError(f"{sidecar.name}: {exc}") from exc
    known = {f.name for f in fields(DocumentMeta)} - {"source"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise MetadataError(f"{sidecar.name}: unknown fields {unknown}; allowed: {sorted(known)}")
    return replace(meta, **{k: str(v) for k, v in data.items()})
