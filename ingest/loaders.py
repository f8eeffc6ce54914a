"""Read a file into plain text, one paragraph a line, detecting its encoding."""

from __future__ import annotations

import codecs
import io
import re
from dataclasses import dataclass
from pathlib import Path

SUPPORTED = {".txt", ".md", ".html", ".htm", ".docx", ".pdf"}
_TEXT_ENCODINGS = ("utf-8", "gb18030", "big5")


class LoadError(Exception):
    """A file cannot be read as a document; the message says why and what to do."""


@dataclass(frozen=True)
class Loaded:
    text: str
    encoding: str
    format: str


def load(path: Path) -> Loaded:
    """Read ``path``; raises :class:`LoadError` for unsupported, empty, binary or undecodable files."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise LoadError(f"unsupported file type {suffix or '(none)'}; supported: {', '.join(sorted(SUPPORTED))}")
    data = path.read_bytes()
    if not data.strip():
        raise LoadError("file is empty")
    if suffix == ".docx":
        return Loaded(_docx_text(data), "docx", "docx")
    if suffix == ".pdf":
        return Loaded(_pdf_text(data), "pdf", "pdf")
    text, encoding = decode(data)
    if suffix in {".html", ".htm"}:
        return Loaded(html_text(text), encoding, "html")
    return Loaded(text, encoding, suffix.lstrip("."))


def decode(data: bytes) -> tuple[str, str]:
    """Decode bytes of a text file: BOM, strict UTF-8, GB18030 or Big5 (whichever reads as Chinese), else detection."""
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(name), name
    if b"\x00" in data[:4096]:
        raise LoadError("binary file (contains NUL bytes); convert it to text, .docx or .pdf first")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    candidates = []
    for name in _TEXT_ENCODINGS[1:]:
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        candidates.append((_chinese_score(text), name, text))
    if candidates:
        _, name, text = max(candidates)
        return text, name
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise LoadError("cannot detect the text encoding; save the file as UTF-8")
    text = str(best)
    if _chinese_score(text) < 0.2 and sum(ch.isprintable() or ch.isspace() for ch in text) < 0.95 * len(text):
        raise LoadError(f"undecodable text (best guess {best.encoding} gives garbage); save the file as UTF-8")
    return text, best.encoding


_COMMON = set("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理")


def _chinese_score(text: str) -> float:
    """Share of common Chinese characters among the CJK characters: high for a right decoding."""
    cjk = [ch for ch in text[:20000] if "\u4e00" <= ch <= "\u9fff"]
    if not cjk:
        return 0.0
    return sum(ch in _COMMON for ch in cjk) / len(cjk)


_BLOCK_TAGS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "table",
               "ul", "ol", "title", "td", "th", "blockquote", "pre", "header", "footer", "dd", "dt"}


def html_text(html: str) -> str:
    """Visible text of an HTML page with one block a line; scripts and styles dropped."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "lxml")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    for tag in soup.find_all(True):
        if tag.name == "br":
            tag.replace_with("\n")
        elif tag.name in _BLOCK_TAGS:
            tag.insert_before("\n")
            tag.insert_after("\n")
    text = soup.get_text()
    return re.sub(r"\n\s*\n+", "\n\n", text).strip() + "\n"


def _docx_text(data: bytes) -> str:
    try:
        import docx

        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises several unrelated types for broken files
        raise LoadError(f"not a readable .docx file ({type(exc).__name__}: {exc})") from exc
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.append(" ".join(cell.text for cell in row.cells))
    return "\n".join(lines)


def _pdf_text(data: bytes) -> str:
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as exc:  # pypdf raises many error types for damaged files
        raise LoadError(f"not a readable PDF ({type(exc).__name__}: {exc})") from exc
    text = "\n".join(pages)
    if not text.strip():
        raise LoadError("the PDF has no text layer (scanned?); run OCR first")
    return text
