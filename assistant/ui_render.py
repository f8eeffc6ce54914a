"""HTML for the web UI: chat messages, citation cards, the source viewer and the ingest report.

Document text is data, never markup: every piece of text is passed through :func:`esc` before it is
placed in HTML, and only the tags written here reach the page.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

from .types import Answer, Citation, DocumentMeta

CARDS_EMPTY = '<div class="cards-empty">提问后，这里会列出回答所依据的条款。</div>'
VIEWER_EMPTY = '<div class="viewer-empty">点击上方的出处卡片，可在这里查看整篇文件并定位到该条款。</div>'
NO_INDEX = "还没有导入任何文件。请先在“文件”页上传政策文件，再来提问。"
EMPTY_SCOPE = "所选范围内没有文档。请放宽检索范围，或点输入框上方的“×清除”后再提问。"
SCOPE_EMPTY_CARD = '<div class="abstain"><strong>所选范围内没有文档。</strong><br>请放宽或清除检索范围后再提问。</div>'
NOT_ENOUGH = "文件中的相关内容不足以回答这个问题"
"""What a citizen reads for the answerer's "证据不足（可回答概率 …）": the scores are shown only on demand."""

DOCUMENT_COLUMNS = ["文件名", "标题", "发文字号", "发文机关", "成文日期", "地区", "类型", "条款数"]

# Cards and viewer carry their own (component-scoped) CSS so they look the same however the app is launched.
CARDS_CSS = """
.cards-empty, .viewer-empty { color: var(--body-text-color-subdued); padding: 8px 2px; }
.abstain { border: 1px solid #e0a800; background: #fff8e1; color: #5c4400; border-radius: 8px; padding: 10px 12px; margin-bottom: 10px; }
.cards-head { font-size: 0.9em; color: var(--body-text-color-subdued); margin-bottom: 6px; }
.cite-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px; margin-bottom: 10px;
  cursor: pointer; background: var(--background-fill-primary); }
.cite-card:hover, .cite-card:focus { border-color: var(--color-accent); outline: none; }
.cite-title { font-weight: 600; }
.cite-n { color: var(--color-accent); margin-right: 4px; }
.cite-meta { font-size: 0.85em; color: var(--body-text-color-subdued); margin: 2px 0 6px; }
.cite-text { white-space: pre-wrap; line-height: 1.6; }
.cite-text mark.support { background: #ffe58f; color: inherit; }
.cite-foot { font-size: 0.8em; color: var(--body-text-color-subdued); margin-top: 6px; }
.abstain details { margin-top: 6px; font-size: 0.85em; }
.abstain summary { cursor: pointer; }
"""

# Chat messages cannot carry component CSS, so their few styles are inline.
_LINK_STYLE = "color: var(--color-accent); text-decoration: none; font-weight: 600; cursor: pointer;"
_COPY_STYLE = (
    "margin-top: 6px; font-size: 0.8em; padding: 1px 8px; border: 1px solid var(--border-color-primary);"
    " border-radius: 4px; background: var(--background-fill-secondary); cursor: pointer;"
)

VIEWER_CSS = """
.viewer-empty { color: var(--body-text-color-subdued); padding: 8px 2px; }
.src-title { font-weight: 600; font-size: 1.05em; }
.src-meta { font-size: 0.85em; color: var(--body-text-color-subdued); margin: 2px 0 8px; }
.src-body { position: relative; max-height: 60vh; overflow-y: auto; white-space: pre-wrap; line-height: 1.7;
  border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px; }
.src-body mark.clause { background: #fff1b8; color: inherit; outline: 2px solid #ffd666; border-radius: 2px; }
.src-body mark.support { background: #ffc53d; color: inherit; }
"""

REPORT_CSS = """
table.report { border-collapse: collapse; width: 100%; font-size: 0.9em; }
table.report th, table.report td { border: 1px solid var(--border-color-primary); padding: 4px 8px; text-align: left; vertical-align: top; }
table.report tr.status-failed td { background: #fff1f0; }
.report-summary { margin: 4px 0 8px; }
"""

