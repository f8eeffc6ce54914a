"""Hostile and damaged files: every one is a clear ``LoadError`` or a decoded text, and sizes stay bounded.

Odd encodings (a BOM over another encoding, UTF-16 without BOM, odd-length UTF-16, stray NUL bytes), a long
run with no sentence end, oversized and zip-bomb .docx files, and paths that are not regular files.
"""

from __future__ import annotations

import codecs
import itertools
import os
import random
import threading
import zipfile
from pathlib import Path

import pytest

from ingest.clauses import split_long
from ingest.documents import fingerprint, read_document
from ingest.loaders import LoadError, decode, load

NOTICE = (
    "关于加强城市管理执法工作的通知\n"
    "各区人民政府，市政府各部门：\n"
    "为规范城市管理执法行为，现就有关事项通知如下。\n"
    "一、明确执法职责\n"
    "（一）各区要落实属地管理责任，2021年底前完成执法队伍整合。\n"
    "（二）市城市管理部门负责统筹协调和监督检查。\n"
    "二、强化保障措施\n"
    "各部门要加强经费保障，确保工作顺利推进。\n"
    "某某市人民政府\n"
    "2021年3月8日\n"
)
RUN = "城市管理执法工作，"


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _lines(text: str) -> list[str]:
    return [line for line in text.replace("\r\n", "\n").split("\n") if line]


# ---------------------------------------------------------------- encodings


def test_utf8_bom_followed_by_gbk_is_read_as_gbk(tmp_path: Path) -> None:
    path = _write(tmp_path, "bom_gbk.txt", codecs.BOM_UTF8 + NOTICE.encode("gbk"))
    loaded = load(path)
    assert loaded.text == NOTICE
    assert loaded.encoding == "gb18030"
    assert any("byte-order mark" in w for w in loaded.warnings)
    doc, report = read_document(path)
    assert doc.meta.title == "关于加强城市管理执法工作的通知"
    assert any("byte-order mark" in w for w in report.warnings)


def test_odd_length_utf16_is_a_load_error_or_text(tmp_path: Path) -> None:
    truncated = _write(tmp_path, "cut.txt", NOTICE.encode("utf-16") + b"\x8b")
    with pytest.raises(LoadError, match="odd number of bytes"):
        load(truncated)
    # a one-byte line end appended by a tool that did not know the file was UTF-16
    appended = _write(tmp_path, "appended.txt", NOTICE.encode("utf-16") + b"\n")
    loaded = load(appended)
    assert loaded.text == NOTICE
    assert loaded.warnings


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_decoded(tmp_path: Path, codec: str) -> None:
    loaded = load(_write(tmp_path, f"{codec}.txt", NOTICE.replace("\n", "\r\n").encode(codec)))
    assert loaded.encoding == codec
    assert _lines(loaded.text) == _lines(NOTICE)


def test_decode_raises_only_load_errors() -> None:
    rng = random.Random(7)
    prefixes = [b"", codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, "通知".encode("gbk")]
    for i in range(300):
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 60)))
        if i % 3 == 0:  # NUL-rich bytes, as in UTF-16 or binary data
            body = bytes(b if rng.random() < 0.5 else 0 for b in body)
        try:
            text, _ = decode(prefixes[i % len(prefixes)] + body)
        except LoadError as exc:
            assert str(exc)
        else:
            assert "\x00" not in text


def test_nul_bytes_after_the_first_4kb_are_removed(tmp_path: Path) -> None:
    filler = "各部门要加强经费保障，确保工作顺利推进。\n" * 120  # ≈ 7 KB of UTF-8, so the NULs come after 4 KB
    path = _write(tmp_path, "nul.txt", (NOTICE + filler).encode("utf-8") + b"\x00\x00\x00" + NOTICE.encode("utf-8"))
    assert len((NOTICE + filler).encode("utf-8")) > 4096
    doc, report = read_document(path)
    assert "\x00" not in doc.text
    assert all("\x00" not in c.text for c in doc.clauses)
    assert any("NUL" in w for w in report.warnings)


def test_binary_data_after_the_first_4kb_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "tail.txt", NOTICE.encode("utf-8") * 10 + bytes(range(256)) * 16)
    with pytest.raises(LoadError, match="binary"):
        load(path)


# ---------------------------------------------------------------- long runs


