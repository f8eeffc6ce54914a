"""Read a file into plain text, one paragraph a line, detecting its encoding."""

from __future__ import annotations

import codecs
import io
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .tables import rewrite_text_tables, table_lines

SUPPORTED = {".txt", ".md", ".html", ".htm", ".docx", ".pdf"}
_TEXT_ENCODINGS = ("utf-8", "gb18030", "big5")


class LoadError(Exception):
    """A file cannot be read as a document; the message says why and what to do."""


@dataclass(frozen=True)
class Loaded:
    text: str
    encoding: str
    format: str
    warnings: tuple[str, ...] = ()
    """Repairs made while reading (stray NUL bytes removed, a BOM that did not match the text, …)."""


@dataclass(frozen=True)
class Decoded:
    """A text file's decoded text, the encoding read and the repairs made."""

    text: str
    encoding: str
    warnings: tuple[str, ...] = ()


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def read_file(path: Path, max_bytes: int | None = None) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; :class:`LoadError` for anything else."""
    check_file(path, max_bytes)
    try:
        with path.open("rb") as handle:
            data = handle.read() if max_bytes is None else handle.read(max_bytes + 1)
    except OSError as exc:
        raise LoadError(f"cannot read the file ({exc.strerror or exc}); check its permissions") from exc
    if max_bytes is not None and len(data) > max_bytes:
        raise LoadError(f"file too large: over the limit of {_mb(max_bytes)} (it grew while being read?)")
    return data


def check_file(path: Path, max_bytes: int | None = None) -> None:
    """:class:`LoadError` unless ``path`` is a regular file (symbolic links followed) of at most ``max_bytes``."""
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        raise LoadError("no such file (or a broken symbolic link)") from exc
    except OSError as exc:  # ELOOP for a symlink loop, EACCES, ENAMETOOLONG, …
        raise LoadError(f"cannot open the file ({exc.strerror or exc}); check the path and its permissions") from exc
    if stat.S_ISDIR(info.st_mode):
        raise LoadError("is a directory, not a file; pass the files inside it (or the folder to the batch command)")
    if not stat.S_ISREG(info.st_mode):
        raise LoadError("not a regular file (a FIFO, socket or device); copy the document to a regular file first")
    if max_bytes is not None and info.st_size > max_bytes:
        raise LoadError(
            f"file too large: {_mb(info.st_size)} > limit {_mb(max_bytes)} "
            "(split the document, or raise max_document_mb in the settings)"
        )


def load(path: Path, max_bytes: int | None = None) -> Loaded:
    """Read ``path``; raises :class:`LoadError` for unsupported, empty, binary, undecodable or oversized files
    and for paths that are not regular files.

    ``max_bytes`` bounds the file's size and, for a .docx, the size of its unpacked parts.
    """
    check_file(path, max_bytes)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise LoadError(f"unsupported file type {suffix or '(none)'}; supported: {', '.join(sorted(SUPPORTED))}")
    data = read_file(path, max_bytes)
    if not data.strip():
        raise LoadError("file is empty")
    if suffix == ".docx":
        return _without_nul(Loaded(_docx_text(data, max_bytes), "docx", "docx"))
    if suffix == ".pdf":
        return _without_nul(Loaded(_pdf_text(data), "pdf", "pdf"))
    decoded = decode_text(data)
    if suffix in {".html", ".htm"}:
        return Loaded(html_text(decoded.text), decoded.encoding, "html", decoded.warnings)
    return Loaded(rewrite_text_tables(decoded.text), decoded.encoding, suffix.lstrip("."), decoded.warnings)


def _without_nul(loaded: Loaded) -> Loaded:
    count = loaded.text.count("\x00")
    if not count:
        return loaded
    warning = f"removed {count} NUL characters from the extracted text"
    return Loaded(loaded.text.replace("\x00", ""), loaded.encoding, loaded.format, (*loaded.warnings, warning))


def decode(data: bytes) -> tuple[str, str]:
    """``(text, encoding)`` of a text file's bytes; see :func:`decode_text`."""
    decoded = decode_text(data)
    return decoded.text, decoded.encoding