# Scroll the source viewer to the highlighted clause whenever its content changes.
VIEWER_JS = """
const show = () => {
  const body = element.querySelector('.src-body');
  const mark = element.querySelector('mark.clause');
  if (!body || !mark) return;
  body.scrollTop = Math.max(0, mark.offsetTop - 24);
  element.scrollIntoView({block: 'nearest'});
};
watch('value', show);
show();
"""

# A click (or Enter) on a card asks the server to open that citation in the viewer.
CARDS_JS = """
const open = (event) => {
  const card = event.target.closest('[data-cite]');
  if (card) trigger('click', {cite: Number(card.dataset.cite)});
};
element.addEventListener('click', open);
element.addEventListener('keydown', (event) => { if (event.key === 'Enter') open(event); });
""" + """
// The chat's [n] markers and copy buttons (see chat_message). The chat is not a component whose events carry
// data, so one capturing listener on the page handles them before the chat sees the click (which would
// select the message instead), and a marker opens its citation through this component's click event.
window.policyqaOpenCitation = (turn, cite) => trigger('click', {cite, turn});
const copyText = async (text) => {
  window.policyqaCopied = text;
  try { await navigator.clipboard.writeText(text); return true; } catch (error) {
    const area = document.createElement('textarea');
    area.value = text;
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    return ok;
  }
};
// Gradio writes a toast's heading from its type ("Warning", "Error"), untranslated and whatever title the server
// gave: write it in Chinese once the toast is on the page (Gradio sets that text only when the type changes).
const TOAST_TITLES = {Warning: '提示', Error: '出错了', Info: '提示', Success: '完成'};
const translateToasts = (root) => {
  root.querySelectorAll('.toast-title').forEach((title) => {
    title.childNodes.forEach((node) => {
      const word = node.nodeType === Node.TEXT_NODE && node.nodeValue.trim();
      if (word && TOAST_TITLES[word]) node.nodeValue = TOAST_TITLES[word] + ' ';
    });
  });
  root.querySelectorAll('[data-testid="toast-close"][aria-label="Close"]').forEach((b) => b.setAttribute('aria-label', '关闭'));
};
if (!window.policyqaToasts) {
  window.policyqaToasts = new MutationObserver(() => translateToasts(document));
  window.policyqaToasts.observe(document.body, {childList: true, subtree: true});
}
if (!window.policyqaChatLinks) {
  window.policyqaChatLinks = true;
  document.addEventListener('click', async (event) => {
    const target = event.target.closest && event.target.closest('#chatbot a.cite-link, #chatbot .copy-plain');
    if (!target) return;
    event.preventDefault();
    event.stopPropagation();
    if (target.matches('a.cite-link')) {
      // href="#cite-TURN-N" (the chat's sanitiser keeps href, not data-* attributes)
      const [turn, cite] = target.getAttribute('href').split('-').slice(1).map(Number);
      window.policyqaOpenCitation(turn, cite);
      return;
    }
    const source = target.parentElement.querySelector('.copy-text');
    const ok = await copyText(source ? source.textContent : '');
    target.textContent = ok ? '已复制' : '复制失败';
    setTimeout(() => { target.textContent = '复制'; }, 2000);
  }, true);
}
"""


def esc(text: str) -> str:
    return html.escape(text or "", quote=True)


def _paragraphs(text: str) -> str:
    return esc(text).replace("\n", "<br>")


_MARKER = re.compile(r"\[(\d+)\]")


def chat_message(answer: Answer, turn: int | None = None) -> str:
    """The assistant's chat bubble: the answer text and how the question was read. With ``turn`` (the answer's
    1-based number in the conversation: a final answer), each ``[n]`` is a link that opens that citation in
    the source viewer, and a copy button copies the answer as plain text with its references."""
    text = _paragraphs(answer.text)
    if turn is not None and not answer.abstained:
        text = _link_markers(text, turn, {c.n for c in answer.citations})
    parts = [text]
    if answer.standalone_question and answer.standalone_question != answer.question:
        parts.append(f'<br><small>（按上下文理解为：{esc(answer.standalone_question)}）</small>')
    if answer.notice and not answer.abstained:
        parts.append(f"<br><small>{esc(answer.notice)}</small>")
    if turn is not None:
        # the chat's sanitiser drops data-* attributes: the text to copy is a hidden element beside the button
        parts.append(
            f'<br><span class="copy-wrap"><button type="button" class="copy-plain" title="复制回答和出处（纯文本）" '
            f'style="{_COPY_STYLE}">复制</button><span class="copy-text" style="display: none;">'
            f"{esc(plain_text(answer))}</span></span>"
        )
    return "".join(parts)


