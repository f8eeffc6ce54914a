"""Parse the clause hierarchy of a cleaned document into citable records.

Labels recognised at the start of a paragraph: ``第一部分`` ``一、`` ``（一）`` ``1.``/``1、`` ``（1）`` ``1)`` ``①`` and
the enumerations of speeches and plans ``一是`` ``一要`` ``第一，``. The numbering scheme is read from the document:
which styles occur and how they nest follows from the order in which they first appear (a style first seen inside
another nests under it, a style already open closes what was opened inside it), not from a fixed ranking. A label
is taken when it continues its siblings, or restarts (1–3), or continues a sequence of its style anywhere before:
measures numbered on across sections (``21.`` under ``四、``, ``22.`` under ``五、``) stay one record each.

Also read:

* blocks ``目标：`` / ``措施：`` inside a section: a record of their own; the items after them belong to the section
  (label ``五22``) with the block's name as heading;
* a label alone on its line takes the next short line as its title (``第二部分`` / ``重点任务``);
* a notice distributing a plan: a line repeating a title quoted before (``现将《某某方案》印发给你们``) starts the
  plan itself — a new preamble run and a fresh numbering; the notice's own numbered clauses, if any, are labelled
  ``印发通知一`` …;
* attachments (``附件2``): a record outside the body's numbering;
* rows of task-division tables written by :mod:`ingest.tables` (``序号：3；重点任务：…；牵头单位：…。``): one record
  per row, kind ``clause`` (a content record like any clause, which retrieval treats as such) with ``fields`` set,
  the task cell as text, label ``附件1第3项`` (table, then the 序号 cell) and units and deadlines from their cells.

Header, preamble and sign-off become records too.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from assistant.text import cn_number, split_sentences
from assistant.types import HEADER_LABEL, PREAMBLE_LABEL, SIGNOFF_LABEL, Clause

from .clean import CleanLine, recover_label
from .tables import ATTACHMENT_RE, RowCell, parse_row, row_number, table_context, task_span

NUMERALS = "一二三四五六七八九十百零〇"
_N = f"[{NUMERALS}]{{1,4}}"
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_STYLES: list[tuple[str, re.Pattern]] = [
    ("part", re.compile(f"^第({_N})部分[\\s:：、，,]*")),
    ("section", re.compile(f"^({_N})、")),
    ("paren_cn", re.compile(f"^[（(]({_N})[）)]")),
    ("paren_num", re.compile(r"^[（(](\d{1,3})[）)]")),
    ("item", re.compile(r"^(\d{1,3})(?:[.．、](?!\d)|[.．](?=(?:19|20)\d\d年)|\s)")),  # 8.2024年9月底前… is item 8
    ("half_paren", re.compile(r"^(\d{1,3})[)）](?![)）])")),
    ("circled", re.compile(f"^([{_CIRCLED}])")),
    ("enum_di", re.compile(f"^第({_N})[，,、：:]")),
    ("enum_shi", re.compile(f"^({_N})是(?=[^，。；]{{2,}})")),
    ("enum_yao", re.compile(f"^({_N})要(?=[^，。；]{{2,}})")),
]
"""Label styles a paragraph may start with. Which of them a document uses, and how they nest, is read from the
document: a style first seen inside another nests under it (see :func:`parse_clauses`)."""
_LABELS = {
    "part": "第{cn}部分",
    "section": "{cn}",
    "paren_cn": "（{cn}）",
    "paren_num": "（{n}）",
    "item": "{n}",
    "half_paren": "{n}）",
    "circled": "{circled}",
    "enum_di": "第{cn}",
    "enum_shi": "{cn}是",
    "enum_yao": "{cn}要",
}
_BLOCK_RE = re.compile(r"^((?:主要|工作|发展|總體|总体|具体|具體|重点|重點|保障)?(?:目标|目標|措施|举措|舉措))\s*[:：]")
"""A block of a section such as ``目标：`` / ``措施：``: its measures belong to the section, the block's name is
their heading."""
BLOCK = "block"
ATTACHMENT = "attachment"
NOTICE_LABEL = "印发通知"
"""First element of the label path of a distributing notice's own numbered clauses, when the document it
distributes follows with a numbering of its own."""
_ENUM_STYLES = {"enum_di", "enum_shi", "enum_yao"}
_DATE_LINE_RE = re.compile(r"^[（(]?(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日[）)]?$")
_ORG_LINE_RE = re.compile(
    r"(?:政府|委员会|委員會|办公室|辦公室|办公厅|辦公廳|委|厅|廳|局|院|部|中心|公司|党委|黨委|市委|县委|縣委|区委|區委)$"
)
_NOTE_LABELS = r"责任单位|責任單位|牵头单位|牽頭單位|主办单位|主辦單位|牵头部门|牽頭部門|责任部门|責任部門"
_RESPONSIBLE_RE = re.compile(rf"[（(]\s*((?:{_NOTE_LABELS})\s*[:：][^（）()\n]{{1,300}})[）)]")
_LEAD_LABEL_RE = re.compile(r"^(?:牵头|牽頭|主办|主辦)")
_DEADLINE_RE = re.compile(
    r"(?:(?:到|至|于|於|在)\s*)?\d{4}\s*年(?:\s*\d{1,2}\s*月)?(?:\s*\d{1,2}\s*日)?\s*(?:年底|年末|底|末|上半年|下半年|以前|之前|前)+"
    r"|每年\s*\d{1,2}\s*月(?:底|末)?(?:\d{1,2}日)?\s*前"
    r"|(?:到|至)\s*\d{4}\s*年"
    r"|\d{4}\s*年起"
)


def match_label(text: str) -> tuple[str, int, str, str] | None:
    """``(style, number, label, rest)`` for a paragraph that starts with a clause label."""
    for style, pattern in _STYLES:
        m = pattern.match(text)
        if not m:
            continue
        raw = m.group(1)
        number = _CIRCLED.index(raw) + 1 if raw in _CIRCLED else int(raw) if raw.isdigit() else cn_number(raw)
        if number <= 0:
            continue
        label = _LABELS[style].format(cn=raw, n=raw, circled=raw)
        return style, number, label, text[m.end() :].strip()
    return None


def clause_title(rest: str) -> str:
    """Short title of a labelled paragraph: its text up to the first full stop, shortened."""
    head = re.split(r"[。；;]", rest, maxsplit=1)[0].strip()
    if len(head) > 40:
        head = re.split(r"[，,]", head, maxsplit=1)[0]
    return head if len(head) <= 40 else head[:30] + "…"


def parse_responsible(text: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """``(raw, lead units, responsible units)`` of a clause's ``（牵头单位：…，责任单位：…）`` notes."""
    notes = [m.group(1).strip() for m in _RESPONSIBLE_RE.finditer(text)]
    if not notes:
        return "", (), ()
    return ("；".join(notes), *note_units(notes))


