"""Clean scraped text: page chrome, pinyin annotations, mis-decoded bytes, spacing and punctuation.

Every removal and repair is recorded in a :class:`CleanReport`; nothing is dropped silently.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from assistant.text import CJK

# ---------------------------------------------------------------- report


@dataclass
class LineNote:
    line: int
    """1-based line number in the original file."""
    reason: str
    text: str


@dataclass
class CleanReport:
    removed: list[LineNote] = field(default_factory=list)
    flagged: list[LineNote] = field(default_factory=list)
    repairs: Counter = field(default_factory=Counter)
    page_fields: dict[str, str] = field(default_factory=dict)
    """Values read from removed page-metadata lines (发布时间, 成文日期, 标题, …)."""


@dataclass(frozen=True)
class CleanLine:
    text: str
    source_line: int
    flags: tuple[str, ...] = ()
    """Quality and structure flags: ``mis-decoded``; ``title`` and ``heading`` (a Markdown ``#`` line, its marks
    removed) with its level ``h1`` … ``h6``; ``info`` (before a lawcorpus ``<!-- INFO END -->`` marker)."""


# ---------------------------------------------------------------- patterns

_SPACES = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000\t"
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\ufeff\u2060"), None)
_TONE = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
PINYIN_RE = re.compile(f"(?<=[{CJK}])[(（]([a-zü]*[{_TONE}][a-z{_TONE}ü]*)[)）]")
_CJK_OR_PUNCT = f"[{CJK}\u3000-\u303f\uff00-\uffef“”‘’—…·]"
_SPACE_IN_CJK_RE = re.compile(f"(?<={_CJK_OR_PUNCT}) +(?={_CJK_OR_PUNCT})")
_LABEL_SPACE_RE = re.compile(r"^([一二三四五六七八九十百]+、|[（(][一二三四五六七八九十百\d]+[）)]|\d{1,3}[.．、]) +")
_CN_NUMERAL = "零〇一二三四五六七八九十百千"
STRUCTURE_LABEL_RE = re.compile(
    f"^第[{_CN_NUMERAL}]+(?:条(?:之[一二三四五六七八九十]+)?|分编|编|章|节)(?= )"
)
"""A line-initial 条 / 编 / 分编 / 章 / 节 label followed by a space, which separates the label from its text."""
MARKDOWN_HEADING_RE = re.compile(r"^(#{1,6})[ \t\u3000]+(.*?)[ \t\u3000#]*$")
_COMMENT_RE = re.compile(r"^<!--.*-->$")
INFO_END = "<!-- INFO END -->"
"""Ends the title and history lines of a lawcorpus Markdown file."""

_HALF_TO_FULL = {",": "，", ":": "：", ";": "；", "!": "！", "?": "？"}
_PUNCT_CTX_RE = re.compile(f"(?<=[{CJK}）》”])([,:;!?])|([,:;!?])(?=[{CJK}（《“])")
_PAREN_RE = re.compile(r"\(([^()]*)\)")
_FULL_WIDTH_ALNUM = {
    code: code - 0xFEE0
    for first, last in (("０", "９"), ("Ａ", "Ｚ"), ("ａ", "ｚ"))
    for code in range(ord(first), ord(last) + 1)
}

_BREADCRUMB_SEP = re.compile(r"\s*(?:>>|>|»|›|→|/|\\)\s*")
_BANNER_RE = re.compile(r"^(?:欢迎|歡迎)(?:访问|訪問|光临|光臨|来到|來到)")
_CHROME_RES = [
    (re.compile(r"^(?:当前位置|當前位置|您的位置|您现在的位置|您現在的位置)[:：]"), "breadcrumb"),
    (re.compile(r"(?:点击|點擊|浏览|瀏覽|阅读|閱讀|访问|訪問)(?:次数|次數|量|数|數)?[:：]\s*\d+\s*(?:次)?$"), "click counter"),
    (re.compile(r"^(?:【?(?:大|中|小)】?\s*){2,3}$|(?:小字号|小字號|大字号|大字號|字号|字號)[:：]?\s*(?:【?[大中小]】?\s*)*$"), "font-size control"),
    (re.compile(r"(?:背景色|背景顏色|背景颜色)[:：]?"), "page control"),
    (re.compile(r"^(?:打印本页|打印本頁|关闭窗口|關閉窗口|【打印】|【关闭】|【關閉】|打印|关闭|關閉|收藏本页|收藏)(?:\s*(?:打印本页|关闭窗口|【打印】|【关闭】|打印|关闭))*$"), "page control"),
    (re.compile(r"(?:分享让更多人看到|分享讓更多人看到|分享到[:：]?|一键分享|一鍵分享)"), "share widget"),
    (re.compile(r"^(?:返回顶部|返回頂部|回到顶部|回到頂部|TOP)$", re.I), "back-to-top link"),
    (re.compile(r"^[（(](?:责编|責編|编辑|編輯|责任编辑|責任編輯)[:：].{0,30}[）)]$|^(?:责任编辑|責任編輯)[:：]"), "editor credit"),
    (re.compile(r"^(?:扫一扫|掃一掃|手机扫描|相关链接|相關鏈接|相关阅读|相關閱讀|上一篇|下一篇)"), "page navigation"),
]
_FOOTER_RE = re.compile(r"ICP备|ICP備|网站标识码|網站標識碼|公网安备|公網安備|版权所有|版權所有|(?:技术支持|技術支持)[:：]")
"""A government site's footer line (its 备案 numbers, site code, copyright and contractor)."""
_PAGE_FIELD_RE = re.compile(
    r"(标\s*题|標\s*題|发文字号|發文字號|索引号|索引號|主题分类|主題分類|发文机关|發文機關|成文日期|发布日期|發布日期|"
    r"发布时间|發布時間|时间|時間|来源|來源|点击|點擊|作者|文号|文號)\s*[:：]\s*"
)
_DATETIME_ONLY_RE = re.compile(
    r"^[•·\s]*(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{4})(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?\s*$"
    r"|^[•·\s]*\d{4}年\d{1,2}月\d{1,2}日\s*\d{1,2}:\d{2}(?::\d{2})?\s*$"
)
_MOJIBAKE_CHARS = re.compile("[\ue000-\uf8ff\ufffd\u3100-\u312f]")
_TERMINAL = "。！？；：!?;:”」』）)…"
_DATE_LINE_RE = re.compile(r"^[（(]?\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日[）)]?$")


