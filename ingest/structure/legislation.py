"""Parse legislation: 编 / 分编 / 章 / 节 headings, 条 (articles), 款 (paragraphs), 项 (items) and 目 (sub-items).

Each article is one record labelled as lawyers cite it (``第十二条``, ``第一百二十条之一``). An article longer than
``max_chars`` is split at its 款: each piece is labelled ``第十二条第二款``; a 款 still too long is cut between its
lines (项, 目) and then by sentence, the pieces numbered by ``part``. An article start is ``第…条`` at the start of
a line, followed by a space or directly by its text, and in sequence with the article before it; a reference
such as ``第十二条规定的`` at a line start is text.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_left
from dataclasses import dataclass, field

from assistant.text import cn_number
from assistant.types import HEADER_LABEL, PREAMBLE_LABEL, Clause

from ..clauses import ParseResult, split_long
from ..clean import CleanLine

CN_DIGITS = "零〇一二三四五六七八九"
CN_NUMERAL = CN_DIGITS + "十百千"
ARTICLE_RE = re.compile(
    f"^第([{CN_NUMERAL}]+)条(?:之([一二三四五六七八九十]+))?"
    r"(?:[ \u3000]+|(?=[^\s的规之款项条、，。；：和或及与至中所第（(》”\"]))"
)
"""A line-initial article label; the text after it must not read as a reference (``第十二条规定的``)."""
HEADING_RE = re.compile(f"^第([{CN_NUMERAL}]+)(分编|编|章|节)(?:[ \u3000]+|$)")
ITEM_RE = re.compile(r"^(?:[（(]([一二三四五六七八九十]+)[）)]|([一二三四五六七八九十]+)、)")
"""An item (项): ``（一）``, or ``一、`` in older texts."""
SUBITEM_RE = re.compile(r"^(\d{1,2})[.．、](?!\d)")
_HISTORY_RE = re.compile(r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日.*(?:通过|公布|发布|修正|修订|施行|批准|颁布)")
HEADING_RANKS = {"编": 1, "分编": 2, "章": 3, "节": 4}
MAX_GAP = 30
"""A forward jump in article numbers beyond this is a quotation or reference, not the next article."""
MIN_ARTICLES = 3
_SECTION_RE = re.compile(f"^([{CN_NUMERAL}]{{1,4}})、")


def cn_numeral(number: int) -> str:
    """The Chinese numeral of ``1 <= number < 10000`` as used in labels (12 → ``十二``, 105 → ``一百零五``)."""
    digits = "零一二三四五六七八九"
    out = ""
    zero = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d, number = divmod(number, value)
        if d:
            out += ("零" if zero and out else "") + ("" if unit == "十" and d == 1 and not out else digits[d]) + unit
            zero = False
        elif out:
            zero = True
    return out


@dataclass(frozen=True)
class ArticleStart:
    number: int
    sub: int
    """The ``之一`` / ``之二`` index of an inserted article; 0 for a plain one."""
    label: str


def article_start(text: str) -> ArticleStart | None:
    """The article label a line starts with, or None (references like ``第十二条规定的`` are not starts)."""
    m = ARTICLE_RE.match(text)
    if not m:
        return None
    sub = cn_number(m.group(2)) if m.group(2) else 0
    label = f"第{m.group(1)}条" + (f"之{m.group(2)}" if m.group(2) else "")
    return ArticleStart(cn_number(m.group(1)), sub, label)


def follows(start: ArticleStart, last: ArticleStart | None) -> bool:
    """Whether ``start`` can come after ``last`` in a numbered sequence (gaps up to :data:`MAX_GAP`)."""
    if last is None:
        return True
    if start.number == last.number:
        return start.sub > last.sub
    return last.number < start.number <= last.number + MAX_GAP and start.sub <= 1


def article_indexes(lines: list[CleanLine]) -> list[int]:
    """Indexes of the lines that start an article, in sequence; headings and the ``info`` header never do."""
    found: list[int] = []
    last: ArticleStart | None = None
    for i, line in enumerate(lines):
        if {"info", "title", "heading"} & set(line.flags):
            continue
        start = article_start(line.text)
        if start is not None and follows(start, last):
            found.append(i)
            last = start
    return found


def is_legislation(lines: list[CleanLine]) -> bool:
    """Whether article starts dominate the document: at least :data:`MIN_ARTICLES` in sequence (or two
    consecutive ones and no plan sections), and no fewer than the plan-style sections (``一、``) outside
    headings. Section labels that restart at ``一、`` again and again are the items of articles, so the sections
    of a plan count as the labels per ``一、``. A notice that cites articles is not legislation."""
    articles = article_indexes(lines)
    labels = [m.group(1) for line in lines if "heading" not in line.flags and (m := _SECTION_RE.match(line.text))]
    sections = len(labels) / max(1, labels.count("一"))
    if len(articles) == 2 and not labels:
        first, second = (article_start(lines[i].text) for i in articles)
        return second.number == first.number + 1
    return len(articles) >= MIN_ARTICLES and len(articles) >= sections


def heading_rank(line: CleanLine) -> int | None:
    """Nesting rank of a heading line (编 1, 分编 2, 章 3, 节 4; a Markdown heading by its ``#`` level), else None."""
    level = next((int(f[1:]) for f in line.flags if re.fullmatch(r"h\d", f)), None)
    if "heading" in line.flags and level is not None:
        return level
    m = HEADING_RE.match(line.text)
    if m and len(line.text) <= 50 and not line.text.endswith(("。", "；", "，")):
        return HEADING_RANKS[m.group(2)]
    return None


# ---------------------------------------------------------------- provisions inside an article


@dataclass(frozen=True)
class Provision:
    """A 款, 项 or 目 of an article: its label path (``("第十二条", "第一款", "第（三）项")``) and line span."""

    label_path: tuple[str, ...]
    first: int
    """Index of its first line in the article's lines."""
    last: int
    """Index of its last line (inclusive), sub-provisions included."""


def provisions(article: str, texts: list[str]) -> list[Provision]:
    """The 款 of an article (its lines ``texts``), each followed by its 项 and their 目, in document order.

    A 款 is a line that is not an item; items (``（一）``, ``一、``) belong to the 款 before them, sub-items ``1.`` to
    the item.
    """
    out: list[Provision] = []
    paragraph = item = 0
    para_label = item_label = ""
    for i, text in enumerate(texts):
        m_item = ITEM_RE.match(text) if i else None
        m_sub = SUBITEM_RE.match(text) if i and item else None
        if m_item:
            item += 1
            item_label = f"第（{m_item.group(1)}）项" if m_item.group(1) else f"第{m_item.group(2)}项"
            out.append(Provision((article, para_label, item_label), i, i))
        elif m_sub:
            out.append(Provision((article, para_label, item_label, f"第{m_sub.group(1)}目"), i, i))
        else:
            paragraph += 1
            item = 0
            para_label = f"第{cn_numeral(paragraph)}款"
            out.append(Provision((article, para_label), i, i))
    # extend each provision over the lines of its sub-provisions
    extended = []
    for k, p in enumerate(out):
        last = p.last
        for q in out[k + 1 :]:
            if len(q.label_path) <= len(p.label_path):
                break
            last = q.last
        extended.append(Provision(p.label_path, p.first, last))
    return extended


def paragraphs(article: str, texts: list[str]) -> list[Provision]:
    """The 款 of an article only (label paths of length 2)."""
    return [p for p in provisions(article, texts) if len(p.label_path) == 2]


# ---------------------------------------------------------------- records


def pack_lines(lengths: list[int], max_chars: int) -> list[tuple[int, int]]:
    """Runs ``(first, last)`` of consecutive lines (inclusive) whose joined length stays within ``max_chars``;
    a line longer than ``max_chars`` is a run of its own."""
    runs: list[tuple[int, int]] = []
    first, size = 0, -1
    for i, n in enumerate(lengths):
        if i > first and size + 1 + n > max_chars:
            runs.append((first, i - 1))
            first, size = i, -1
        size += n + 1
    if lengths:
        runs.append((first, len(lengths) - 1))
    return runs


def line_spans(texts: list[str], offsets: list[int], max_chars: int) -> list[tuple[int, int]]:
    """Document spans of at most ``max_chars`` covering the lines ``texts`` (at ``offsets``), cut between lines
    where possible, a single long line by sentence."""
    blocks: list[list[int]] = []
    for k, start in enumerate(offsets):
        if k and start == offsets[k - 1] + len(texts[k - 1]) + 1:
            blocks[-1].append(k)
        else:
            blocks.append([k])
    if len(blocks) > 1:  # lines with a gap between them: each block of adjacent lines on its own
        return [s for b in blocks for s in line_spans(texts[b[0] : b[-1] + 1], offsets[b[0] : b[-1] + 1], max_chars)]
    spans: list[tuple[int, int]] = []
    for first, last in pack_lines([len(t) for t in texts], max_chars):
        start = offsets[first]
        end = offsets[last] + len(texts[last])
        if end - start <= max_chars:
            spans.append((start, end))
        else:
            body = "\n".join(texts[first : last + 1])
            spans.extend((start + a, start + b) for a, b in split_long(body, max_chars))
    return spans


@dataclass
class _Article:
    label: str
    headings: tuple[str, ...]
    lines: list[int] = field(default_factory=list)


def _records(
    source: str,
    label_path: tuple[str, ...],
    spans: list[tuple[int, int]],
    text: str,
    kind: str,
    headings: tuple[str, ...] = (),
) -> list[Clause]:
    """One record per span, the pieces numbered by ``part``."""
    return [
        Clause(source, label_path, text[a:b], a, b, headings=headings, kind=kind, part=k)
        for k, (a, b) in enumerate(spans)
    ]


def article_records(
    source: str, article: _Article, texts: list[str], offsets: list[int], text: str, max_chars: int
) -> list[Clause]:
    """The records of one article: the whole article, or one per 款 (further cut into parts) when too long."""
    own = [texts[j] for j in article.lines]
    own_offsets = [offsets[j] for j in article.lines]
    start, end = own_offsets[0], own_offsets[-1] + len(own[-1])
    if end - start <= max_chars:
        return _records(source, (article.label,), [(start, end)], text, "clause", article.headings)
    paras = paragraphs(article.label, own)
    if len(paras) < 2:
        return _records(source, (article.label,), line_spans(own, own_offsets, max_chars), text, "clause", article.headings)
    out: list[Clause] = []
    for p in paras:
        spans = line_spans(own[p.first : p.last + 1], own_offsets[p.first : p.last + 1], max_chars)
        out.extend(_records(source, p.label_path, spans, text, "clause", article.headings))
    return out


def header_end(lines: list[CleanLine]) -> int:
    """Index of the first line after the header: the ``info`` lines of a lawcorpus file, else the title and the
    dated history lines (``2019年…通过``) that follow it."""
    info = 0
    while info < len(lines) and "info" in lines[info].flags:
        info += 1
    if info:
        return info
    if not lines or article_start(lines[0].text) or heading_rank(lines[0]) is not None:
        return 0
    end = 1
    while end < len(lines) and len(lines[end].text) <= 200 and _HISTORY_RE.search(lines[end].text):
        end += 1
    return end


def structural_headings(lines: list[CleanLine], starts: set[int], lead: int) -> set[int]:
    """Indexes of the heading lines from ``lead`` on that open a part of the document: those followed (after more
    headings) by an article start or the end. A heading followed by text (an annex's ``## 二、定义``) is text."""
    found: set[int] = set()
    opens = True  # whether the lines after the current one lead to an article start
    for i in range(len(lines) - 1, lead - 1, -1):
        if i in starts:
            opens = True
        elif heading_rank(lines[i]) is not None:
            if opens:
                found.add(i)
        else:
            opens = False
    return found


def lead_headings(lines: list[CleanLine], head: int, first_article: int) -> int:
    """Index of the first heading of the chain right before the first article (``第一编``, ``第一章``, ``第一节``),
    each heading enclosing the next; headings before it (a table of contents) are preamble."""
    lead, inner = first_article, None
    while lead > head:
        rank = heading_rank(lines[lead - 1])
        if rank is None or (inner is not None and rank >= inner):
            break
        lead, inner = lead - 1, rank
    return lead


def parse_legislation(source: str, lines: list[CleanLine], max_chars: int = 360) -> ParseResult:
    """Parse cleaned lines of a law or regulation into header, preamble and article records, with offsets into
    ``"\\n".join(lines)``."""
    texts = [line.text for line in lines]
    offsets: list[int] = []
    pos = 0
    for t in texts:
        offsets.append(pos)
        pos += len(t) + 1
    text = "\n".join(texts)
    head = header_end(lines)
    starts = [i for i in article_indexes(lines) if i >= head]
    warnings = _sequence_warnings([article_start(texts[i]) for i in starts])
    first_article = starts[0] if starts else len(lines)
    lead = lead_headings(lines, head, first_article)

    start_set = set(starts)
    structural = structural_headings(lines, start_set, lead)
    # a heading in the header (``# 物权编`` under the code's title) encloses the whole document
    stack: list[tuple[int, str]] = [(0, texts[i]) for i in range(head) if "heading" in lines[i].flags]
    articles: list[_Article] = []
    heading_lines: set[int] = set()
    for i in range(lead, len(lines)):
        rank = heading_rank(lines[i]) if i in structural else None
        if rank is not None:
            while stack and stack[-1][0] >= rank:
                stack.pop()
            stack.append((rank, texts[i]))
            heading_lines.add(i)
        elif i in start_set:
            articles.append(_Article(article_start(texts[i]).label, tuple(t for _, t in stack), [i]))
        elif articles:
            articles[-1].lines.append(i)

    clauses: list[Clause] = []
    if head:
        clauses += _records(source, (HEADER_LABEL,), line_spans(texts[:head], offsets[:head], max_chars), text, "header")
    if lead > head:
        spans = line_spans(texts[head:lead], offsets[head:lead], max_chars)
        clauses += _records(source, (PREAMBLE_LABEL,), spans, text, "preamble")
    for article in articles:
        clauses += article_records(source, article, texts, offsets, text, max_chars)
    attached: set[int] = set(heading_lines)
    for c in clauses:
        attached.update(range(bisect_left(offsets, c.start), bisect_left(offsets, c.end)))
    return ParseResult(
        clauses=clauses,
        unattached=[texts[j] for j in range(len(texts)) if j not in attached],
        warnings=warnings,
        signoff_lines=[],
        header_lines=texts[:head],
    )


def _sequence_warnings(starts: list[ArticleStart | None]) -> list[str]:
    """A warning for each gap in the article numbering."""
    warnings = []
    for before, after in itertools.pairwise(starts):
        if before and after and after.number > before.number + 1:
            warnings.append(f"article numbering gap: {after.label} after {before.label}")
    return warnings