def _link_markers(escaped: str, turn: int, cited: set[int]) -> str:
    """``[n]`` markers of cited numbers in escaped text, as links carrying the turn and citation number."""

    def link(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if n not in cited:
            return m.group(0)
        return (
            f'<a href="#cite-{turn}-{n}" class="cite-link" title="查看出处 [{n}] 的原文" '
            f'style="{_LINK_STYLE}">[{n}]</a>'
        )

    return _MARKER.sub(link, escaped)


def plain_text(answer: Answer) -> str:
    """The answer as plain text, with the documents and clauses its ``[n]`` markers refer to."""
    lines = [answer.text.strip()]
    if answer.citations and not answer.abstained:
        lines += ["", "出处："]
        for c in answer.citations:
            number = f"（{c.doc_number}）" if c.doc_number else ""
            lines.append(f"[{c.n}] 《{c.title or c.source}》{number} {clause_name(c.clause)}")
    return "\n".join(lines)


def abstention_reason(notice: str) -> tuple[str, str]:
    """A reason for not answering in plain words, and its technical detail ('' when there is none).

    The answerer's reason may carry internal scores ("证据不足（可回答概率 0.31，低于 0.52）"): they go to
    the detail, which the cards show only on demand."""
    notice = (notice or "").strip().rstrip("。")
    detail = "；".join(re.findall(r"（([^（）]*\d\.\d[^（）]*)）", notice))
    plain = re.sub(r"（[^（）]*\d\.\d[^（）]*）", "", notice).strip()
    if plain == "证据不足":
        plain = NOT_ENOUGH
    return plain, detail


def user_message(question: str) -> str:
    return _paragraphs(question)


def highlighted(text: str, sentence: str, css_class: str = "support") -> str:
    """``text`` escaped, with ``sentence`` (if found in it) wrapped in ``<mark>``."""
    needle = (sentence or "").strip().strip("…").strip()
    at = text.find(needle) if needle else -1
    if at < 0:
        return esc(text)
    end = at + len(needle)
    return f'{esc(text[:at])}<mark class="{css_class}">{esc(text[at:end])}</mark>{esc(text[end:])}'


def clause_name(label: str) -> str:
    return f"条款 {label}" if label else "条款"


def citation_label(c: Citation) -> str:
    """One line naming a citation, for pickers and plain-text lists."""
    return f"[{c.n}] 《{c.title or c.source}》 {c.clause}".strip()


def shown_citations(answer: Answer | None) -> list[Citation]:
    """What the cards show for an answer: its citations, or the closest clauses when it abstained."""
    if answer is None:
        return []
    return list(answer.related if answer.abstained else answer.citations)


def cards(answer: Answer | None, turn: int = 0) -> str:
    """Citation cards for one answer; for an abstention, a notice and the closest clauses."""
    if answer is None:
        return CARDS_EMPTY
    shown = shown_citations(answer)
    out = []
    if answer.abstained:
        plain, detail = abstention_reason(answer.notice)
        reason = f"原因：{esc(plain)}。<br>" if plain else ""
        more = f"<details><summary>详情</summary>{esc(detail)}</details>" if detail else ""
        out.append(
            '<div class="abstain"><strong>文件中没有找到能回答这个问题的内容。</strong><br>'
            + reason
            + ("以下是最接近的条款，仅供参考，不构成回答。" if shown else "也没有找到相关条款，请换个说法或放宽检索范围。")
            + more
            + "</div>"
        )
    elif not shown:
        return '<div class="cards-empty">这个回答没有引用条款。</div>'
    else:
        where = f"第 {turn} 轮回答" if turn else "回答"
        out.append(f'<div class="cards-head">{esc(where)}的出处（共 {len(shown)} 条），点击卡片查看原文。</div>')
    for c in shown:
        number = f"[{c.n}]" if not answer.abstained else "·"
        meta = " · ".join(esc(x) for x in (c.doc_number, clause_name(c.clause)) if x)
        out.append(
            f'<div class="cite-card" data-cite="{int(c.n)}" role="button" tabindex="0" title="查看原文">'
            f'<div class="cite-title"><span class="cite-n">{number}</span>《{esc(c.title or c.source)}》</div>'
            f'<div class="cite-meta">{meta}</div>'
            f'<div class="cite-text">{highlighted(c.text, c.highlight)}</div>'
            f'<div class="cite-foot">{esc(c.source)} · 查看原文 ›</div>'
            "</div>"
        )
    return "".join(out)


def scope_summary(sources: Sequence[str], regions: Sequence[str], years: Sequence[str], empty: bool) -> str:
    """The line above the question box naming the active filters ('' when none is active)."""
    parts = []
    if sources:
        parts.append("文件 " + "、".join(f"《{esc(s)}》" for s in sources))
    if regions:
        parts.append("地区 " + "、".join(esc(r) for r in regions))
    if years:
        parts.append("年份 " + "、".join(esc(str(y)) for y in years))
    if not parts:
        return ""
    warning = '<span class="scope-empty" style="color: #b42318;">（所选范围内没有文档）</span>' if empty else ""
    return f'<div class="scope-line"><strong>检索范围：</strong>{"；".join(parts)}{warning}</div>'


def source_view(document_text: str, meta: DocumentMeta | None, citation: Citation) -> str:
    """The whole cleaned document with the cited clause marked (``<mark class="clause">``)."""
    title = (meta.title if meta else "") or citation.title or citation.source
    facts = [citation.doc_number]
    if meta:
        facts += [meta.issuer, meta.date_issued or meta.date_published, meta.region]
    facts += [citation.source, clause_name(citation.clause)]
    head = (
        f'<div class="src-title">《{esc(title)}》</div>'
        f'<div class="src-meta">{" · ".join(esc(f) for f in facts if f)}</div>'
    )
    start, end = citation.start, citation.end
    if not document_text:
        return head + '<div class="src-body">（原文不可用，下面是该条款。）\n' + _mark_clause(citation.text, citation) + "</div>"
    if not (0 <= start < end <= len(document_text)):
        at = document_text.find(citation.text)
        start, end = (at, at + len(citation.text)) if at >= 0 else (0, 0)
    body = esc(document_text[:start]) + _mark_clause(document_text[start:end], citation) + esc(document_text[end:])
    return head + f'<div class="src-body">{body}</div>'


def _mark_clause(text: str, citation: Citation) -> str:
    anchor = re.sub(r"[^0-9A-Za-z_-]", "", citation.clause_id) or "x"
    return f'<mark class="clause" id="clause-{anchor}">{highlighted(text, citation.highlight)}</mark>'


def document_rows(documents: Sequence[dict[str, Any]]) -> list[list[Any]]:
    """Rows of the documents table, in :data:`DOCUMENT_COLUMNS` order."""
    return [
        [
            d.get("source", ""),
            d.get("title", ""),
            d.get("doc_number", ""),
            d.get("issuer", ""),
            d.get("date_issued") or d.get("date_published", ""),
            d.get("region", ""),
            d.get("doc_type", ""),
            d.get("clauses", 0),
        ]
        for d in documents
    ]


# ------------------------------------------------------------------ ingest report

_ERRORS = (
    ("file is empty", "文件是空的，没有内容可以导入。"),
    ("binary file", "这是二进制文件，不是文本；请先转换为 .txt、.docx 或 .pdf 再上传。"),
    ("unsupported file type", "不支持这种文件类型；支持 .txt、.md、.html、.htm、.docx 和 .pdf。"),
    ("cannot detect the text encoding", "无法识别文件的文字编码；请另存为 UTF-8 编码的文本后再上传。"),
    ("undecodable text", "文件的文字编码无法正确解读（读出来是乱码）；请另存为 UTF-8 编码的文本后再上传。"),
    ("not a readable .docx", "无法读取这个 .docx 文件，它可能已损坏或不是真正的 Word 文件。"),
    ("not a readable pdf", "无法读取这个 PDF 文件，它可能已损坏。"),
    ("no text layer", "这个 PDF 没有文字层（可能是扫描件）；请先做文字识别（OCR）。"),
    ("no text left", "去掉网页导航、页眉页脚等内容后没有剩下正文。"),
    ("same name", "同一批上传中已有同名文件；文件名用来区分文件，请改名后再上传。"),
    ("file too large", "文件太大，超过了单个文件的导入上限；请拆分文件后再上传。"),
    ("no such file", "找不到上传的文件，请重新上传。"),
)

SAME_NAME_IN_BATCH = "同一批上传中已有同名文件；文件名用来区分文件，请改名后再上传。文件未保存。"


def too_large(size: int, limit_mb: float) -> str:
    """Why an upload of ``size`` bytes is refused."""
    return f"文件太大（{size / 1e6:.1f} MB），超过了上传上限 {limit_mb:g} MB；文件未保存，请拆分后再上传。"


def question_too_long(length: int, limit: int) -> str:
    """Why a question of ``length`` characters is not answered."""
    return f"问题太长（{length} 个字），最多 {limit} 个字；请精简后再提问。"


def _placement_note(doc: dict[str, Any]) -> str:
    """What an upload did to the library: added, replaced, or stored as a new version beside another's file."""
    name, original = doc.get("file", ""), doc.get("original", "")
    if doc.get("upload") == "version":
        return f"库中的“{original}”不是您上传的，原文件未改动；这个文件另存为新版本“{name}”。"
    if doc.get("upload") == "replaced":
        return f"已替换库中的同名文件“{name}”。"
    if doc.get("upload") == "kept":
        return "文件未保存；库中原有的同名文件保持不变。"
    if doc.get("upload") == "failed":
        return "文件未保存。"
    return ""


STATUS = {"ok": "已导入", "unchanged": "未变化（已在库中）", "failed": "失败", "removed": "已移除"}


def explain_error(message: str) -> str:
    """A Chinese explanation of an ingest error, with the original message for reference."""
    lowered = message.lower()
    for key, text in _ERRORS:
        if key in lowered:
            return f"{text}（{message}）"
    if ".meta." in lowered:
        return f"元数据附属文件有误：{message}"
    return f"无法导入：{message}"


def report(report: dict[str, Any], extra_errors: Sequence[tuple[str, str]] = ()) -> str:
    """The ingest report as a table: one row per file, errors explained."""
    summary = report.get("summary", {})
    rows = []
    for doc in report.get("documents", []):
        name = doc.get("file") or doc.get("path", "").replace("\\", "/").rsplit("/", 1)[-1]
        status = doc.get("status", "")
        notes = []
        if doc.get("error"):
            notes.append(explain_error(doc["error"]))
        if note := _placement_note(doc):
            notes.append(note)
        if doc.get("removed_lines"):
            notes.append(f"清理掉 {len(doc['removed_lines'])} 行网页导航等无关内容")
        notes += [f"提示：{w}" for w in doc.get("warnings", [])[:5]]
        title = doc.get("metadata", {}).get("title", "")
        rows.append(
            f'<tr class="status-{esc(status)}"><td>{esc(name)}</td><td>{esc(STATUS.get(status, status))}</td>'
            f"<td>{esc(title)}</td><td>{int(doc.get('clauses', 0))}</td>"
            f"<td>{'<br>'.join(esc(n) for n in notes)}</td></tr>"
        )
    extra_errors = [*((r["file"], r["error"]) for r in report.get("refused", [])), *extra_errors]
    for name, error in extra_errors:
        rows.append(f'<tr class="status-failed"><td>{esc(name)}</td><td>失败</td><td></td><td>0</td><td>{esc(error)}</td></tr>')
    failed = int(summary.get("failed", 0)) + len(extra_errors)
    head = (
        f'<p class="report-summary">共 {int(summary.get("files", 0)) + len(extra_errors)} 个文件：'
        f"导入 {int(summary.get('ingested', 0))} 个，未变化 {int(summary.get('unchanged', 0))} 个，"
        f"失败 {failed} 个；成功的文件共有条款 {int(summary.get('clauses', 0))} 条。</p>"
    )
    table = (
        '<table class="report"><thead><tr><th>文件</th><th>结果</th><th>标题</th><th>条款数</th><th>说明</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    return head + table