def decode_text(data: bytes) -> Decoded:
    """Decode the bytes of a text file: BOM, UTF-16 without BOM, strict UTF-8, GB18030 or Big5 (whichever reads
    as Chinese), else detection. Stray NUL bytes in a text are removed (with a warning); only :class:`LoadError`
    is raised."""
    if data.startswith(codecs.BOM_UTF8):
        decoded = _decode_bomless(data[len(codecs.BOM_UTF8) :])
        if decoded.encoding == "utf-8":
            return Decoded(decoded.text, "utf-8-sig", decoded.warnings)
        warning = f"the file starts with a UTF-8 byte-order mark but its text is {decoded.encoding}; read as such"
        return Decoded(decoded.text, decoded.encoding, (warning, *decoded.warnings))
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        try:
            return Decoded(data.decode("utf-32"), "utf-32")
        except UnicodeDecodeError as exc:
            raise LoadError(f"undecodable UTF-32 text (at byte {exc.start}); re-save the file as UTF-8") from exc
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        codec = "utf-16-le" if data.startswith(codecs.BOM_UTF16_LE) else "utf-16-be"
        return _utf16(data[2:], codec, "utf-16", guessed=False)
    return _decode_bomless(data)


_BINARY = "binary file (contains NUL bytes); convert it to text, .docx or .pdf first"


def _decode_bomless(data: bytes) -> Decoded:
    nul_count = data.count(0)
    if not nul_count:
        return _decode_plain(data)
    for codec in _utf16_codecs(data):
        try:
            return _utf16(data, codec, codec, guessed=True)
        except LoadError:
            continue  # not UTF-16 of that byte order: judge the bytes as an 8-bit text below
    try:
        decoded = _decode_plain(data.replace(b"\x00", b""))
    except LoadError as exc:
        raise LoadError(_BINARY) from exc
    if not _reads_as_text(decoded.text, max_unprintable=0.005, chinese=True):
        raise LoadError(_BINARY)
    warning = f"removed {nul_count} stray NUL bytes (a damaged text file?); check the text around them"
    return Decoded(decoded.text, decoded.encoding, (*decoded.warnings, warning))


def _utf16(data: bytes, codec: str, name: str, *, guessed: bool) -> Decoded:
    """UTF-16 ``data`` (BOM removed) decoded strictly; an odd last byte that is a line end, space or NUL is
    dropped, NUL characters are removed; a text that does not read as text (or, when the codec is ``guessed``
    from the NUL bytes, as Chinese) is binary data."""
    warnings: list[str] = []
    if len(data) % 2:
        if data[-1:] not in {b"\n", b"\r", b"\x00", b" "}:
            raise LoadError(f"truncated {name} text (odd number of bytes); the file was cut off: re-save it as UTF-8")
        data = data[:-1]
        warnings.append("dropped a stray last byte after the UTF-16 text")
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        raise LoadError(f"undecodable {name} text (invalid bytes at offset {exc.start}); re-save the file as UTF-8") from exc
    if "\x00" in text:
        warnings.append(f"removed {text.count(chr(0))} stray NUL characters (a damaged text file?)")
        text = text.replace("\x00", "")
    if not _reads_as_text(text, max_unprintable=0.02, chinese=guessed):
        raise LoadError(f"binary data, not {name} text; convert it to text, .docx or .pdf first")
    return Decoded(text, name, tuple(warnings))


def _utf16_codecs(data: bytes) -> tuple[str, str]:
    """Both UTF-16 byte orders, the likelier first: the zero high bytes of ASCII characters (line ends, digits)
    sit at odd offsets in UTF-16-LE and at even ones in UTF-16-BE (``一`` U+4E00 gives some on the other)."""
    even, odd = data[0::2].count(0), data[1::2].count(0)
    return ("utf-16-le", "utf-16-be") if odd >= even else ("utf-16-be", "utf-16-le")


