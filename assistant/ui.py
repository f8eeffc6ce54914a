"""The web UI: chat with cited answers, citation cards, a source viewer, filters, feedback and uploads.

``build_app(settings)`` returns the Gradio app (testable); ``serve(settings)`` launches it and blocks.
One :class:`SharedAssistant` is built at start-up and shared by every session; each browser session keeps
its own :class:`Conversation` in a ``gr.State``.

Limits: logins are checked by :class:`LoginGuard` (too many failures lock a user name for a while), uploads
over ``max_upload_mb`` and questions over ``max_question_chars`` are refused. An upload never replaces
another user's document (see :mod:`assistant.uploads`); with a login, the first user of ``settings.auth``
is the admin.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder

from ingest.pipeline import IngestResult, ingest

from . import ui_render as render
from . import uploads
from .embedders import Embedder, make_embedder
from .service import Assistant
from .settings import Settings, SettingsError
from .store import ClauseStore, Filters
from .types import Answer

log = logging.getLogger(__name__)

TITLE = "政策文件问答"
EXAMPLES = [
    "张掖市领导干部任职前法治能力考察测试制度由哪些单位负责？",
    "内蒙古如何发挥行政复议化解行政争议的主渠道作用？",
    "如何推进政务公开？",
    "重大行政决策程序有哪些要求？",
]
RATINGS = [("有帮助", "helpful"), ("没有帮助", "not_helpful")]
THINKING = "正在查找相关条款…"


@dataclass
class Conversation:
    """One session's conversation: what was asked and answered, and which answer's sources are shown."""

    turns: list[Answer] = field(default_factory=list)
    selected: int = -1

    @property
    def history(self) -> list[dict[str, str]]:
        """The conversation so far, as the assistant reads it to resolve follow-ups."""
        out: list[dict[str, str]] = []
        for a in self.turns:
            out += [{"role": "user", "content": a.question}, {"role": "assistant", "content": a.text}]
        return out

    def messages(self) -> list[dict[str, str]]:
        """The chat as shown: escaped HTML, two messages a turn."""
        out: list[dict[str, str]] = []
        for a in self.turns:
            out += [
                {"role": "user", "content": render.user_message(a.question)},
                {"role": "assistant", "content": render.chat_message(a)},
            ]
        return out

    @property
    def current(self) -> Answer | None:
        """The answer whose sources are shown (the latest, unless the user picked another)."""
        return self.turns[self.selected] if self.turns else None

    @property
    def turn_number(self) -> int:
        return (self.selected % len(self.turns)) + 1 if self.turns else 0


class SharedAssistant:
    """The assistant every session uses. An upload ingests into a new store and swaps in a new assistant.

    Sessions that are answering keep the assistant they started with, so nothing changes under them.
    """

    def __init__(self, settings: Settings, assistant: Assistant | None = None, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._ingest_lock = threading.Lock()
        self.feedback_lock = threading.Lock()
        self.upload_lock = threading.Lock()
        """Held from choosing upload names to recording their owners."""
        if assistant is None:
            embedder = embedder or make_embedder(settings)
            store = ClauseStore(settings, embedder)
            assistant = Assistant(settings, embedder=embedder, store=store) if len(store) else None
        self.assistant: Assistant | None = assistant
        self.embedder: Embedder = assistant.embedder if assistant else embedder  # type: ignore[assignment]

    def documents(self) -> list[dict[str, Any]]:
        assistant = self.assistant
        return assistant.documents() if assistant else []

    def ingest(self, paths: list[Path], progress: Callable[[Path], None] | None = None) -> IngestResult:
        """Ingest files into the index and replace the shared assistant."""
        with self._ingest_lock:
            store = ClauseStore(self.settings, self.embedder)
            result = ingest(paths, self.settings, embedder=self.embedder, store=store, progress=progress)
            if not len(store):  # ingest() opens a store of its own when given an empty one
                store = ClauseStore(self.settings, self.embedder)
            if len(store):
                old = self.assistant
                reranker = old.retriever.reranker if old else None
                self.assistant = Assistant(self.settings, embedder=self.embedder, store=store, reranker=reranker)
            return result


def parse_auth(spec: str) -> list[tuple[str, str]]:
    """``"user:pass,user2:pass2"`` → login pairs; empty → no login."""
    pairs = []
    for item in (spec or "").split(","):
        item = item.strip()
        if not item:
            continue
        user, sep, password = item.partition(":")
        if not sep or not user or not password:
            raise SettingsError("auth must be user:password pairs separated by commas, e.g. auth = \"admin:secret\"")
        pairs.append((user, password))
    return pairs


class LoginGuard:
    """Gradio's ``auth`` callable: checks a password, and refuses a user name for ``window`` seconds once it
    has failed ``attempts`` times within that window (even with the right password)."""

    def __init__(
        self, accounts: list[tuple[str, str]], attempts: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if attempts <= 0 or window <= 0:
            raise ValueError("attempts and window must be positive")
        self._accounts = dict(accounts)
        self._attempts, self._window, self._clock = attempts, window, clock
        self._failures: dict[str, deque[float]] = {}
        """User name → times of its recent failures; the name failed last is last."""
        self._lock = threading.Lock()

    def __call__(self, username: str, password: str) -> bool:
        with self._lock:
            now = self._clock()
            self._forget(now)
            failures = self._failures.get(username, ())
            while failures and failures[0] <= now - self._window:
                failures.popleft()
            if len(failures) >= self._attempts:
                log.warning("login refused for %r: %d failed attempts in %gs", username, len(failures), self._window)
                return False
            # compare even for unknown names, so timing does not tell which names exist
            ok = hmac.compare_digest(password.encode(), self._accounts.get(username, "").encode())
            if ok and username in self._accounts:
                self._failures.pop(username, None)
                return True
            failures = self._failures.pop(username, None) or deque()
            failures.append(now)
            self._failures[username] = failures
            return False

    def _forget(self, now: float) -> None:
        """Drop failures older than the window (names are ordered by their last failure)."""
        for name in list(self._failures):
            failures = self._failures[name]
            while failures and failures[0] <= now - self._window:
                failures.popleft()
            if failures:
                break
            del self._failures[name]


def theme() -> gr.themes.Base:
    # System fonts only: no web-font downloads, and CJK text renders with the platform's Chinese fonts.
    return gr.themes.Default(
        font=["system-ui", "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
    )


def launch_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of ``Blocks.launch`` for these settings (host, port, login, upload limit, look)."""
    auth = parse_auth(settings.auth)
    return {
        "server_name": settings.host,
        "server_port": settings.port,
        "auth": LoginGuard(auth, settings.login_attempts, settings.login_window) if auth else None,
        "auth_message": "请输入用户名和密码登录。" if auth else None,
        "max_file_size": upload_limit(settings),
        "theme": theme(),
        "show_error": False,
        "ssr_mode": False,
    }


