"""Build the plan-style evaluation documents in the formats policy documents arrive in.

    python scripts/make_plan_documents.py        # eval/datasets/plans/src/*.txt → eval/datasets/plans/docs/

The sources are documents the team wrote (fictional content, real document types). Each is written out in one of
the formats the assistant must read, the way such files look in the wild: a GBK text file, HTML pages with
navigation and scripts around the text (one in GB2312), a PDF whose text layer wraps lines at the page width and
numbers its pages, Word files (one with its task table as a real table), a Traditional-script Big5 text file and
Markdown. The output is deterministic (the Word files' members carry one fixed time), so the committed files can be
checked against a rebuild.
"""

from __future__ import annotations

import argparse
import html
import io
import re
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLANS = ROOT / "eval" / "datasets" / "plans"

FORMATS = {
    "p01": "gbk-txt",
    "p02": "html",
    "p03": "pdf",
    "p04": "docx-table",
    "p05": "big5-traditional",
    "p06": "md",
    "p07": "html-gb2312",
    "p08": "docx",
    "p09": "html",
    "p10": "docx",
    "p11": "pdf",
    "p12": "gbk-txt",
    "p13": "docx-table",
    "p14": "md",
}
"""The format each source document is written in (by its prefix)."""

PDF_LINE = 38
"""CJK characters per line of the PDF text layer (an A4 page at 12 pt holds about this many; digits and Latin
letters take half as much)."""
PDF_PAGE = 44
"""Lines per PDF page."""


def paragraphs(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_html(lines: list[str], path: Path, encoding: str) -> None:
    title = next((line for line in lines[:5] if re.search("关于|方案|计划|要点|意见|条例|办法", line)), lines[0])
    body = "\n".join(f"<p>{html.escape(line)}</p>" for line in lines)
    page = (
        f"<!DOCTYPE html><html><head><meta charset='{encoding}'><title>{html.escape(title)}</title>"
        "<style>.nav a { margin: 0 8px }</style><script>var _hmt = _hmt || []; var menu = '一、首页';</script>"
        "</head><body><div class='nav'><a href='/'>首页</a> &gt; <a href='/zwgk'>政务公开</a> &gt; 政策文件</div>"
        "<div class='share'>分享到：微信 微博 【打印本页】【关闭窗口】</div>"
        f"<div class='article'><h1>{html.escape(title)}</h1>\n{body}\n</div>"
        "<div class='footer'>主办单位：人民政府办公室 网站标识码 3301060001 ICP备案号 浙ICP备05000000号</div>"
        "</body></html>"
    )
    path.write_bytes(page.encode(encoding))


def write_docx(lines: list[str], path: Path, table: bool) -> None:
    import docx

    document = docx.Document()
    rows: list[list[str]] = []

    def flush() -> None:
        if not rows:
            return
        grid = document.add_table(rows=len(rows), cols=max(len(r) for r in rows))
        for row, cells in zip(grid.rows, rows, strict=True):
            for cell, text in zip(row.cells, cells, strict=False):
                cell.text = text
        rows.clear()

    for line in lines:
        if table and " | " in line:
            rows.append([cell.strip() for cell in line.split(" | ")])
            continue
        flush()
        document.add_paragraph(line)
    flush()
    buffer = io.BytesIO()
    document.save(buffer)
    # the same text makes the same file: every member stamped with one fixed time
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(zipfile.ZipInfo(info.filename, date_time=(2024, 1, 1, 0, 0, 0)), source.read(info.filename))


def pdf_pages(lines: list[str]) -> list[list[str]]:
    """The text layer's lines: each paragraph wrapped at :data:`PDF_LINE`, pages numbered at the foot."""
    wrapped = [piece for p in lines for piece in wrap(p, 2 * PDF_LINE)]
    pages = [wrapped[i:i + PDF_PAGE] for i in range(0, len(wrapped), PDF_PAGE)]
    return [[*page, f"— {n} —"] for n, page in enumerate(pages, start=1)]


def wrap(paragraph: str, width: int) -> list[str]:
    """A paragraph broken into lines of at most ``width`` half-width columns (a CJK character takes two)."""
    lines, line, used = [], "", 0
    for char in paragraph:
        w = 2 if ord(char) >= 0x2E80 or char in "“”‘’—…" else 1
        if used + w > width:
            lines.append(line)
            line, used = "", 0
        line += char
        used += w
    return [*lines, line] if line else lines


def write_pdf(lines: list[str], path: Path) -> None:
    """A PDF with a text layer (CJK font by reference, UTF-16 codes, no embedding), one content stream a page."""
    pages = pdf_pages(lines)
    font = 3 + 2 * len(pages)
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (" ".join(f"{3 + 2 * i} 0 R" for i in range(len(pages))).encode(),
                                                       len(pages)),
    ]
    for i, page in enumerate(pages):
        ops = ["BT", "/F1 12 Tf", "16 TL", "50 790 Td"]
        ops += [f"<{line.encode('utf-16-be').hex()}> Tj T*" for line in page]
        ops.append("ET")
        stream = "\n".join(ops).encode("ascii")
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 %d 0 R >> >>"
                       b" /Contents %d 0 R >>" % (font, 4 + 2 * i))
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects += [
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UTF16-H /DescendantFonts [%d 0 R] >>"
        % (font + 1),
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> /FontDescriptor %d 0 R >>" % (font + 2),
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [0 -200 1000 900] /ItalicAngle 0 "
        b"/Ascent 880 /Descent -120 /CapHeight 880 /StemV 80 >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))


def build(source: Path, out_dir: Path) -> Path:
    """Write one source document in its format; returns the file written."""
    kind = FORMATS[source.name[:3]]
    lines = paragraphs(source)
    stem = source.stem
    if kind == "gbk-txt":
        target = out_dir / f"{stem}.txt"
        target.write_bytes("\r\n".join(lines).encode("gbk"))
    elif kind == "big5-traditional":
        import opencc

        target = out_dir / f"{stem}.txt"
        converter = opencc.OpenCC("s2tw")
        target.write_bytes("\n".join(converter.convert(line) for line in lines).encode("big5", errors="strict"))
    elif kind in ("html", "html-gb2312"):
        target = out_dir / f"{stem}.html"
        write_html(lines, target, "gb2312" if kind == "html-gb2312" else "utf-8")
    elif kind == "pdf":
        target = out_dir / f"{stem}.pdf"
        write_pdf(lines, target)
    elif kind in ("docx", "docx-table"):
        target = out_dir / f"{stem}.docx"
        write_docx(lines, target, table=kind == "docx-table")
    else:
        target = out_dir / f"{stem}.md"
        target.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", type=Path, default=PLANS / "src")
    parser.add_argument("--out-dir", type=Path, default=PLANS / "docs")
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    sources = sorted(args.src.glob("p*.txt"))
    if not sources:
        print(f"no p*.txt sources in {args.src}", file=sys.stderr)
        return 1
    for source in sources:
        target = build(source, args.out_dir)
        print(f"{source.name} → {target.relative_to(args.out_dir.parent) if args.out_dir.parent in target.parents else target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