# ---------------------------------------------------------------- steps


def normalise_spacing(line: str) -> str:
    line = unicodedata.normalize("NFC", line).translate(_ZERO_WIDTH)
    for ch in _SPACES:
        line = line.replace(ch, " ")
    line = re.sub(" {2,}", " ", line).strip()
    line = _LABEL_SPACE_RE.sub(r"\1", line)
    label = STRUCTURE_LABEL_RE.match(line)
    if label:  # 第一条　… keeps one space between its label and its text
        return label.group(0) + " " + _SPACE_IN_CJK_RE.sub("", line[label.end() :].lstrip())
    return _SPACE_IN_CJK_RE.sub("", line)


def markdown_heading(line: str) -> tuple[int, str] | None:
    """``(level, text)`` of a Markdown heading line (``## 第一章 总则`` → ``(2, "第一章 总则")``), else None."""
    m = MARKDOWN_HEADING_RE.match(line.strip())
    return (len(m.group(1)), m.group(2)) if m and m.group(2) else None


def remove_pinyin(line: str) -> tuple[str, int]:
    return PINYIN_RE.subn("", line)


def normalise_punctuation(line: str) -> str:
    """Half-width , : ; ! ? and paired parentheses in Chinese context become full-width; digits stay half-width."""
    line = line.translate(_FULL_WIDTH_ALNUM)
    line = _PUNCT_CTX_RE.sub(lambda m: _HALF_TO_FULL[m.group(1) or m.group(2)], line)

    def paren(m: re.Match) -> str:
        inner = m.group(1)
        return f"（{inner}）" if re.search(f"[{CJK}]", inner) or re.fullmatch(r"\d{1,3}", inner) else m.group(0)

    previous = None
    while previous != line:
        previous, line = line, _PAREN_RE.sub(paren, line)
    return line