def upload_limit(settings: Settings) -> int:
    """The largest upload accepted, in bytes (``max_upload_mb``; 1 MB = 10⁶ bytes, as for ``max_document_mb``)."""
    return int(settings.max_upload_mb * 1_000_000)


def admin_name(settings: Settings) -> str | None:
    """The admin: the first user of ``settings.auth``; ``None`` when there is no login (the local user is admin)."""
    accounts = parse_auth(settings.auth)
    return accounts[0][0] if accounts else None


def serve(settings: Settings) -> None:
    """Start the web UI and block until it is stopped."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    app = build_app(settings)
    app.launch(**launch_options(settings))


def _uploader(request: gr.Request | None, admin: str | None) -> uploads.Uploader:
    """Who is uploading: the logged-in user, or with no login the local user (who is admin)."""
    if admin is None:
        return uploads.Uploader(None, admin=True)
    name = getattr(request, "username", None)
    if not name:
        raise gr.Error("请先登录，再上传文件。")
    return uploads.Uploader(name, admin=name == admin)


def receive_uploads(
    shared: SharedAssistant, paths: list[Path], uploader: uploads.Uploader, progress: Callable[..., Any]
) -> dict[str, Any]:
    """Place, ingest and keep the uploaded files; the ingest report, with the placement of each file.

    Files are copied to a staging folder under their final names and ingested from there; only files that
    were ingested move into ``data_dir/uploads``, so refused and failed uploads leave nothing behind.
    """
    settings = shared.settings
    target = settings.data_dir / "uploads"
    target.mkdir(parents=True, exist_ok=True)
    limit = upload_limit(settings)
    refused: list[dict[str, str]] = []
    with shared.upload_lock:
        registry = uploads.load_registry(target)
        taken = {d["source"] for d in shared.documents()} | {p.name for p in target.iterdir() if p.is_file()}
        staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=target))
        try:
            progress(0, desc="正在保存上传的文件…")
            staged: dict[str, uploads.Placement] = {}
            originals: set[str] = set()
            for path in paths:
                name = path.name
                try:
                    size = path.stat().st_size
                    if size > limit:
                        refused.append({"file": name, "error": render.too_large(size, settings.max_upload_mb)})
                        continue
                    if name in originals:
                        refused.append({"file": name, "error": render.SAME_NAME_IN_BATCH})
                        continue
                    originals.add(name)
                    placement = uploads.place(name, uploader, registry, taken)
                    dest = staging / placement.name
                    if str(dest) in staged:  # e.g. "a.txt" placed as one's own "a (2).txt", then "a (2).txt"
                        refused.append({"file": name, "error": render.SAME_NAME_IN_BATCH})
                        continue
                    shutil.copyfile(path, dest)
                except OSError as exc:
                    refused.append({"file": name, "error": f"无法保存上传的文件：{exc}"})
                    continue
                taken.add(placement.name)
                staged[str(dest)] = placement
            done = [0]

            def step(path: Path) -> None:
                done[0] += 1
                progress((done[0], len(staged)), desc=f"已处理 {path.name}", unit="个文件")

            progress((0, len(staged)), desc="正在导入（解析、切分条款、编制索引）…", unit="个文件")
            try:
                result = shared.ingest([Path(p) for p in staged], progress=step) if staged else IngestResult()
            except Exception as exc:
                log.exception("ingesting uploads failed")
                refused += [{"file": p.original, "error": f"导入时出错：{exc}"} for p in staged.values()]
                result, staged = IngestResult(), {}
            report = result.to_dict()
            documents = []
            for doc in report["documents"]:
                placement = staged[doc.pop("path")]
                kept = doc["status"] in {"ok", "unchanged"}
                if kept:
                    os.replace(staging / placement.name, target / placement.name)
                    registry = uploads.record(registry, placement, uploader)
                    action = "replaced" if placement.replaces else "version" if placement.renamed else "new"
                else:
                    action = "kept" if placement.replaces else "failed"
                # the browser gets file names, not server paths
                name = placement.name if kept else placement.original
                documents.append({"file": name, "original": placement.original, "upload": action, **doc})
            uploads.save_registry(target, registry)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return {**report, "documents": documents, "refused": refused}


def _discard_gradio_copies(paths: list[Path]) -> None:
    """Delete Gradio's own copies of uploaded files once they are handled (so no upload stays on disk twice)."""
    cache = Path(get_upload_folder()).resolve()
    for path in paths:
        try:
            resolved = path.resolve()
            if resolved.is_relative_to(cache) and resolved != cache:
                resolved.unlink(missing_ok=True)
                if resolved.parent != cache:
                    resolved.parent.rmdir()  # Gradio keeps each upload in a folder of its own
        except OSError:
            pass