def _reads_as_text(text: str, max_unprintable: float, chinese: bool) -> bool:
    """Few control or unprintable characters and, with ``chinese``, Chinese characters (if 10 or more) that
    are mostly common ones."""
    sample = text[:100000]
    if not sample:
        return True
    unprintable = sum(not (ch.isprintable() or ch.isspace()) for ch in sample)
    if unprintable > max_unprintable * len(sample):
        return False
    if not chinese or sum("\u4e00" <= ch <= "\u9fff" for ch in sample) < 10:
        return True
    return _chinese_score(sample) >= 0.2


def _decode_plain(data: bytes) -> Decoded:
    """Bytes without BOM or NUL: strict UTF-8, else the best reading Chinese of GB18030 and Big5, else detection."""
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
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
        return Decoded(text, name)
    from charset_normalizer import from_bytes

    try:
        best = from_bytes(data).best()
        text = str(best) if best is not None and best.encoding is not None else None
    except (LookupError, UnicodeError) as exc:
        raise LoadError(f"cannot detect the text encoding ({exc}); save the file as UTF-8") from exc
    if best is None or text is None:
        raise LoadError("cannot detect the text encoding; save the file as UTF-8")
    if _chinese_score(text) < 0.2 and sum(ch.isprintable() or ch.isspace() for ch in text) < 0.95 * len(text):
        raise LoadError(f"undecodable text (best guess {best.encoding} gives garbage); save the file as UTF-8")
    return Decoded(text, best.encoding)


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
    for table in soup.find_all("table"):
        if table.find("table") is not None:
            continue  # a layout table around other content: its cells are read as blocks below
        lines = table_lines(_html_rows(table))
        if lines is not None:
            table.replace_with("\n" + "\n".join(lines) + "\n")
    for tag in soup.find_all(True):
        if tag.name == "br":
            tag.replace_with("\n")
        elif tag.name in _BLOCK_TAGS:
            tag.insert_before("\n")
            tag.insert_after("\n")
    text = soup.get_text()
    return re.sub(r"\n\s*\n+", "\n\n", text).strip() + "\n"


def _html_rows(table) -> list[list[str]]:
    """Cell texts of an HTML table, row by row; a cell spanning rows (``rowspan``) is repeated in the rows below,
    a cell spanning columns is given once."""
    rows: list[list[str]] = []
    carried: dict[int, tuple[int, str]] = {}
    """Column → (rows still to fill, text) of cells spanning rows."""
    for tr in table.find_all("tr"):
        if tr.find_parent("table") is not table:
            continue
        row: list[str] = []
        column = 0
        for cell in tr.find_all(["td", "th"]):
            while column in carried:
                row.append(carried[column][1])
                column += 1
            text = _html_cell(cell)
            row.append(text)
            span = _span(cell.get("rowspan"))
            if span > 1:
                carried[column] = (span, text)
            column += _span(cell.get("colspan"))
        while column in carried:
            row.append(carried[column][1])
            column += 1
        carried = {c: (n - 1, t) for c, (n, t) in carried.items() if n > 1}
        rows.append(row)
    return rows


def _span(value) -> int:
    return int(value) if isinstance(value, str) and value.strip().isdigit() else 1


def _html_cell(cell) -> str:
    """Text of a table cell, its ``<br>`` and paragraphs one line each."""
    for tag in cell.find_all(["br", "p", "div", "li"]):
        if tag.name == "br":
            tag.replace_with("\n")
        else:
            tag.insert_after("\n")
    return cell.get_text().strip()