def is_mojibake(line: str) -> bool:
    """Private-use, replacement or bopomofo characters, or a '?' inside Chinese text: bytes decoded wrongly."""
    if _MOJIBAKE_CHARS.search(line):
        return True
    return bool(re.search(f"[{CJK}]\\?|\\?[{CJK}\u3000-\u303f]", line))


def repair_mojibake(line: str) -> str | None:
    """Re-decode a GBK text that was decoded one byte off. Returns the repair only when it is clean."""
    try:
        raw = line.encode("gb18030")
    except UnicodeEncodeError:
        return None
    for shift in (1, 2, 3):
        try:
            fixed = raw[shift:].decode("gbk")
        except UnicodeDecodeError:
            continue
        if not is_mojibake(fixed):
            return fixed
    return None


def recover_label(line: str) -> str | None:
    """The clause label hidden in a mis-decoded line start, e.g. ``?。ㄒ唬`` (GBK one byte off) → ``（一）``."""
    try:
        raw = line[:12].encode("gb18030", errors="replace")
    except UnicodeEncodeError:
        return None
    for shift in range(5):
        head = raw[shift:].decode("gbk", errors="replace")
        m = re.match(r"\s*[（(]([一二三四五六七八九十]{1,3})[）)]?", head)
        if m:
            return f"（{m.group(1)}）"
        m = re.match(r"\s*([一二三四五六七八九十]{1,3})、", head)
        if m:
            return f"{m.group(1)}、"
    return None


def classify_chrome(line: str, position: float) -> str | None:
    """Reason a line is web-page chrome, or None. ``position`` is the line's relative place in the file (0..1)."""
    if not re.search(f"[{CJK}A-Za-z0-9]", line):
        return "no text"
    if len(line) <= 40 and _BANNER_RE.search(line):
        return "site banner"
    for pattern, reason in _CHROME_RES:
        if len(line) <= 60 and pattern.search(line):
            return reason
    if len(line) <= 160 and _FOOTER_RE.search(line):
        return "site footer"
    parts = [p for p in _BREADCRUMB_SEP.split(line) if p] if len(line) <= 80 else []
    if (
        len(parts) >= 2
        and _BREADCRUMB_SEP.search(line)
        and all(len(p) <= 14 and not re.search("[。，；,]", p) for p in parts)
        and (re.search(r"首页|首頁|正文|频道|頻道|专稿|專稿|栏目|欄目|文件|公开|公開|新闻|新聞", line) or len(parts) >= 3)
    ):
        return "breadcrumb"
    if position < 0.05 and len(line) <= 8 and re.search(r"(?:网|網|站|报|報|在线|在線)$", line):
        return "site name"
    return None


def page_fields(line: str) -> dict[str, str] | None:
    """``{field: value}`` when the line is a page-metadata line (``发布时间：…  来源：…``), else None."""
    if _DATETIME_ONLY_RE.match(line):
        return {"时间": line.strip(" •·")}
    stripped = line.strip(" •·|")
    matches = list(_PAGE_FIELD_RE.finditer(stripped))
    if (not matches or matches[0].start() > 3 or len(stripped) > 160) and not (
        matches and re.match(r"^\d{4}[年\-./]", stripped) and len(stripped) <= 80
    ):
        return None
    fields: dict[str, str] = {}
    if matches and matches[0].start() > 0:
        fields["时间"] = stripped[: matches[0].start()].strip(" |•")
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(stripped)
        key = re.sub(r"\s", "", m.group(1))
        fields[key] = stripped[m.end() : end].strip(" |•")
    return fields


def _ends_sentence(line: str) -> bool:
    return line.endswith(tuple(_TERMINAL))