def _filter_choices(documents: list[dict[str, Any]]) -> tuple[list, list, list]:
    sources = [(d.get("title") or d["source"], d["source"]) for d in documents]
    regions = sorted({d.get("region", "") for d in documents} - {""})
    years = sorted({(d.get("date_issued") or d.get("date_published") or "")[:4] for d in documents} - {""}, reverse=True)
    return sources, regions, [y for y in years if y.isdigit()]


def _filters(sources, regions, years) -> Filters:
    return Filters(tuple(sources or ()), tuple(regions or ()), tuple(int(y) for y in years or ()))


def _picker(conv: Conversation) -> dict[str, Any]:
    choices = [(render.citation_label(c), c.n) for c in render.shown_citations(conv.current)]
    return gr.update(choices=choices, value=None, interactive=bool(choices))


def build_app(settings: Settings, assistant: Assistant | None = None, *, embedder: Embedder | None = None) -> gr.Blocks:
    """The Gradio app over the index of ``settings`` (or over ``assistant``, which must use the same data dir)."""
    shared = SharedAssistant(settings, assistant, embedder)
    admin = admin_name(settings)

    # ------------------------------------------------------------ handlers

    def ask(question: str, conv: Conversation, sources, regions, years) -> Iterator[tuple]:
        """Answer a question in the session's conversation; yields while the answer is written."""
        conv = conv or Conversation()
        question = (question or "").strip()
        if not question:
            gr.Warning("请先输入问题。")
            yield (gr.skip(),) * 9
            return
        if len(question) > settings.max_question_chars:
            refusal = render.question_too_long(len(question), settings.max_question_chars)
            gr.Warning(refusal)
            yield [*conv.messages(), {"role": "assistant", "content": render.esc(refusal)}], conv, question, *(gr.skip(),) * 6
            return
        shown = [*conv.messages(), {"role": "user", "content": render.user_message(question)}]
        yield [*shown, {"role": "assistant", "content": THINKING}], conv, "", *(gr.skip(),) * 6
        current = shared.assistant
        try:
            if current is None:
                answer = Answer(question=question, text=render.NO_INDEX, standalone_question=question)
            else:
                answer = None
                for answer in current.ask_stream(question, conv.history, _filters(sources, regions, years)):
                    if not answer.abstained:
                        yield [*shown, {"role": "assistant", "content": render.chat_message(answer)}], *(gr.skip(),) * 8
        except Exception as exc:
            log.exception("answering %r failed", question)
            gr.Warning(f"回答时出错：{render.esc(str(exc))}")
            yield conv.messages(), conv, question, *(gr.skip(),) * 6
            return
        conv.turns.append(answer)
        conv.selected = len(conv.turns) - 1
        yield (
            conv.messages(), conv, "", render.cards(answer, conv.turn_number), _picker(conv),
            render.VIEWER_EMPTY, None, "", "",
        )

    def select_turn(conv: Conversation, evt: gr.SelectData):
        """Show the sources of the answer the user clicked in the chat."""
        index = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        if conv and conv.turns and isinstance(index, int):
            conv.selected = min(index // 2, len(conv.turns) - 1)
        return conv, render.cards(conv.current, conv.turn_number), _picker(conv), render.VIEWER_EMPTY, ""

    def open_source(n, conv: Conversation) -> str:
        """The source viewer for citation ``n`` of the selected answer."""
        cited = {c.n: c for c in render.shown_citations(conv.current if conv else None)}
        try:
            citation = cited.get(int(n))
        except (TypeError, ValueError):
            citation = None
        if citation is None:
            return render.VIEWER_EMPTY
        store = shared.assistant.store if shared.assistant else None
        text = store.document_text(citation.source) if store else ""
        meta = store.meta(citation.source) if store and citation.source in store.documents else None
        return render.source_view(text, meta, citation)

    def open_card(conv: Conversation, evt: gr.EventData):
        n = getattr(evt, "cite", None)
        return gr.update(value=n), open_source(n, conv)

    def new_conversation():
        return [], Conversation(), "", render.CARDS_EMPTY, gr.update(choices=[], value=None), render.VIEWER_EMPTY, None, "", ""

    def feedback(rating: str | None, comment: str, conv: Conversation) -> str:
        """Append the user's rating of the selected answer to the feedback file."""
        answer = conv.current if conv else None
        if answer is None:
            return "请先提问，再对回答进行评价。"
        if rating not in {v for _, v in RATINGS}:
            return "请选择“有帮助”或“没有帮助”。"
        record = {
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "question": answer.question,
            "standalone_question": answer.standalone_question,
            "answer": answer.text,
            "abstained": answer.abstained,
            "citations": [
                {**c.record(), "n": c.n, "clause_id": c.clause_id} for c in render.shown_citations(answer)
            ],
            "rating": rating,
            "comment": (comment or "").strip(),
        }
        path = settings.feedback_file
        with shared.feedback_lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        return "已记录您的反馈，谢谢！"

    def documents_view():
        documents = shared.documents()
        sources, regions, years = _filter_choices(documents)
        return (
            render.document_rows(documents),
            gr.update(choices=sources),
            gr.update(choices=regions),
            gr.update(choices=years),
        )

    def upload(files, request: gr.Request, progress=gr.Progress()):  # noqa: B008 - Gradio finds its tracker by this default
        """Store uploaded files in ``data_dir/uploads`` (a new version when the name is someone else's), ingest, report."""
        paths = [Path(f if isinstance(f, str) else getattr(f, "name", f)) for f in files or []]
        if not paths:
            gr.Warning("请先选择要上传的文件。")
            return (gr.skip(),) * 7
        try:
            report = receive_uploads(shared, paths, _uploader(request, admin), progress)
        except uploads.RegistryError as exc:
            log.error("uploads refused: %s (%s)", exc, exc.hint)
            raise gr.Error("上传记录文件无法读取，暂时不能导入；请联系管理员（详情见服务器日志）。") from exc
        finally:
            _discard_gradio_copies(paths)
        return (render.report(report), report, None, *documents_view())

    # ------------------------------------------------------------ layout

    documents = shared.documents()
    sources, regions, years = _filter_choices(documents)
    # uploads the app never received (sent to Gradio's upload route, never imported) are deleted after an hour
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(3600, 3600)) as app:
        conv = gr.State(Conversation())
        gr.Markdown(f"# {TITLE}\n根据已导入的政府政策文件回答问题，每个回答都注明所依据的文件和条款。")
        with gr.Tabs():
            with gr.Tab("问答", id="chat"), gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        label="对话",
                        elem_id="chatbot",
                        height=520,
                        render_markdown=False,
                        sanitize_html=True,
                        allow_tags=False,
                        latex_delimiters=[],
                        feedback_options=None,
                        buttons=["copy"],
                        placeholder="请在下方输入关于政策文件的问题，可以接着上一个回答追问。",
                    )
                    with gr.Row():
                        question = gr.Textbox(
                            placeholder="例如：行政复议工作有哪些要求？",
                            show_label=False,
                            elem_id="question",
                            scale=5,
                            max_lines=4,
                        )
                        send = gr.Button("发送", variant="primary", elem_id="send", scale=1, min_width=80)
                        new = gr.Button("新对话", elem_id="new-chat", scale=1, min_width=80)
                    gr.Examples(EXAMPLES, inputs=[question], label="示例问题（点击填入）")
                    with gr.Accordion("检索范围（可选，不选则检索全部文件）", open=False):
                        source_filter = gr.Dropdown(sources, label="文件", multiselect=True, value=[], elem_id="filter-source")
                        region_filter = gr.Dropdown(regions, label="地区", multiselect=True, value=[], elem_id="filter-region")
                        year_filter = gr.Dropdown(years, label="年份", multiselect=True, value=[], elem_id="filter-year")
                with gr.Column(scale=2):
                    gr.Markdown("### 出处条款")
                    cards = gr.HTML(
                        render.CARDS_EMPTY, elem_id="cards", css_template=render.CARDS_CSS, js_on_load=render.CARDS_JS
                    )
                    picker = gr.Dropdown([], label="查看原文", value=None, interactive=False, elem_id="cite-picker")
                    gr.Markdown("### 原文")
                    viewer = gr.HTML(
                        render.VIEWER_EMPTY, elem_id="viewer", css_template=render.VIEWER_CSS, js_on_load=render.VIEWER_JS
                    )
                    with gr.Group(elem_id="feedback"):
                        rating = gr.Radio(RATINGS, label="这个回答有帮助吗？", value=None, elem_id="rating")
                        comment = gr.Textbox(label="补充意见（可选）", lines=2, elem_id="comment")
                        send_feedback = gr.Button("提交反馈", elem_id="send-feedback", size="sm")
                        feedback_status = gr.Markdown("", elem_id="feedback-status")
            with gr.Tab("文件", id="documents"):
                gr.Markdown("### 已导入的文件")
                table = gr.Dataframe(
                    render.document_rows(documents),
                    headers=render.DOCUMENT_COLUMNS,
                    interactive=False,
                    wrap=True,
                    column_widths=["15%", "31%", "13%", "13%", "9%", "8%", "5%", "6%"],
                    elem_id="documents",
                )
                gr.Markdown(
                    "### 导入新文件\n支持 .txt、.md、.html、.docx、.pdf，单个文件不超过 "
                    f"{settings.max_upload_mb:g} MB。上传与库中文件同名的文件时：文件是您上传的（或您是管理员），"
                    "就替换库中的旧版本；文件是其他用户的，就另存为新版本（如“通知 (2).txt”），不会覆盖原文件。"
                    "导入完成后，新文件即可用于问答。"
                )
                files = gr.File(label="选择文件", file_count="multiple", elem_id="upload-files")
                import_button = gr.Button("导入", variant="primary", elem_id="import")
                report_html = gr.HTML("", elem_id="report", css_template=render.REPORT_CSS, js_on_load=None)
                with gr.Accordion("完整导入报告（JSON）", open=False):
                    report_json = gr.JSON(elem_id="report-json")

        # ------------------------------------------------------------ events

        filters = [source_filter, region_filter, year_filter]
        reset = [chatbot, conv, question, cards, picker, viewer, rating, comment, feedback_status]
        # several sessions answer at once: an extractive answer takes milliseconds, but a streamed LLM answer
        # takes seconds and must not hold up everyone else's question (Gradio's default is one at a time)
        gr.on([send.click, question.submit], ask, [question, conv, *filters], reset, api_name="ask", concurrency_limit=4)
        new.click(new_conversation, None, reset, api_name="new")
        chatbot.clear(new_conversation, None, reset, api_visibility="private")
        chatbot.select(select_turn, [conv], [conv, cards, picker, viewer, feedback_status], api_visibility="private")
        picker.input(open_source, [picker, conv], viewer, api_name="source")
        cards.click(open_card, [conv], [picker, viewer], api_visibility="private")
        send_feedback.click(feedback, [rating, comment, conv], feedback_status, api_name="feedback")
        docs_outputs = [table, *filters]
        import_button.click(
            upload,
            [files],
            [report_html, report_json, files, *docs_outputs],
            api_name="upload",
            concurrency_limit=1,
            show_progress_on=report_html,
        )
        app.load(documents_view, None, docs_outputs, api_name="documents")
    return app
