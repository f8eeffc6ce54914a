"""Document metadata read from the text (title, 发文字号, issuer, dates, region, type, period), with sidecar overrides."""

from __future__ import annotations

import json
import re
import tomllib
from collections import Counter
from dataclasses import fields, replace
from pathlib import Path

from assistant.text import is_traditional, to_simplified
from assistant.types import DocumentMeta

DOC_NUMBER_RE = re.compile(
    r"[\u4e00-\u9fff]{1,10}[〔\[［【(（]\s*(?:19|20)\d{2}\s*[〕\]］】)）]\s*\d{1,4}\s*[号號]"
)
_DATE_RE = re.compile(r"((?:19|20)\d{2})\s*[年\-./]\s*(\d{1,2})\s*[月\-./]\s*(\d{1,2})")
_DMY_RE = re.compile(r"(\d{1,2})[./-](\d{1,2})[./-]((?:19|20)\d{2})")
_PERIOD_RE = re.compile(r"((?:19|20)\d{2})\s*(?:年)?\s*[-—–－~～至到]+\s*((?:19|20)\d{2})\s*年?")
DOC_TYPES = (
    "实施方案", "工作方案", "行动方案", "实施意见", "指导意见", "意见", "通知", "讲话", "决定", "办法", "规定", "条例",
    "细则", "纲要", "规划", "报告", "方案", "批复", "通告", "公告", "函",
)
PROVINCES = (
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建", "江西", "山东",
    "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海", "台湾", "内蒙古", "广西",
    "西藏", "宁夏", "新疆", "香港", "澳门",
)
_AUTONOMOUS = {"内蒙古": "内蒙古自治区", "广西": "广西壮族自治区", "西藏": "西藏自治区", "宁夏": "宁夏回族自治区",
               "新疆": "新疆维吾尔自治区", "香港": "香港特别行政区", "澳门": "澳门特别行政区"}
_MUNICIPALITIES = {"北京", "天津", "上海", "重庆"}
_REGION_RE = re.compile(r"^(?:中共)?([\u4e00-\u9fff]{2,8}?(?:自治区|自治州|省|市|州|盟|县|区|旗))")
_ISSUER_END = r"(?:人民政府办公厅|人民政府办公室|人民政府|办公厅|办公室|委员会|党委|市委|省委|县委|区委|政府|厅|局|委|院)"


class MetadataError(ValueError):
    """A sidecar metadata file is invalid."""


def iso_date(text: str) -> str:
    m = _DATE_RE.search(text)
    if m:
        y, mo, d = m.groups()
    else:
        m = _DMY_RE.search(text)
        if not m:
            return ""
        d, mo, y = m.groups()
    return f"{int(y):04d}-{int(mo):02d}-{int(d):02d}"


def _title(header: list[str], page: dict[str, str]) -> str:
    for key in ("标题", "標題"):
        if page.get(key):
            return page[key]
    candidates = [t for t in header if not DOC_NUMBER_RE.fullmatch(t) and not t.endswith(("：", ":")) and 6 <= len(t) <= 120]
    for text in candidates:
        if re.search(r"关于|關於|关于|方案|意见|意見|通知|讲话|講話|决定|決定|办法|辦法|规定|規定|纲要|綱要|条例|條例", text):
            return text
    return candidates[0] if candidates else ""


def _doc_type(title: str) -> str:
    simple = to_simplified(title)
    simple = re.sub(r"《[^》]*》", lambda m: "" if not simple.endswith("》") else m.group(0), simple)
    best, best_end = "", -1
    for kind in DOC_TYPES:
        pos = simple.rfind(kind)
        end = pos + len(kind) if pos >= 0 else -1
        if end > best_end or (end == best_end and end >= 0 and len(kind) > len(best)):
            best, best_end = kind, end
    return best