def trailing_teasers(lines: list[str]) -> int:
    """How many lines at the end are unrelated teasers (headlines and cut-off snippets), not the document.

    A sign-off (issuer and date) ends a document; after the last full sentence, a run of three or more
    lines that neither end a sentence nor form a sign-off is a list of links to other pages.
    """
    count = 0
    for line in reversed(lines):
        if _ends_sentence(line) or _DATE_LINE_RE.match(line):
            break
        count += 1
    if count < 3:
        return 0
    tail = lines[len(lines) - count :]
    signoff_like = sum(len(t) <= 30 and re.search(r"(?:政府|委员会|委員會|办公室|辦公室|委|厅|廳|局|院)$", t) is not None for t in tail)
    return 0 if signoff_like == len(tail) else count


# ---------------------------------------------------------------- pipeline


def clean(raw: str) -> tuple[list[CleanLine], CleanReport]:
    """Cleaned non-empty lines of a document and the report of what was changed or removed.

    Markdown heading marks are structure: the line keeps its text and gets the ``title`` or ``heading`` flag. In a
    lawcorpus file the lines before ``<!-- INFO END -->`` get the ``info`` flag and the marker itself is removed;
    such a file is a law text, not a scraped page, so no trailing teasers are looked for.
    """
    report = CleanReport()
    raw_lines = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    n = max(len(raw_lines), 1)
    info_end = next((i for i, text in enumerate(raw_lines, start=1) if text.strip() == INFO_END), 0)
    kept: list[CleanLine] = []
    for i, original in enumerate(raw_lines, start=1):
        structure: tuple[str, ...] = ("info",) if i < info_end else ()
        heading = markdown_heading(original)
        if heading is not None:
            level, original = heading
            role = "title" if level == 1 and "标题" not in report.page_fields else "heading"
            structure = (*structure, role, f"h{level}")
        line = normalise_spacing(original)
        if not line:
            continue
        if _COMMENT_RE.match(line):
            report.removed.append(LineNote(i, "markup comment", line))
            continue
        if line != original.strip():
            report.repairs["whitespace"] += 1
        line, n_pinyin = remove_pinyin(line)
        if n_pinyin:
            report.repairs["pinyin annotations removed"] += n_pinyin
        flags: tuple[str, ...] = structure
        if is_mojibake(line):
            fixed = repair_mojibake(line)
            if fixed is not None:
                report.repairs["mis-decoded lines repaired"] += 1
                report.flagged.append(LineNote(i, "mis-decoded text repaired (GBK, one byte off)", line[:80]))
                line = fixed
            else:
                report.repairs["mis-decoded lines kept as is"] += 1
                report.flagged.append(LineNote(i, "mis-decoded text; no reliable repair, kept as is", line[:80]))
                flags = ("mis-decoded", *structure)
        punctuated = normalise_punctuation(line)
        if punctuated != line:
            report.repairs["punctuation made full-width"] += 1
            line = punctuated
        if "title" in structure:
            report.page_fields["标题"] = line
        reason = None if structure else _page_reason(line, i / n, report)
        if reason is not None:
            report.removed.append(LineNote(i, reason, line))
            continue
        kept.append(CleanLine(line, i, flags))
    n_teasers = 0 if info_end else trailing_teasers([c.text for c in kept])
    for c in kept[len(kept) - n_teasers :] if n_teasers else []:
        report.removed.append(LineNote(c.source_line, "unrelated teaser after the document", c.text))
    if n_teasers:
        kept = kept[: len(kept) - n_teasers]
    report.removed.sort(key=lambda note: note.line)
    return kept, report


def _page_reason(line: str, position: float, report: CleanReport) -> str | None:
    """Why a body line is page metadata (its fields go to ``report``) or chrome, else None."""
    fields = page_fields(line)
    if fields is None:
        return classify_chrome(line, position)
    for key, value in fields.items():
        if value:
            report.page_fields.setdefault(key, value)
    return "page metadata"
