"""The admin console of the web UI: documents (enable, disable, delete, re-parse, clauses), the question log with
filters and CSV export, and the answers users rated.

The tab is shown only to the admin (see :func:`assistant.ui.is_admin`), and every handler checks the user again:
a hidden tab still has API routes.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from . import uploads
from .questionlog import LoggedQuestion, LogQuery, to_csv
from .types import Clause

if TYPE_CHECKING:
    from .ui import SharedAssistant

DOCUMENT_COLUMNS = ["文件名", "标题", "状态", "条款数", "成文日期", "导入路径"]
CLAUSE_COLUMNS = ["条款", "类型", "内容"]
LOG_COLUMNS = ["时间", "渠道", "用户", "问题", "回答", "出处", "未能回答", "耗时（毫秒）", "反馈", "意见"]
FEEDBACK_COLUMNS = ["时间", "用户", "问题", "回答", "出处", "反馈", "意见"]
ANSWERED = [("全部", "all"), ("已回答", "answered"), ("未能回答", "abstained")]
RATING_FILTER = [("全部", ""), ("有反馈", "any"), ("有帮助", "up"), ("没有帮助", "down")]
FEEDBACK_FILTER = RATING_FILTER[1:]
CHANNELS = [("全部", ""), ("网页", "ui"), ("API", "api"), ("命令行", "cli")]
RATING_NAMES = {"up": "有帮助", "down": "没有帮助"}
KIND_NAMES = {"clause": "条款", "header": "文件头", "preamble": "引言", "signoff": "落款"}
SHOWN_ROWS = 200
EXPORT_ROWS = 1_000_000
NOT_ADMIN = "只有管理员可以使用管理页。"


# ------------------------------------------------------------------ tables (pure)


def document_rows(documents: Sequence[dict[str, Any]]) -> list[list[Any]]:
    """Rows of the console's documents table, in :data:`DOCUMENT_COLUMNS` order."""
    return [
        [
            d["source"],
            d.get("title", ""),
            "启用" if d.get("enabled", True) else "已停用",
            d.get("clauses", 0),
            d.get("date_issued") or d.get("date_published", ""),
            d.get("origin", ""),
        ]
        for d in documents
    ]


def clause_rows(clauses: Sequence[Clause]) -> list[list[str]]:
    return [[c.label or "—", KIND_NAMES.get(c.kind, c.kind), c.text] for c in clauses]