def _region(title: str, issuer: str, text: str) -> str:
    for candidate in (title, issuer):
        simple = to_simplified(candidate)
        for name in PROVINCES:
            if simple.startswith(name) or simple.startswith("中共" + name):
                if name in _AUTONOMOUS:
                    return _AUTONOMOUS[name]
                return name + ("市" if name in _MUNICIPALITIES else "省")
        m = _REGION_RE.match(simple)
        if m and not m.group(1).startswith(("关于", "全省", "全市", "省政府", "市政府")):
            return m.group(1)
    counts = Counter()
    simple_text = to_simplified(text)
    for name in PROVINCES:
        counts[name] = simple_text.count(name)
    name, count = counts.most_common(1)[0]
    if count >= 2:
        return _AUTONOMOUS.get(name, name + ("市" if name in _MUNICIPALITIES else "省"))
    return ""


def _issuer(title: str, header: list[str], signoff: list[str], preamble: str, page: dict[str, str]) -> str:
    for key in ("发文机关", "發文機關"):
        if page.get(key):
            return page[key]
    m = re.match(f"^(.{{2,40}}?{_ISSUER_END})(?:关于|關於|關于|关於)", title)
    if m:
        return m.group(1)
    orgs = [t for t in signoff if not _DATE_RE.search(t)]
    if orgs:
        return " ".join(orgs)
    for line in header:
        m = re.search(r"([\u4e00-\u9fff、]{2,30}(?:主任|秘书长|祕書長|秘書長|省长|省長|市长|市長|书记|書記|厅长|廳長|局长|局長|部长|部長))\s*([\u4e00-\u9fff]{2,4})$", line)
        if m:
            return f"{m.group(1)} {m.group(2)}"
    m = re.search(r"([\u4e00-\u9fff]{2,20}?)(?:印发|印發)了?《", preamble)
    if m:
        return m.group(1).removeprefix("近日").lstrip("，, ")
    return ""


def extract_metadata(
    source: str,
    header: list[str],
    signoff: list[str],
    preamble: str,
    text: str,
    page: dict[str, str],
) -> DocumentMeta:
    """Metadata of one document from its header lines, sign-off lines, preamble, text and page fields."""
    title = _title(header, page)
    number = ""
    for line in header:
        m = DOC_NUMBER_RE.search(line)
        if m:
            number = re.sub(r"\s", "", m.group(0))
            break
    if not number and page.get("发文字号"):
        number = page["发文字号"]
    signed = next((iso_date(t) for t in reversed(signoff) if iso_date(t)), "")
    header_date = next((iso_date(t) for t in header if iso_date(t) and not DOC_NUMBER_RE.search(t)), "")
    published = ""
    for key in ("发布时间", "發布時間", "发布日期", "發布日期", "时间", "時間"):
        if page.get(key) and iso_date(page[key]):
            published = iso_date(page[key])
            break
    written = iso_date(page.get("成文日期", ""))
    issued = signed or header_date or written or published
    if not published and written and written != issued:
        published = written
    issuer = _issuer(title, header, signoff, preamble, page)
    period = ""
    m = _PERIOD_RE.search(title) or _PERIOD_RE.search(preamble)
    if m and int(m.group(1)) < int(m.group(2)):
        period = f"{m.group(1)}—{m.group(2)}"
    return DocumentMeta(
        source=source,
        title=title,
        doc_number=number,
        issuer=issuer,
        date_issued=issued,
        date_published=published if published != issued else "",
        region=_region(title, issuer, text),
        doc_type=_doc_type(title),
        period=period,
        script="traditional" if is_traditional(text) else "simplified",
    )


def sidecar_path(path: Path) -> Path | None:
    for suffix in (".meta.json", ".meta.toml"):
        candidate = path.with_name(path.name + suffix)
        if candidate.is_file():
            return candidate
    return None


def apply_sidecar(meta: DocumentMeta, path: Path) -> DocumentMeta:
    """Override fields from ``<file>.meta.json`` or ``<file>.meta.toml`` next to the document."""
    sidecar = sidecar_path(path)
    if sidecar is None:
        return meta
    try:
        raw = sidecar.read_text(encoding="utf-8")
        data = json.loads(raw) if sidecar.suffix == ".json" else tomllib.loads(raw)
    except (ValueError, OSError) as exc:
        raise MetadataError(f"{sidecar.name}: {exc}") from exc
    known = {f.name for f in fields(DocumentMeta)} - {"source"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise MetadataError(f"{sidecar.name}: unknown fields {unknown}; allowed: {sorted(known)}")
    return replace(meta, **{k: str(v) for k, v in data.items()})
