"""Clause trees of the five sample documents: golden files plus explicit structural facts.

The golden files are regenerated with ``.venv/bin/python tests/golden/update.py``; the structural tests below
state the facts read from the documents themselves, so a regenerated golden file cannot hide a regression.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from assistant.text import cn_number as chinese_number
from assistant.types import Clause, Document
from ingest.documents import FileReport, read_document

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
GOLDEN = Path(__file__).resolve().parent / "golden"
SAMPLES = sorted(p.name for p in CORPUS.glob("*.txt"))

S000, S001, S002, S003, S004 = SAMPLES


def _golden_module():
    spec = importlib.util.spec_from_file_location("golden_update", GOLDEN / "update.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def parsed() -> dict[str, tuple[Document, FileReport]]:
    return {name: read_document(CORPUS / name) for name in SAMPLES}


def _clauses(parsed, name: str) -> list[Clause]:
    return parsed[name][0].clauses


def _first_parts(clauses: list[Clause], *, kind: str = "clause") -> list[Clause]:
    return [c for c in clauses if c.kind == kind and c.part == 0]


def _children(clauses: list[Clause], *path: str) -> list[str]:
    """Labels (last path element) of the direct children of ``path``, in document order, first parts only."""
    return [
        c.label_path[-1]
        for c in _first_parts(clauses)
        if len(c.label_path) == len(path) + 1 and c.label_path[: len(path)] == path
    ]


def _paren(numbers) -> list[str]:
    numerals = "零一二三四五六七八九"

    def cn(n: int) -> str:
        if n < 10:
            return numerals[n]
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else numerals[tens]) + "十" + (numerals[ones] if ones else "")

    return [f"（{cn(n)}）" for n in numbers]


# ---------------------------------------------------------------- golden files


def test_there_are_five_samples_and_five_golden_files() -> None:
    assert len(SAMPLES) == 5
    assert sorted(p.stem for p in GOLDEN.glob("*.json")) == [Path(s).stem for s in SAMPLES]


@pytest.mark.parametrize("name", SAMPLES)
def test_clause_tree_matches_golden_file(name: str) -> None:
    update = _golden_module()
    expected = json.loads((GOLDEN / f"{Path(name).stem}.json").read_text(encoding="utf-8"))
    actual = update.clause_tree(CORPUS / name)
    assert actual["source"] == expected["source"] == name
    # compare record by record first so that a failure names the clause, then the whole list
    for i, (got, want) in enumerate(zip(actual["clauses"], expected["clauses"], strict=False)):
        assert got == want, f"{name}: clause #{i} differs (regenerate with tests/golden/update.py only if intended)"
    assert len(actual["clauses"]) == len(expected["clauses"])


def test_golden_files_are_written_as_update_writes_them() -> None:
    """The committed files are exactly what update.py writes (no hand edits that the next update would undo)."""
    update = _golden_module()
    for name in SAMPLES:
        path = GOLDEN / f"{Path(name).stem}.json"
        tree = json.loads(path.read_text(encoding="utf-8"))
        assert path.read_text(encoding="utf-8") == update.dumps(tree)


# ---------------------------------------------------------------- 000: 甘政發〔2015〕58號


def test_000_sections_and_subsections(parsed) -> None:
    clauses = _clauses(parsed, S000)
    assert _children(clauses) == ["一", "二", "三"]
    assert _children(clauses, "一") == _paren(range(1, 3))
    assert _children(clauses, "二") == _paren(range(1, 9))
    assert _children(clauses, "三") == _paren(range(1, 5))


def test_000_section_two_item_counts(parsed) -> None:
    clauses = _clauses(parsed, S000)
    counts = [len(_children(clauses, "二", sub)) for sub in _paren(range(1, 9))]
    assert counts == [5, 5, 4, 5, 5, 5, 4, 5]
    for sub in _paren(range(1, 9)):
        items = _children(clauses, "二", sub)
        assert items == [str(n) for n in range(1, len(items) + 1)]
    # items carry the titles of their section and subsection as headings
    item = next(c for c in clauses if c.label_path == ("二", "（三）", "4"))
    assert item.headings == ("工作任務", "加強政府立法工作，打造特色鮮明務實管用的制度建設環境")
    assert item.text.startswith("4.圍繞省委省政府中心工作，加強重點領域立法。")


def test_000_misdecoded_subsection_three_one_is_recognised(parsed) -> None:
    doc, report = parsed[S000]
    record = next(c for c in doc.clauses if c.label_path == ("三", "（一）"))
    assert "mis-decoded" in record.flags
    assert record.headings == ("組織保障和落實機制",)
    assert "織領導。各級各部門要把深入推進依法行政" in record.text
    assert record.responsible == "責任單位：省政府各部門、各市州政府負責"
    # the damage is reported, not silently kept
    assert any(n["reason"].startswith("mis-decoded") and "織領導" in n["text"] for n in report.flagged_lines)
    assert any("（一）" in w and "mis-decoded" in w for w in report.warnings)
    # its sibling right after is still （二）, not a second （一）
    assert _children(doc.clauses, "三")[:2] == ["（一）", "（二）"]


def test_000_responsibility_notes(parsed) -> None:
    clauses = _clauses(parsed, S000)
    items = [c for c in _first_parts(clauses) if len(c.label_path) == 3]
    assert len(items) == 38
    assert all(c.responsible.startswith("責任單位：") for c in items)
    first = next(c for c in clauses if c.label_path == ("二", "（一）", "1"))
    assert first.responsible == "責任單位：省編辦、省政府法制辦、省財政廳牽頭，省政府各部門負責"
    assert first.lead_units == ("省編辦", "省政府法制辦", "省財政廳")
    assert first.units == ("省政府各部門",)


# ---------------------------------------------------------------- 001: 敦政办发〔2017〕110号


def test_001_structure(parsed) -> None:
    clauses = _clauses(parsed, S001)
    assert _children(clauses) == ["一", "二", "三"]
    assert _children(clauses, "一") == []
    assert _children(clauses, "二") == _paren(range(1, 8))
    assert _children(clauses, "三") == _paren(range(1, 4))
    # section 一 has no subsections: its paragraph belongs to it
    section_one = next(c for c in clauses if c.label_path == ("一",))
    assert "《方案》的出台" in section_one.text


# ---------------------------------------------------------------- 002: 內蒙古 实施方案


def test_002_has_clauses_one_to_thirty_two(parsed) -> None:
    clauses = _clauses(parsed, S002)
    sections = _children(clauses)
    assert sections == list("一二三四五六七八九")
    subsections = [label for section in sections for label in _children(clauses, section)]
    assert subsections == _paren(range(1, 33))
    assert [len(_children(clauses, s)) for s in sections] == [3, 3, 3, 4, 3, 4, 5, 3, 4]
    numbers = [chinese_number(label.strip("（）")) for label in subsections]
    assert numbers == list(range(1, 33))
    # headings are the subsections' own bold titles, one line each in the source
    last = next(c for c in clauses if c.label_path == ("九", "（三十二）"))
    assert last.text.startswith("（三十二）加強理論研究和輿論宣傳\n加強法治政府建設理論研究")
    assert last.headings == ("強化組織實施",)


def test_002_long_clauses_are_split_with_label_kept(parsed) -> None:
    clauses = _clauses(parsed, S002)
    parts = [c for c in clauses if c.label_path == ("九", "（三十一）")]
    assert [c.part for c in parts] == [0, 1, 2]
    assert all(len(c.text) <= 360 for c in parts)
    assert parts[0].text.startswith("（三十一）")
    assert not parts[1].text.startswith("（三十一）")


# ---------------------------------------------------------------- 003: speech


def test_003_speech_enumerations(parsed) -> None:
    clauses = _clauses(parsed, S003)
    assert _children(clauses) == ["一", "二", "三", "四"]
    assert _children(clauses, "一") == [f"{n}是" for n in "一二三四五六七"]
    assert _children(clauses, "二") == ["第一", "第二", "第三", "一是", "二是", "三是", "四是"]
    assert _children(clauses, "三") == _paren(range(1, 7))
    assert _children(clauses, "四") == [f"{n}要" for n in "一二三四"]
    enum = next(c for c in clauses if c.label_path == ("四", "三要"))
    assert enum.text.startswith("三要强化机构队伍。")
    assert enum.headings == ("凝心聚力，求真务实，激发狠抓任务落实的新状态",)


def test_003_paragraph_after_an_enumeration_returns_to_the_section(parsed) -> None:
    clauses = _clauses(parsed, S003)
    after_seven = next(c for c in clauses if c.text.startswith("此外，各级政府法制机构"))
    assert after_seven.label_path == ("一",)
    closing = next(c for c in clauses if c.text.startswith("同志们，在深入推进依法行政"))
    assert closing.label_path == ("四",)
    between = next(c for c in clauses if c.text.startswith("基于这样的形势"))
    assert between.label_path == ("二",)


def test_003_has_no_signoff_and_a_header_with_speaker_and_date(parsed) -> None:
    doc, _ = parsed[S003]
    kinds = {c.kind for c in doc.clauses}
    assert "signoff" not in kinds  # a speech ends with its last paragraph
    header = next(c for c in doc.clauses if c.kind == "header")
    assert "省政府副秘书长、法制办主任白文晖" in header.text
    assert "（2015年4月20日）" in header.text


# ---------------------------------------------------------------- 004: 市委发〔2017〕23号


def test_004_structure(parsed) -> None:
    clauses = _clauses(parsed, S004)
    assert _children(clauses) == ["一", "二", "三"]
    subsections = [label for section in "一二三" for label in _children(clauses, section)]
    assert subsections == _paren(range(1, 33))
    assert [len(_children(clauses, s)) for s in "一二三"] == [3, 25, 4]


def test_004_responsible_units(parsed) -> None:
    clauses = _first_parts(_clauses(parsed, S004))
    with_note = [c for c in clauses if c.responsible]
    assert len(with_note) == 28  # （四）…（三十二） except （二十八）, whose note lacks "牵头单位："
    five = next(c for c in clauses if c.label_path == ("二", "（五）"))
    assert five.responsible == "牵头单位：市政府办、市发改委、市环保局、市工商局、市政府法制办，责任单位：市直各部门、各县区政府"
    assert five.lead_units == ("市政府办", "市发改委", "市环保局", "市工商局", "市政府法制办")
    assert five.units == ("市直各部门", "各县区政府")
    assert five.deadlines == ("2017年年底前", "到2020年")
    twenty_three = next(c for c in clauses if c.label_path == ("二", "（二十三）"))
    assert twenty_three.lead_units == ("市司法局",)
    assert twenty_three.units == ("各县区政府",)
    # every part of a split clause carries the clause's note
    parts = [c for c in _clauses(parsed, S004) if c.label_path == ("二", "（五）")]
    assert len(parts) == 2 and {p.responsible for p in parts} == {five.responsible}


def test_004_lead_units_separated_by_a_comma(parsed) -> None:
    four = next(c for c in _clauses(parsed, S004) if c.label_path == ("二", "（四）"))
    assert four.lead_units == ("市编办", "市政府法制办")
    assert four.units == ("市直各部门", "各县区政府")


def test_004_embedded_signoff_of_the_cover_letter(parsed) -> None:
    doc, _ = parsed[S004]
    signoff = [c for c in doc.clauses if c.kind == "signoff"]
    assert [c.text for c in signoff] == ["中共张掖市委张掖市人民政府\n2017年4月24日"]
    preamble_text = "\n".join(c.text for c in doc.clauses if c.kind == "preamble")
    assert "现印发给你们" in preamble_text
    assert "制定本方案。" in preamble_text
