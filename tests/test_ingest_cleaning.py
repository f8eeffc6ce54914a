"""Cleaning of the sample documents: no page chrome or pinyin left, nothing dropped without a report,
each document kept in its own script."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.text import is_traditional
from assistant.types import Document
from ingest.clean import clean, normalise_punctuation, normalise_spacing
from ingest.documents import FileReport, read_document
from ingest.loaders import load

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
SAMPLES = sorted(p.name for p in CORPUS.glob("*.txt"))
S000, S001, S002, S003, S004 = SAMPLES

TONES = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
PINYIN_RE = re.compile(f"[(（][a-zü{TONES}]*[{TONES}][a-zü{TONES}]*[)）]")

BOILERPLATE = [
    "首页", "首頁", ">>", "»",
    "欢迎访问", "歡迎訪問",
    "小字号", "小字號", "大字号", "大字號",
    "背景色",
    "分享让更多人看到", "分享讓更多人看到",
    "返回顶部", "返回頂部",
    "责编", "責編",
    "人民網", "頻道", "本網專稿",
    "甘肅經濟信息網", "甘肃经济信息网",
]
CLICK_COUNTER_RE = re.compile(r"(?:点击|點擊|浏览|瀏覽|阅读|閱讀)(?:次数|次數|量)?\s*[:：]\s*\d+")
PAGE_FIELD_RE = re.compile(r"(?:發布時間|发布时间|時間|时间|來源|来源|标\s*题|发文字号|索引号|主题分类|发文机关|成文日期)\s*[:：]")


@pytest.fixture(scope="module")
def parsed() -> dict[str, tuple[Document, FileReport]]:
    return {name: read_document(CORPUS / name) for name in SAMPLES}


def _all_clause_texts(parsed) -> list[tuple[str, str, str]]:
    return [(name, c.label, c.text) for name, (doc, _) in parsed.items() for c in doc.clauses]


def test_raw_samples_do_contain_the_noise_that_must_go() -> None:
    """Guards the tests below: the raw files have the pinyin, chrome and teasers that cleaning removes."""
    raw = {name: (CORPUS / name).read_text(encoding="utf-8") for name in SAMPLES}
    assert len(PINYIN_RE.findall(raw[S000])) == 348
    assert "歡迎訪問" in raw[S000] and "首頁 /" in raw[S000] and "點擊:29" in raw[S000]
    assert "首页 >>" in raw[S001]
    assert "小字號" in raw[S002] and "分享讓更多人看到" in raw[S002] and "返回頂部" in raw[S002] and "責編" in raw[S002]
    assert "庆阳市检察机关" in raw[S003]
    assert "背景色" in raw[S004]


def test_no_pinyin_annotations_left(parsed) -> None:
    for name, label, text in _all_clause_texts(parsed):
        assert not PINYIN_RE.search(text), (name, label, PINYIN_RE.search(text))
        assert not re.search(f"[{TONES}]", text), (name, label)
    doc, _ = parsed[S000]
    assert not PINYIN_RE.search(doc.text)
    # the annotated words themselves stay: 經(jīng)濟 → 經濟
    assert "經濟社會發展" in doc.text


@pytest.mark.parametrize("needle", BOILERPLATE)
def test_no_page_chrome_left(parsed, needle: str) -> None:
    hits = [(name, label) for name, label, text in _all_clause_texts(parsed) if needle in text]
    assert not hits, f"{needle!r} left in {hits}"


def test_no_click_counters_or_page_metadata_left(parsed) -> None:
    for name, label, text in _all_clause_texts(parsed):
        assert not CLICK_COUNTER_RE.search(text), (name, label)
        for line in text.split("\n"):
            assert not PAGE_FIELD_RE.match(line), (name, label, line)
            assert not re.fullmatch(r"[•·\s]*\d{4}[-./年]\d{1,2}[-./月]\d{1,2}日?\s*\d{1,2}:\d{2}.*", line), (name, label, line)


def test_no_sidebar_teasers_left(parsed) -> None:
    doc, _ = parsed[S003]
    assert "检察" not in doc.text
    assert doc.text.rstrip().endswith("作出新的更大的贡献。")


@pytest.mark.parametrize("name", SAMPLES)
def test_every_line_is_kept_or_reported(name: str) -> None:
    """Nothing is dropped silently: each non-blank line of the file is either kept or listed as removed."""
    raw = load(CORPUS / name).text
    lines, report = clean(raw)
    raw_lines = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    non_blank = {i for i, line in enumerate(raw_lines, start=1) if normalise_spacing(line)}
    kept = {line.source_line for line in lines}
    removed = {note.line for note in report.removed}
    assert not kept & removed
    assert kept | removed == non_blank
    assert all(note.reason and note.text for note in report.removed)


def test_removed_lines_of_each_sample_are_reported(parsed) -> None:
    reasons = {name: [(n["line"], n["reason"]) for n in report.removed_lines] for name, (_, report) in parsed.items()}
    assert (1, "site banner") in reasons[S000]
    assert (2, "breadcrumb") in reasons[S000]
    assert (1, "breadcrumb") in reasons[S001]
    assert (7, "font-size control") in reasons[S002]
    assert (159, "editor credit") in reasons[S002]
    assert (161, "share widget") in reasons[S002]
    assert (163, "back-to-top link") in reasons[S002]
    assert any(reason == "page metadata" for _, reason in reasons[S004])


def test_sidebar_teasers_of_003_are_reported() -> None:
    _, report = read_document(CORPUS / S003)
    teasers = [n for n in report.removed_lines if n["reason"] == "unrelated teaser after the document"]
    assert len(teasers) == 10
    assert [n["line"] for n in teasers] == list(range(52, 62))
    assert teasers[0]["text"] == "庆阳市检察机关支持7位贫困户起诉讨回了欠薪"


def test_pinyin_repairs_of_000_are_counted(parsed) -> None:
    _, report = parsed[S000]
    assert report.repairs["pinyin annotations removed"] == 348
    assert report.repairs["mis-decoded lines kept as is"] == 1
    for name in (S001, S002, S003, S004):
        assert "pinyin annotations removed" not in parsed[name][1].repairs


def test_page_fields_feed_the_metadata_not_the_text(parsed) -> None:
    doc, _ = parsed[S000]
    assert doc.meta.date_published == "2015-06-24"  # from the removed "• 時間：2015-06-24" line
    assert "2015-06-24" not in doc.text


@pytest.mark.parametrize(
    ("name", "sample"),
    [
        (S000, "甘肅省人民政府關于加快建設法治政府打造法治政務環境的意見"),
        (S002, "內蒙古自治區貫徹《法治政府建設實施綱要（2021—2025年）》實施方案"),
    ],
)
def test_traditional_documents_stay_traditional(parsed, name: str, sample: str) -> None:
    doc, _ = parsed[name]
    assert doc.meta.script == "traditional"
    assert sample in doc.text
    body = "".join(c.text for c in doc.clauses if c.kind == "clause")
    assert is_traditional(body)
    for word in ("實", "關", "設", "發", "與", "權"):
        assert word in body, word
    assert all(is_traditional(c.text) for c in doc.clauses if c.kind == "clause" and len(c.text) > 40)


@pytest.mark.parametrize("name", [S001, S003, S004])
def test_simplified_documents_stay_simplified(parsed, name: str) -> None:
    doc, _ = parsed[name]
    assert doc.meta.script == "simplified"
    assert not is_traditional(doc.text)


def test_punctuation_is_made_full_width_in_chinese_context(parsed) -> None:
    doc, report = parsed[S000]
    assert report.repairs["punctuation made full-width"] > 0
    first = next(c for c in doc.clauses if c.label_path == ("一", "（一）"))
    assert first.text.startswith("（一）指導思想。以鄧小平理論、“三個代表”")
    assert "," not in first.text


def test_full_width_letters_and_digits_become_half_width_like_the_reference() -> None:
    """The translation table gives what the per-character rule it replaced gave, for every character up to U+FFFF."""
    every = "".join(chr(code) for code in range(0x20, 0x10000) if not 0xD800 <= code <= 0xDFFF and chr(code) not in "(),:;!?")

    def reference(text: str) -> str:
        return "".join(
            chr(ord(ch) - 0xFEE0) if "０" <= ch <= "９" or "Ａ" <= ch <= "Ｚ" or "ａ" <= ch <= "ｚ" else ch for ch in text
        )

    assert normalise_punctuation(every) == reference(every)
    assert normalise_punctuation("２０２１年ＡＢＣ，(一)") == "2021年ABC，（一）"


def test_a_government_site_footer_is_chrome() -> None:
    body = ["关于加强管理的通知", "各单位：", "现就有关事项通知如下。", "某市人民政府办公室", "2024年4月2日"]
    footer = "主办单位：某市人民政府办公室 网站标识码 3301060001 ICP备案号 浙ICP备05000000号 公网安备 33010602000001号"
    lines, report = clean("\n".join([*body, footer]))
    assert [line.text for line in lines] == body
    assert [note.reason for note in report.removed] == ["site footer"]