def _docx_text(data: bytes, max_bytes: int | None = None) -> str:
    """Paragraphs and table rows of a .docx; refused before parsing when its parts unpack to over ``max_bytes``."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise LoadError(f"not a readable .docx file (not a zip archive: {exc}); re-save it from Word") from exc
    if max_bytes is not None and unpacked > max_bytes:
        raise LoadError(
            f".docx too large: its parts unpack to {_mb(unpacked)} > limit {_mb(max_bytes)} "
            "(split the document, or raise max_document_mb in the settings)"
        )
    try:
        import docx

        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises several unrelated types for broken files
        raise LoadError(f"not a readable .docx file ({type(exc).__name__}: {exc})") from exc
    from docx.table import Table

    lines: list[str] = []
    for block in document.iter_inner_content():  # paragraphs and tables in document order
        if not isinstance(block, Table):
            lines.append(block.text)
            continue
        rows = [_docx_row(row) for row in block.rows]
        converted = table_lines(rows)
        lines.extend(converted if converted is not None else (" ".join(cells) for cells in rows))
    return "\n".join(lines)


def _docx_row(row) -> list[str]:
    """Cell texts of a .docx table row, a cell merged across columns once."""
    cells, seen = [], set()
    for cell in row.cells:
        if id(cell._tc) not in seen:
            seen.add(id(cell._tc))
            cells.append(cell.text)
    return cells


def _pdf_text(data: bytes) -> str:
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as exc:  # pypdf raises many error types for damaged files
        raise LoadError(f"not a readable PDF ({type(exc).__name__}: {exc})") from exc
    if not "".join(pages).strip():
        raise LoadError("the PDF has no text layer (scanned?); run OCR first")
    return "\n".join(reflow_pdf_lines([strip_page_number(page.split("\n")) for page in pages]))


_PAGE_NUMBER_RE = re.compile(r"[-—–－·\s]*(?:第\s*)?\d{1,4}(?:\s*页)?(?:\s*[/／]\s*\d{1,4}|\s*共\s*\d{1,4}\s*页)?[-—–－·\s]*")
_WIDE_MARKS = frozenset("“”‘’—…")
_PARAGRAPH_END = "。！？；：!?;:"
"""A line ending in one of these ends its paragraph, however wide it is."""
WRAP_SLACK = 4
"""How much narrower than the page's text width (in half-width columns: two CJK characters) a line may be and
still be a wrapped one: a line breaks before a character that would not fit, so it falls short of the width by
less than one character (two columns), or by one more where a closing mark may not start a line."""


def strip_page_number(lines: list[str]) -> list[str]:
    """A page's lines without the page number printed at its foot or head (``— 3 —``, ``- 3 -``, ``第3页``)."""
    lines = [line for line in lines if line.strip()]
    for at in (-1, 0):
        if lines and _PAGE_NUMBER_RE.fullmatch(lines[at]):
            lines.pop(at)
    return lines


def columns(line: str) -> int:
    """The width of a line in half-width columns (a CJK or full-width character, and the quotation marks and
    dashes a Chinese font sets full width, take two)."""
    return sum(2 if ord(c) >= 0x2E80 or c in _WIDE_MARKS else 1 for c in line)


def reflow_pdf_lines(pages: list[list[str]], slack: int = WRAP_SLACK) -> list[str]:
    """The paragraphs of a PDF's text layer, whose lines wrap at the page's width: a line as wide as the widest
    lines of the document (the text width, their 90th percentile) that does not end a sentence continues on the
    next line, the page break included. Nothing is joined in a document of fewer than ten lines."""
    lines = [line.rstrip() for page in pages for line in page]
    widths = sorted(columns(line) for line in lines)
    if len(widths) < 10:
        return lines
    full = widths[int(0.9 * (len(widths) - 1))] - slack
    out: list[str] = []
    joining = False
    for line in lines:
        if joining and out:
            # an English word wraps at a space, which the line lost; a number or a Chinese word wraps anywhere
            glue = " " if all(c.isascii() and c.isalpha() for c in (out[-1][-1:], line.lstrip()[:1])) else ""
            out[-1] = out[-1] + glue + line.lstrip()
        else:
            out.append(line)
        joining = columns(line) >= full and not line.endswith(tuple(_PARAGRAPH_END))
    return out