def test_a_long_run_without_sentence_end_is_split_at_commas(tmp_path: Path) -> None:
    line = "一、" + RUN * (50_000 // len(RUN))
    path = _write(tmp_path, "run.txt", ("关于城市管理的通知\n" + line + "\n").encode("utf-8"))
    doc, _ = read_document(path, max_chars=360)
    pieces = [c for c in doc.clauses if c.label_path == ("一",)]
    assert len(pieces) > 100
    assert all(len(c.text) <= 360 for c in doc.clauses)
    assert all(c.text.endswith("，") for c in pieces[:-1])  # cut after a comma, not inside a word
    assert [c.part for c in pieces] == list(range(len(pieces)))
    assert "".join(c.text for c in pieces) == line
    assert all(doc.text[c.start : c.end] == c.text for c in pieces)


@pytest.mark.parametrize(
    "text",
    [
        "城" * 1000,  # no break at all: hard cuts
        ("城市 管理 " * 200).strip(),  # spaces only
        "前言。" + "城市、管理" * 150 + "。结尾。",  # enumeration commas only, inside a sentence
    ],
)
def test_split_long_keeps_every_piece_within_the_limit(text: str) -> None:
    spans = split_long(text, 100)
    assert all(0 < end - start <= 100 for start, end in spans)
    assert [s for s, _ in spans] == sorted(s for s, _ in spans)
    gaps = [text[end:start] for (_, end), (start, _) in itertools.pairwise(spans)]
    assert all(not gap.strip() for gap in gaps)  # only the spaces at a cut are left out
    assert spans[0][0] == 0 and spans[-1][1] == len(text)


# ---------------------------------------------------------------- sizes


def _docx_with(path: Path, document_xml: str) -> Path:
    """A minimal .docx (content types, relationships, one document part)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        archive.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Target="word/document.xml" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/></Relationships>',
        )
        archive.writestr("word/document.xml", document_xml)
    return path


def _document_xml(paragraphs: list[str]) -> str:
    body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paragraphs)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body>{body}</w:body></w:document>"
    )


def test_docx_is_bounded_by_its_unpacked_size(tmp_path: Path) -> None:
    small = _docx_with(tmp_path / "small.docx", _document_xml(_lines(NOTICE)))
    doc, _ = read_document(small, max_bytes=100_000)
    assert doc.meta.title == "关于加强城市管理执法工作的通知"
    # a tiny file (a zip bomb in miniature) whose document part unpacks to 3 MB of empty runs
    bomb = _docx_with(tmp_path / "bomb.docx", _document_xml([*_lines(NOTICE), *["" for _ in range(100_000)]]))
    assert bomb.stat().st_size < 100_000
    with pytest.raises(LoadError, match=r"unpack.*limit 0\.1 MB"):
        read_document(bomb, max_bytes=100_000)
    assert read_document(bomb)[0].clauses  # no limit: read as before


def test_files_over_max_bytes_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "big.txt", NOTICE.encode("utf-8") * 100)
    with pytest.raises(LoadError, match=r"too large.*limit 0\.0 MB"):
        read_document(path, max_bytes=10_000)
    assert read_document(path, max_bytes=1_000_000)[0].clauses


def test_a_text_file_named_docx_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match=r"not a readable \.docx"):
        read_document(_write(tmp_path, "plain.docx", NOTICE.encode("utf-8")), max_bytes=1_000_000)


# ---------------------------------------------------------------- kinds of path


def test_a_directory_is_a_load_error(tmp_path: Path) -> None:
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    with pytest.raises(LoadError, match="directory"):
        read_document(folder)
    with pytest.raises(LoadError, match="directory"):
        fingerprint(folder, 360)


def test_a_symlink_loop_is_a_load_error(tmp_path: Path) -> None:
    (tmp_path / "a.txt").symlink_to(tmp_path / "b.txt")
    (tmp_path / "b.txt").symlink_to(tmp_path / "a.txt")
    with pytest.raises(LoadError, match="cannot open"):
        read_document(tmp_path / "a.txt")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
@pytest.mark.parametrize("call", [read_document, lambda path: fingerprint(path, 360)], ids=["read", "fingerprint"])
def test_a_fifo_is_a_load_error_without_blocking(tmp_path: Path, call) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            call(fifo)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(5)
    if thread.is_alive():  # blocked opening the FIFO: give it a writer so the thread ends, then fail
        with open(fifo, "wb"):
            pass
        thread.join(5)
        pytest.fail("reading a FIFO blocked")
    assert isinstance(outcome[0], LoadError), outcome
    assert "not a regular file" in str(outcome[0])