def _when(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def _citations(citations: Sequence[dict[str, Any]]) -> str:
    return "；".join(f"[{c.get('n', '')}]《{c.get('title') or c.get('source', '')}》{c.get('clause', '')}" for c in citations)


def log_rows(rows: Sequence[LoggedQuestion]) -> list[list[Any]]:
    """Rows of the question log table, in :data:`LOG_COLUMNS` order."""
    return [
        [
            _when(r.time), r.channel, r.user, r.question, r.answer, _citations(r.citations), "是" if r.abstained else "",
            round(r.latency_ms), RATING_NAMES.get(r.rating, r.rating), r.comment,
        ]
        for r in rows
    ]


def feedback_rows(rows: Sequence[LoggedQuestion]) -> list[list[Any]]:
    """Rows of the feedback table, in :data:`FEEDBACK_COLUMNS` order."""
    return [
        [_when(r.time), r.user, r.question, r.answer, _citations(r.citations), RATING_NAMES.get(r.rating, r.rating), r.comment]
        for r in rows
    ]


def log_query(text: str, answered: str, rating: str, channel: str, limit: int = SHOWN_ROWS) -> LogQuery:
    """The question log query of the console's filters."""
    abstained = {"answered": False, "abstained": True}.get(answered or "all")
    return LogQuery(channel=channel or "", text=(text or "").strip(), abstained=abstained, rating=rating or "", limit=limit)


def export_csv(rows: Sequence[LoggedQuestion]) -> Path:
    """Write the rows to a new CSV file (in a temporary folder of its own, which Gradio may serve)."""
    folder = Path(tempfile.mkdtemp(prefix="policyqa-log-"))
    path = folder / f"问答记录-{time.strftime('%Y%m%d-%H%M%S')}.csv"
    path.write_text(to_csv(list(rows)), encoding="utf-8")
    return path


def document_choices(documents: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(f"{d.get('title') or d['source']}（{d['source']}）", d["source"]) for d in documents]


def _find(documents: Sequence[dict[str, Any]], source: str | None) -> dict[str, Any] | None:
    return next((d for d in documents if d["source"] == source), None)


def reparse_refusal(document: dict[str, Any] | None) -> str:
    """Why a document cannot be re-parsed from the path it was ingested from ('' when it can)."""
    if document is None:
        return "请先选择文件。"
    origin = document.get("origin", "")
    if not origin or not Path(origin).is_file():
        return f"找不到导入时的原文件（{origin or '未记录路径'}），无法重新解析；请重新上传该文件。"
    return ""


def reparse_message(source: str, status: str, clauses: int, problem: str) -> str:
    if status == "ok":
        return f"已重新解析“{source}”，共 {clauses} 条条款。"
    if status == "unchanged":
        return f"“{source}”的内容和解析设置都没有变化，条款保持不变（共 {clauses} 条）。"
    return f"重新解析“{source}”失败：{problem or status}；库中原有的版本保持不变。"


# ------------------------------------------------------------------ the tab


def build(shared: SharedAssistant, allowed: Callable[[gr.Request | None], bool], *, visible: bool) -> gr.Tab:
    """The console tab, its handlers and events (call inside ``gr.Tabs``); show it with ``gr.update(visible=…)``."""

    def guard(request: gr.Request | None) -> None:
        if not allowed(request):
            raise gr.Error(NOT_ADMIN, title="没有权限")

    def documents_view(selected: str | None = None) -> tuple[list[list[Any]], dict[str, Any]]:
        documents = shared.documents()
        keep = selected if _find(documents, selected) else None
        return document_rows(documents), gr.update(choices=document_choices(documents), value=keep)

    def refresh_documents(selected: str | None, request: gr.Request):
        guard(request)
        return documents_view(selected)

    def change(source: str | None, enabled: bool, request: gr.Request):
        guard(request)
        if _find(shared.documents(), source) is None:
            return "请先选择文件。", *documents_view(source)
        shared.set_enabled(source, enabled)
        done = "已启用，问答会检索这份文件。" if enabled else "已停用：文件仍保存在库中，但问答不再检索它。"
        return f"“{source}”{done}", *documents_view(source)

    def enable(source: str | None, request: gr.Request):
        return change(source, True, request)

    def disable(source: str | None, request: gr.Request):
        return change(source, False, request)

    def delete(source: str | None, confirmed: bool, request: gr.Request):
        guard(request)
        if _find(shared.documents(), source) is None:
            return "请先选择文件。", *documents_view(source), False
        if not confirmed:
            return "删除不能撤销：请先勾选“确认删除”。", *documents_view(source), False
        origin = (_find(shared.documents(), source) or {}).get("origin", "")
        count = shared.delete(source)
        uploads.discard(shared.settings.data_dir / "uploads", origin)  # an uploaded file goes too, or ingest brings it back
        return f"已从库中删除“{source}”（{count} 条条款）。", *documents_view(), False

    def reparse(source: str | None, request: gr.Request):
        guard(request)
        document = _find(shared.documents(), source)
        refusal = reparse_refusal(document)
        if refusal:
            return refusal, *documents_view(source)
        report = shared.reingest(source)
        status, clauses, problem = report.status, report.clauses, report.error
        return reparse_message(source, status, clauses, problem), *documents_view(source)

    def clauses(source: str | None, request: gr.Request) -> list[list[str]]:
        guard(request)
        assistant = shared.assistant
        if assistant is None or not source or source not in assistant.store.documents:
            return []
        return clause_rows(assistant.store.clauses_of(source))

    def logged(query: LogQuery) -> list[LoggedQuestion]:
        return shared.questions.list(query) if shared.questions is not None else []

    def search_log(text: str, answered: str, rating: str, channel: str, request: gr.Request) -> list[list[Any]]:
        guard(request)
        return log_rows(logged(log_query(text, answered, rating, channel)))

    def export(text: str, answered: str, rating: str, channel: str, request: gr.Request) -> str:
        guard(request)
        return str(export_csv(logged(log_query(text, answered, rating, channel, limit=EXPORT_ROWS))))

    def review(rating: str, request: gr.Request) -> list[list[Any]]:
        guard(request)
        return feedback_rows(logged(LogQuery(rating=rating or "any", limit=SHOWN_ROWS)))

    with gr.Tab("管理", id="console", visible=visible, elem_id="console") as tab, gr.Tabs():
        with gr.Tab("文件管理", id="console-documents-tab"):
            documents_table = gr.Dataframe(
                headers=DOCUMENT_COLUMNS, interactive=False, wrap=True, elem_id="console-documents",
                column_widths=["18%", "34%", "8%", "7%", "10%", "23%"],
            )
            with gr.Row(equal_height=True):
                # any name is accepted (the handlers check it): the list changes after the page was built
                document = gr.Dropdown(
                    document_choices(shared.documents()), label="选择文件", value=None, allow_custom_value=True,
                    elem_id="console-document", scale=4,
                )
                confirm = gr.Checkbox(label="确认删除（不能撤销）", value=False, elem_id="console-confirm", scale=1)
            with gr.Row():
                enable_button = gr.Button("启用", elem_id="console-enable", size="sm")
                disable_button = gr.Button("停用", elem_id="console-disable", size="sm")
                reparse_button = gr.Button("重新解析", elem_id="console-reparse", size="sm")
                clauses_button = gr.Button("查看条款", elem_id="console-show-clauses", size="sm")
                delete_button = gr.Button("删除", elem_id="console-delete", size="sm", variant="stop")
            status = gr.Markdown("", elem_id="console-status")
            clauses_table = gr.Dataframe(headers=CLAUSE_COLUMNS, interactive=False, wrap=True, elem_id="console-clauses",
                                         column_widths=["12%", "10%", "78%"])
        with gr.Tab("问答记录", id="console-log-tab"):
            with gr.Row(equal_height=True):
                text = gr.Textbox(label="问题或回答包含", elem_id="log-text", scale=3)
                answered = gr.Dropdown(ANSWERED, value="all", label="是否回答", elem_id="log-answered", scale=1)
                rating = gr.Dropdown(RATING_FILTER, value="", label="反馈", elem_id="log-rating", scale=1)
                channel = gr.Dropdown(CHANNELS, value="", label="渠道", elem_id="log-channel", scale=1)
            with gr.Row():
                search_button = gr.Button("查询", variant="primary", elem_id="log-search", size="sm")
                export_button = gr.Button("导出 CSV", elem_id="log-export", size="sm")
            gr.Markdown(f"显示最近 {SHOWN_ROWS} 条；导出 CSV 包含全部符合条件的记录。")
            log_table = gr.Dataframe(
                headers=LOG_COLUMNS, interactive=False, wrap=True, elem_id="console-log", max_height=600,
                column_widths=["10%", "5%", "5%", "16%", "28%", "16%", "5%", "5%", "5%", "5%"],
            )
            csv_file = gr.File(label="导出的 CSV 文件", interactive=False, elem_id="log-csv")
        with gr.Tab("用户反馈", id="console-feedback-tab"):
            with gr.Row(equal_height=True):
                feedback_rating = gr.Dropdown(FEEDBACK_FILTER, value="any", label="反馈", elem_id="feedback-filter", scale=1)
                review_button = gr.Button("刷新", elem_id="feedback-refresh", size="sm", scale=0, min_width=80)
            feedback_table = gr.Dataframe(
                headers=FEEDBACK_COLUMNS, interactive=False, wrap=True, elem_id="console-feedback", max_height=600,
                column_widths=["11%", "6%", "18%", "30%", "17%", "7%", "11%"],
            )

    documents_out = [status, documents_table, document]
    log_in = [text, answered, rating, channel]
    tab.select(refresh_documents, [document], [documents_table, document], api_name="console_documents")
    tab.select(search_log, log_in, log_table, api_visibility="private")
    tab.select(review, [feedback_rating], feedback_table, api_visibility="private")
    enable_button.click(enable, [document], documents_out, api_name="console_enable")
    disable_button.click(disable, [document], documents_out, api_name="console_disable")
    delete_button.click(delete, [document, confirm], [*documents_out, confirm], api_name="console_delete")
    reparse_button.click(reparse, [document], documents_out, api_name="console_reparse", concurrency_limit=1)
    gr.on([clauses_button.click, document.input], clauses, [document], clauses_table, api_name="console_clauses")
    gr.on([search_button.click, text.submit], search_log, log_in, log_table, api_name="console_log")
    export_button.click(export, log_in, csv_file, api_name="console_export")
    gr.on([review_button.click, feedback_rating.input], review, [feedback_rating], feedback_table, api_name="console_feedback")
    return tab
