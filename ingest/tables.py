"""Tables in plans: task-division tables (分工表) become one line per row, page-header tables become metadata lines.

A loader hands over a table as rows of cell texts; :func:`table_lines` turns it into text lines that survive
:func:`ingest.clean.clean` and that :func:`parse_row` reads back in the clause parser:

* a 分工表 row (a header row names a task column and a lead-unit, unit or deadline column) becomes one
  self-describing line ``序号：3；重点任务：…；牵头单位：…；完成时限：2024年底前。`` — column name and cell
  joined by ``：``, cells by ``；``, ended by ``。`` (so the cleaner never takes a table at the end of a document
  for trailing teasers); empty cells are left out;
* a page-header table of a government site (索引号 / 发文字号 / 成文日期 …) becomes ``字段：值`` lines, which the
  cleaner takes into its ``page_fields`` and out of the content;
* any other table gets None: the loader keeps its own rendering.

Column roles are read from the head nouns of the column names (``牵头`` → lead units, ``任务``/``事项``/``措施`` →
task, ``时限``/``时间``/``节点`` → deadline …), so 重点任务, 工作任务, 主要任务 or 改革事项 all name the task column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .clean import page_fields

ROLE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("number", ("序号", "編號", "编号", "序號")),
    ("lead", ("牵头", "牽頭", "主办", "主辦")),
    ("units", ("责任", "責任", "配合", "参与", "參與", "协办", "協辦", "单位", "單位", "部门", "部門")),
    ("deadline", ("时限", "時限", "时间", "時間", "期限", "节点", "節點", "进度", "進度")),
    ("task", ("任务", "任務", "事项", "事項", "措施", "举措", "舉措", "内容", "內容", "工作", "目标", "目標")),
)
"""Role of a column by the words its name contains, first match wins (``牵头责任单位`` is a lead column)."""

MAX_COLUMN_NAME = 10
_ROW_KEY_RE = re.compile(rf"(?:^|；)([^：；。，,\s]{{1,{MAX_COLUMN_NAME}}})：")
_CELL_SPLIT_RE = re.compile(r"\t+|\s{2,}|\u3000+")


def column_role(name: str) -> str | None:
    """``number``, ``task``, ``lead``, ``units`` or ``deadline`` for a column name, else None."""
    name = re.sub(r"\s", "", name).rstrip("：:")
    if not name or len(name) > MAX_COLUMN_NAME:
        return None
    return next((role for role, words in ROLE_WORDS if any(w in name for w in words)), None)


def is_task_header(cells: list[str]) -> bool:
    """A header row of a 分工表: one task column and a lead-unit, unit or deadline column."""
    roles = [column_role(c) for c in cells]
    return roles.count("task") >= 1 and any(r in roles for r in ("lead", "units", "deadline"))


def _cell(text: str) -> str:
    """One line for a cell: its paragraphs joined by ``，``, end punctuation dropped, and a ``；`` that would read
    as the start of another column (``；目标：``) made a ``，``."""
    parts = [re.sub(r"\s+", " ", p).strip() for p in text.splitlines()]
    joined = "，".join(p for p in parts if p).strip("；。 ")
    return re.sub(rf"；(?=[^：；。，,\s]{{1,{MAX_COLUMN_NAME}}}：)", "，", joined)


def row_line(header: list[str], cells: list[str]) -> str:
    """The line of one 分工表 row: ``列名：单元格；…。`` (empty cells left out; "" for an empty row)."""
    pairs = [(re.sub(r"\s", "", h).rstrip("：:"), _cell(c)) for h, c in zip(header, cells, strict=False)]
    body = "；".join(f"{h}：{c}" for h, c in pairs if h and c)
    return body + "。" if body else ""


def metadata_lines(rows: list[list[str]]) -> list[str] | None:
    """``字段：值`` lines of a page-header table (cells alternate field and value), or None when fewer than half
    of them are lines the cleaner recognises as page metadata."""
    if not rows or len(rows) > 12 or any(len(r) > 4 for r in rows):
        return None
    lines: list[str] = []
    for row in rows:
        cells = [_cell(c) for c in row]
        filled = [c for c in cells if c]
        if filled and all(re.match(r"^[^:：]{1,8}[:：]\s*\S", c) for c in filled):
            lines.extend(filled)  # each cell holds a field and its value
            continue
        for key, value in zip(cells[::2], cells[1::2], strict=False):
            key = key.rstrip("：: ")
            if key:
                lines.append(f"{key}：{value}")
    known = sum(page_fields(line) is not None for line in lines)
    return lines if lines and known >= 2 and 2 * known >= len(lines) else None


def table_lines(rows: list[list[str]]) -> list[str] | None:
    """Text lines for a table given as rows of cell texts; None when it is neither a 分工表 nor a page header.

    Rows before the header row (a title row) are kept as plain lines; a row whose cells all hold the same text
    (a merged group row such as ``一、重点任务``) is kept as that text.
    """
    rows = [[c.strip() for c in r] for r in rows if any(c.strip() for c in r)]
    at = next((i for i, r in enumerate(rows[:4]) if is_task_header(r)), None)
    if at is None:
        return metadata_lines(rows)
    header = rows[at]
    lines = [_cell(" ".join(dict.fromkeys(r))) for r in rows[:at]]
    for cells in rows[at + 1 :]:
        filled = list(dict.fromkeys(c for c in cells if c))
        group = len(filled) == 1 and (len(cells) < len(header) or len(set(cells)) == 1)
        lines.append(_cell(filled[0]) if group else row_line(header, cells))
    return [line for line in lines if line]


def split_cells(line: str) -> list[str]:
    """Cells of a line of an aligned plain-text table (columns separated by tabs or two or more spaces) or of a
    Markdown table (``| 序号 | 重点任务 |``); [] for a Markdown separator row."""
    line = line.strip()
    if line.startswith("|"):
        cells = [c.strip() for c in line.strip("|").split("|")]
        return [] if all(re.fullmatch(r":?-*:?", c) for c in cells) else cells
    return [c for c in _CELL_SPLIT_RE.split(line) if c]


def rewrite_text_tables(text: str) -> str:
    """``text`` with each aligned plain-text 分工表 (a header row, then rows of as many cells) replaced by row
    lines, line for line (the header row becomes an empty line), so that line numbers stay as they were."""
    lines = text.split("\n")
    out = list(lines)
    i = 0
    while i < len(lines):
        header = split_cells(lines[i])
        if len(header) < 3 or not is_task_header(header):
            i += 1
            continue
        out[i] = ""
        j = i + 1
        while j < len(lines):
            cells = split_cells(lines[j])
            if not cells:
                j += 1
                continue
            if len(cells) != len(header):
                break
            out[j] = row_line(header, cells)
            j += 1
        i = j
    return "\n".join(out)


@dataclass(frozen=True)
class RowCell:
    name: str
    value: str
    start: int
    """Offset of the value in the row line."""
    end: int
    role: str | None


def parse_row(line: str) -> list[RowCell] | None:
    """The cells of a 分工表 row line written by :func:`row_line`, or None for any other line."""
    if not line.endswith("。"):
        return None
    keys = list(_ROW_KEY_RE.finditer(line))
    if len(keys) < 2 or keys[0].start() != 0:
        return None
    cells: list[RowCell] = []
    for n, key in enumerate(keys):
        end = keys[n + 1].start() if n + 1 < len(keys) else len(line) - 1
        cells.append(RowCell(key.group(1), line[key.end() : end], key.end(), end, column_role(key.group(1))))
    roles = [c.role for c in cells]
    if "task" not in roles or not any(r in roles for r in ("lead", "units", "deadline")):
        return None
    return cells


def task_span(cells: list[RowCell]) -> tuple[int, int]:
    """Offsets in the row line of its task text: the first task cell and the task cells right after it
    (``重点任务`` and ``具体措施``)."""
    at = next(i for i, c in enumerate(cells) if c.role == "task")
    end = at
    while end + 1 < len(cells) and cells[end + 1].role == "task":
        end += 1
    return cells[at].start, cells[end].end


def row_number(cells: list[RowCell]) -> str:
    """The row's own number (its 序号 cell) when it is a plain or Chinese numeral, else ""."""
    value = next((c.value for c in cells if c.role == "number"), "")
    return value if re.fullmatch(r"\d{1,4}|[一二三四五六七八九十百]{1,4}", value) else ""


ATTACHMENT_RE = re.compile(r"^附件(?:\s*(\d{1,2})\s*[:：]?|\s*[:：]|\s+|$)\s*(.*)$")
"""An attachment line: ``附件``, ``附件2``, ``附件：重点任务分工表``, ``附件1 名单`` (group 1: its number, group 2:
its title)."""


def table_context(before: list[str]) -> tuple[str, str]:
    """``(attachment label, caption)`` of a table from the lines just before it (nearest last): ``附件2`` from an
    ``附件2`` line, the caption from a short title line such as ``重点任务分工表``."""
    attachment, caption = "", ""
    for text in reversed(before[-3:]):
        m = ATTACHMENT_RE.match(text)
        if m and len(text) <= 60:
            attachment = f"附件{m.group(1) or ''}"
            caption = caption or m.group(2).strip()
            break
        if caption or len(text) > 60 or re.search("[。；！？]$", text):
            break
        caption = text
    return attachment, caption
