"""Answers say when what they cite is superseded, repealed or past its period, and name the current version."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fakes import HashEmbedder

from assistant.service import Assistant, validity_notices
from assistant.settings import load_settings
from assistant.store import Filters
from ingest.pipeline import ingest

PLAN = """{title}
（{year}年3月1日 某市人民政府办公室印发）
一、工作目标
（一）到{end}年，全市窗口单位全面公开办事指南{extra}。
"""


def _index(tmp_path: Path, docs: dict[str, str]) -> Assistant:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in docs.items():
        (folder / name).write_text(text, encoding="utf-8")
    settings = load_settings(env={}, data_dir=tmp_path / "data", abstain_threshold=1e-9)  # validity, not answerability
    assert not ingest([folder], settings, embedder=HashEmbedder()).failed
    return Assistant(settings, embedder=HashEmbedder())


def test_versions_of_one_title_are_linked_and_an_old_one_is_flagged(tmp_path: Path) -> None:
    title = "某市政务公开工作实施方案"
    assistant = _index(tmp_path, {
        "old.txt": PLAN.format(title=title, year=2019, end=2020, extra=""),
        "new.txt": PLAN.format(title=title, year=2023, end=2025, extra="和收费标准"),
        "other.txt": PLAN.format(title="某市信用体系建设方案", year=2023, end=2025, extra=""),
    })
    versions = assistant.store.versions()
    assert versions["old.txt"].superseded_by == "new.txt" and not versions["old.txt"].current
    assert versions["new.txt"].current and versions["new.txt"].supersedes == "old.txt"
    assert versions["other.txt"].current and versions["other.txt"].group.versions == ("other.txt",)
    listed = {d["source"]: (d["current"], d["superseded_by"]) for d in assistant.documents()}
    assert listed == {"old.txt": (False, "new.txt"), "new.txt": (True, ""), "other.txt": (True, "")}

    old = assistant.ask("窗口单位要公开什么？", filters=Filters(sources=("old.txt",)))
    assert {c.source for c in old.citations} == {"old.txt"}
    assert "已有更新的版本" in old.notice and "2023" in old.notice
    new = assistant.ask("窗口单位要公开什么？", filters=Filters(sources=("new.txt",)))
    assert {c.source for c in new.citations} == {"new.txt"} and "已有更新的版本" not in new.notice


def test_a_plan_past_its_period_says_so(tmp_path: Path) -> None:
    assistant = _index(tmp_path, {"plan.txt": PLAN.format(title="某市窗口服务提升方案（2019—2020年）", year=2019, end=2020,
                                                          extra="")})
    answer = assistant.ask("窗口单位要公开什么？")
    assert not answer.abstained and answer.citations
    meta = assistant.store.meta("plan.txt")
    assert meta.period_end == "2020-12-31"
    assert any("实施期限已于2020-12-31结束" in n for n in validity_notices(assistant.store, answer, today=date(2024, 1, 1)))
    assert not validity_notices(assistant.store, answer, today=date(2020, 6, 1))


@pytest.mark.parametrize(("old", "new"), [("a-old.txt", "b-new.txt"), ("b-old.txt", "a-new.txt")])
def test_where_versions_say_the_same_the_latest_is_cited(tmp_path: Path, old: str, new: str) -> None:
    """Identical passages tie in retrieval, so the names decide their order: either way the latest is cited."""
    same = PLAN.format(title="某市窗口服务规范", year=2019, end=2020, extra="")
    assistant = _index(tmp_path, {old: same, new: same.replace("2019年3月1日", "2023年3月1日")})
    answer = assistant.ask("窗口单位要公开什么？")
    assert not answer.abstained
    assert {c.source for c in answer.citations} == {new}
    assert "已有更新的版本" not in answer.notice