def note_units(notes: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(lead units, responsible units)`` of notes such as ``牵头单位：甲、乙，责任单位：丙负责``."""
    lead: list[str] = []
    units: list[str] = []
    for note in notes:
        target = units
        for part in re.split(r"[，,；;]", note):
            part = part.strip()
            label = re.match(rf"^({_NOTE_LABELS})\s*[:：]", part)
            if label:  # a label switches the list the following units go to
                target = lead if _LEAD_LABEL_RE.match(label.group(1)) else units
                part = part[label.end() :]
            into = target
            if re.search(r"(?:牵头|牽頭)$", part):
                into = lead
            elif re.search(r"(?:负责|負責|配合)$", part):
                into = units
            part = re.sub(r"(?:牵头|牽頭|负责|負責|配合)$", "", part).strip()
            into.extend(u.strip() for u in re.split(r"[、]", part) if u.strip() and u.strip() not in into)
    return tuple(lead), tuple(units)


def row_facts(cells: list[RowCell]) -> tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """``(responsible as written, lead units, units, deadlines)`` of a 分工表 row, from its 牵头单位 / 责任单位 /
    完成时限 cells; a deadline cell the deadline patterns do not read (``长期坚持``) is taken as it is."""
    unit_cells = [c for c in cells if c.role in ("lead", "units") and c.value]
    notes = [f"{'牵头单位' if c.role == 'lead' else '责任单位'}：{c.value}" for c in unit_cells]
    lead, units = note_units(notes)
    deadlines: list[str] = []
    for c in cells:
        if c.role == "deadline" and c.value:
            deadlines.extend(d for d in find_deadlines(c.value) or (c.value,) if d not in deadlines)
    return "；".join(f"{c.name}：{c.value}" for c in unit_cells), lead, units, tuple(deadlines)


def find_deadlines(text: str) -> tuple[str, ...]:
    found: list[str] = []
    for m in _DEADLINE_RE.finditer(text):
        value = re.sub(r"\s", "", m.group(0))
        if value not in found:
            found.append(value)
    return tuple(found)


@dataclass
class _Node:
    style: str
    number: int
    label_path: tuple[str, ...]
    headings: tuple[str, ...]
    title: str
    pieces: list[list[int]] = field(default_factory=list)
    """Runs of consecutive line indexes that belong to this node."""
    flags: set[str] = field(default_factory=set)


@dataclass
class ParseResult:
    clauses: list[Clause]
    unattached: list[str]
    warnings: list[str]
    signoff_lines: list[str]
    header_lines: list[str]


def _is_signoff_org(text: str) -> bool:
    return len(text) <= 40 and not re.search("[。，；：:！？]", text) and bool(_ORG_LINE_RE.search(text))


def _signoff_indexes(texts: list[str], first_body: int) -> set[int]:
    """Lines that sign a document off: issuer name lines directly followed by a date line."""
    found: set[int] = set()
    for i, text in enumerate(texts):
        if i <= first_body or not _DATE_LINE_RE.match(text):
            continue
        found.add(i)
        j = i - 1
        while j > first_body and i - j <= 3 and _is_signoff_org(texts[j]) and match_label(texts[j]) is None:
            found.add(j)
            j -= 1
    if texts and len(texts) - 1 > first_body and _is_signoff_org(texts[-1]) and match_label(texts[-1]) is None:
        found.add(len(texts) - 1)
    return found


def _header_end(texts: list[str]) -> int:
    """Index of the first line after the header (title, number, date, speaker, addressee lines)."""
    for i, text in enumerate(texts[:15]):
        if match_label(text) is not None:
            return i
        if text.endswith(("：", ":")) and len(text) <= 120 and not text.startswith(("为", "為", "根据", "根據")):
            return i + 1
        if text.endswith(("。", "！", "？", "；")) or len(text) > 150:
            return i
    return 0


def parse_clauses(source: str, lines: list[CleanLine], max_chars: int = 360) -> ParseResult:
    """Parse cleaned lines of one document into clause records with offsets into ``"\\n".join(lines)``."""
    texts = [line.text for line in lines]
    offsets = []
    pos = 0
    for text in texts:
        offsets.append(pos)
        pos += len(text) + 1
    header_end = _header_end(texts)
    first_body = next((i for i in range(header_end, len(texts)) if texts[i].endswith(("。", "！", "？", "；"))), header_end)
    signoff = _signoff_indexes(texts, first_body)
    warnings: list[str] = []

    stack: list[_Node] = []
    last_number: dict[str, int] = {}
    seen: dict[str, set[int]] = {}
    """Every number opened per style: a sequence may continue across a higher-level boundary (measures
    numbered 1–21 under 一、…四、 and 22, 23 under 五、)."""
    rows: list[tuple[int, list[RowCell]]] = []
    quoted = {title for text in texts[:header_end] for title in _quoted_titles(text)}
    restarts = 0
    prefix: tuple[str, ...] = ()
    """Label path before the top-level clauses of the second and further documents a notice distributes."""
    """Titles quoted so far (《…》): a line that repeats one starts the distributed document itself."""
    nodes: list[_Node] = []
    front: list[list[int]] = [[]]
    """Runs of lines before the first clause that are not header or sign-off (preamble)."""
    signoff_runs: list[list[int]] = [[]]
    current: _Node | None = None
    pending_damaged: int | None = None

    def open_node(style: str, number: int, label: str, rest: str, index: int) -> _Node:
        while stack and any(n.style == style for n in stack):
            if stack.pop().style == style:
                break
        parent = stack[-1] if stack else None
        parent_path = prefix if parent is None else parent.label_path[:-1] if parent.style == BLOCK else parent.label_path
        parent_headings = (*parent.headings, parent.title) if parent else ()
        title = clause_title(rest) or _own_line_title(texts, index) or label
        node = _Node(style, number, (*parent_path, label), parent_headings, title)
        node.pieces.append([index])
        stack.append(node)
        nodes.append(node)
        last_number[style] = number
        seen.setdefault(style, set()).add(number)
        return node

    def acceptable(style: str, number: int) -> bool:
        sibling = next((n for n in reversed(stack) if n.style == style), None)
        if sibling is not None:
            if number <= sibling.number:
                return False
            if number > sibling.number + 1:
                warnings.append(f"numbering gap before {style} {number} (after {sibling.number})")
            return True
        return number <= 3 or number - 1 in seen.get(style, set())

    for i, line in enumerate(lines):
        text = line.text
        if i < header_end:
            continue
        if i in signoff:
            signoff_runs[-1].append(i)
            if front[-1]:  # a preamble run never spans a sign-off
                front.append([])
            continue
        if signoff_runs[-1]:
            signoff_runs.append([])
        cells = parse_row(text)
        if cells is not None:
            rows.append((i, cells))
            continue
        if _restates_title(text, quoted):
            # the document a notice distributes begins: its own title, preamble and numbering; clauses of the
            # notice itself are labelled as such, and a second document distributed is labelled by its title
            if restarts == 0:
                outside = {n.label_path[0] for n in nodes if n.style == ATTACHMENT}
                for node in nodes:
                    if node.label_path[0] not in outside:
                        node.label_path = (NOTICE_LABEL, *node.label_path)
            else:
                prefix = (text,)
            restarts += 1
            stack.clear()
            seen.clear()
            last_number.clear()
            current = None
            if front[-1]:
                front.append([])
            front[-1].append(i)
            continue
        quoted.update(_quoted_titles(text))
        attachment = ATTACHMENT_RE.match(text)
        if attachment and len(text) <= 60 and not re.search("[。；，]", text):
            stack.clear()  # an attachment (附件2 重点任务分工表) stands outside the body's numbering
            number = int(attachment.group(1) or 0)
            current = open_node(ATTACHMENT, number, f"附件{attachment.group(1) or ''}", attachment.group(2), i)
            pending_damaged = None
            continue
        block = _BLOCK_RE.match(text)
        if block and any(n.style != BLOCK for n in stack):
            current = open_node(BLOCK, 0, block.group(1), "", i)
            current.title = block.group(1)
            pending_damaged = None
            continue
        found = match_label(text)
        if found is None and "mis-decoded" in line.flags:
            recovered = recover_label(text)
            found = match_label(recovered + "x") if recovered else None
            if found:
                warnings.append(f"label {found[2]} recovered from mis-decoded line {line.source_line}")
        if found is not None and acceptable(found[0], found[1]):
            style, number, label, rest = found
            sibling = next((n for n in reversed(stack) if n.style == style), None)
            expected = sibling.number + 1 if sibling else last_number.get(style, 0) + 1
            if pending_damaged is not None and number == expected + 1:
                # the mis-decoded paragraph just before is the missing sibling
                damaged = lines[pending_damaged]
                gap_label = _numeral_label(style, expected)
                node = open_node(style, expected, gap_label, damaged.text, pending_damaged)
                node.flags.add("mis-decoded")
                _remove_index(nodes, front, pending_damaged, keep=node)
                warnings.append(f"label {gap_label} inferred for mis-decoded line {damaged.source_line}")
            current = open_node(style, number, label, rest, i)
            if "mis-decoded" in line.flags:
                current.flags.add("mis-decoded")
            pending_damaged = None
            continue
        pending_damaged = i if "mis-decoded" in line.flags else None
        if current is None:
            front[-1].append(i)
            continue
        target = current
        if current.style in _ENUM_STYLES and len(stack) >= 2 and stack[-1] is current:
            # a paragraph after an enumeration item returns to the enclosing level
            stack.pop()
            target = current = stack[-1]
        if target.pieces[-1][-1] == i - 1:
            target.pieces[-1].append(i)
        else:
            target.pieces.append([i])
        if "mis-decoded" in line.flags:
            target.flags.add("mis-decoded")

    clauses: list[Clause] = []

    def emit(path: tuple[str, ...], headings: tuple[str, ...], run: list[int], kind: str, flags: set[str], part0: int) -> int:
        body = "\n".join(texts[j] for j in run)
        return emit_text(path, headings, body, offsets[run[0]], kind, flags, part0, parse_responsible(body), ())

    def emit_text(
        path: tuple[str, ...],
        headings: tuple[str, ...],
        body: str,
        start: int,
        kind: str,
        flags: set[str],
        part0: int,
        responsible: tuple[str, tuple[str, ...], tuple[str, ...]],
        fields: tuple[tuple[str, str], ...],
        deadlines: tuple[str, ...] | None = None,
    ) -> int:
        raw_resp, lead, units = responsible
        deadlines = find_deadlines(body) if deadlines is None else deadlines
        part = part0
        for piece_start, piece_end in split_long(body, max_chars):
            piece = body[piece_start:piece_end]
            clauses.append(
                Clause(
                    source=source,
                    label_path=path,
                    text=piece,
                    start=start + piece_start,
                    end=start + piece_end,
                    headings=headings,
                    kind=kind,
                    part=part,
                    responsible=raw_resp,
                    lead_units=lead,
                    units=units,
                    deadlines=deadlines,
                    flags=tuple(sorted(flags)),
                    fields=fields,
                )
            )
            part += 1
        return part

    if header_end:
        emit((HEADER_LABEL,), (), list(range(header_end)), "header", set(), 0)
    part = 0
    for run in front:
        if run:
            part = emit((PREAMBLE_LABEL,), (), run, "preamble", set(), part)
    part = 0
    for run in signoff_runs:
        if run:
            part = emit((SIGNOFF_LABEL,), (), run, "signoff", set(), part)
    for node in nodes:
        part = 0
        for run in node.pieces:
            part = emit(node.label_path, node.headings, run, "clause", node.flags, part)
    for (index, cells), (path, headings) in zip(rows, _row_places(texts, rows), strict=True):
        task_start, task_end = task_span(cells)
        info = row_facts(cells)
        fields = tuple((c.name, c.value) for c in cells)
        body = texts[index][task_start:task_end]
        emit_text(path, headings, body, offsets[index] + task_start, "clause", set(), 0, info[:3], fields, info[3])
    clauses.sort(key=lambda c: (c.start, c.part))
    attached: set[int] = set()
    for c in clauses:  # lines whose start falls inside a clause, found by bisection (linear in the lines covered)
        attached.update(range(bisect_right(offsets, c.start) - 1, bisect_left(offsets, c.end)))
    unattached = [texts[j] for j in range(len(texts)) if j not in attached]
    return ParseResult(
        clauses=clauses,
        unattached=unattached,
        warnings=warnings,
        signoff_lines=[texts[j] for j in sorted(signoff)],
        header_lines=texts[:header_end],
    )


def _own_line_title(texts: list[str], index: int) -> str:
    """The title of a label standing alone on its line (``第二部分`` / ``重点任务``): the short next line."""
    if match_label(texts[index]) is None or match_label(texts[index])[3] or index + 1 >= len(texts):
        return ""
    following = texts[index + 1]
    if len(following) > 40 or re.search("[。！？；：:]$", following) or match_label(following) or parse_row(following):
        return ""
    return following


def _quoted_titles(text: str) -> set[str]:
    return {m.group(1) for m in re.finditer(r"《([^《》]{4,80})》", text)}


def _restates_title(text: str, quoted: set[str]) -> bool:
    """A title line repeating a document title quoted before (the plan a notice distributes)."""
    return len(text) <= 80 and not re.search("[。！？；，]", text) and text.strip("《》") in quoted


def _row_places(texts: list[str], rows: list[tuple[int, list[RowCell]]]) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """``(label path, headings)`` of each 分工表 row: the table (``附件2`` from the lines before it, else ``表1``,
    ``表2`` …) and the row (``第3项`` after its 序号 cell, else ``第3行``); headings are the table's caption and the
    group lines of the table the row comes under (merged rows such as ``一、夯实数字基础``). Where the 序号 starts
    again in each group, the group's label comes before the row's (``附件1 二 第1项``); where rows still share a
    label, rows are labelled by their place (``第7行``)."""
    tables: list[list[tuple[str, str, str, tuple[str, ...]]]] = []
    """Per table: (number label, group label, place label, headings) of its rows."""
    names: list[str] = []
    caption, groups, previous = "", [], -1
    for index, cells in rows:
        between = texts[previous + 1 : index]
        if previous < 0 or len(between) > 2 or not all(_is_group_line(t) for t in between):  # a new table
            first = index
            while first > 0 and index - first < 2 and match_label(texts[first - 1]) and _is_group_line(texts[first - 1]):
                first -= 1
            groups = texts[first:index]
            attachment, caption = table_context(texts[max(0, first - 3) : first])
            name = attachment or f"表{len(tables) + 1}"
            names.append(f"{name}表{len(tables) + 1}" if name in names else name)
            tables.append([])
        elif between:
            groups = between
        number = row_number(cells)
        group = match_label(groups[-1]) if groups else None
        headings = tuple(h for h in (caption, *groups) if h)
        tables[-1].append((f"第{number}项" if number else "", group[2] if group else "", f"第{len(tables[-1]) + 1}行", headings))
        previous = index
    places = []
    for name, table in zip(names, tables, strict=True):
        paths = [(name, number or place) for number, _, place, _ in table]
        if len(set(paths)) < len(paths):
            paths = [(name, group, number) if group and number else (name, place) for number, group, place, _ in table]
        if len(set(paths)) < len(paths):
            paths = [(name, place) for _, _, place, _ in table]
        places.extend((path, row[3]) for path, row in zip(paths, table, strict=True))
    return places


def _is_group_line(text: str) -> bool:
    """A short title line between the rows of a table (a row merged across all columns)."""
    return len(text) <= 40 and not re.search("[。！？；]$", text) and parse_row(text) is None


def _numeral_label(style: str, number: int) -> str:
    digits = "零一二三四五六七八九"
    if number < 10:
        cn = digits[number]
    elif number < 20:
        cn = "十" + (digits[number % 10] if number % 10 else "")
    else:
        cn = digits[number // 10] + "十" + (digits[number % 10] if number % 10 else "")
    circled = _CIRCLED[number - 1] if 0 < number <= len(_CIRCLED) else str(number)
    return _LABELS[style].format(cn=cn, n=number, circled=circled)


def _remove_index(nodes: list[_Node], front: list[list[int]], index: int, keep: _Node) -> None:
    for node in nodes:
        if node is keep:
            continue
        for run in node.pieces:
            if index in run:
                run.remove(index)
        node.pieces = [run for run in node.pieces if run]
    for run in front:
        if index in run:
            run.remove(index)


_BREAKS = ("，,；;：: ", "、")
"""Where a sentence longer than a clause may be cut, in order of preference: after a comma, semicolon, colon or
space, else after an enumeration comma; a hard cut is the last resort."""


def split_run(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Spans of at most ``max_chars`` covering ``text[start:end]`` (a sentence with no sentence end in reach),
    each cut after the last break character that fits; spaces at a cut are left out."""
    spans: list[tuple[int, int]] = []
    while end - start > max_chars:
        limit = start + max_chars
        cut = -1
        for chars in _BREAKS:
            cut = max(text.rfind(ch, start + 1, limit) for ch in chars)
            if cut >= 0:
                break
        cut = cut + 1 if cut >= 0 else limit
        piece_end = cut
        while piece_end > start and text[piece_end - 1].isspace():
            piece_end -= 1
        spans.append((start, piece_end))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        spans.append((start, end))
    return spans


def split_long(text: str, max_chars: int) -> list[tuple[int, int]]:
    """Spans of ``text`` of at most ``max_chars`` each, cut after sentences; a longer sentence is cut at commas,
    semicolons or spaces (hard cut as the last resort). A short tail joins the piece before it, beyond
    ``max_chars`` only when no sentence had to be cut."""
    if len(text) <= max_chars:
        return [(0, len(text))]
    spans: list[tuple[int, int]] = []
    start = end = 0
    cut_any = False
    for sentence in split_sentences(text):
        units = [sentence]
        if sentence[1] - sentence[0] > max_chars:
            units = split_run(text, sentence[0], sentence[1], max_chars)
            cut_any = True
        for s_start, s_end in units:
            if end > start and s_end - start > max_chars:
                spans.append((start, end))
                start = s_start
            end = s_end
    if end > start:
        spans.append((start, end))
    joinable = len(spans) >= 2 and (not cut_any or spans[-1][1] - spans[-2][0] <= max_chars)
    if joinable and spans[-1][1] - spans[-1][0] < 80:
        # a short tail such as a responsibility note stays with the sentence before it
        spans[-2:] = [(spans[-2][0], spans[-1][1])]
    return spans
