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
import logging
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder

from ingest.documents import FileReport
from ingest.pipeline import IngestResult, ingest, reingest

from . import ui_console, uploads
from . import ui_render as render
from .embedders import Embedder, make_embedder
from .questionlog import QuestionLog
from .service import Assistant
from .settings import Settings, SettingsError
from .store import ClauseStore, Filters
from .text import normalise
from .types import Answer

log = logging.getLogger(__name__)

TITLE = "政策文件问答"
EXAMPLES = [
    "张掖市领导干部任职前法治能力考察测试制度由哪些单位负责？",
    "内蒙古如何发挥行政复议化解行政争议的主渠道作用？",
    "如何推进政务公开？",
    "重大行政决策程序有哪些要求？",
]
RATINGS = [("有帮助", "up"), ("没有帮助", "down")]
"""Labels and the question log's ratings."""
THINKING = "正在查找相关条款…"

# Gradio's own strings that its Chinese translation lacks (or that an English browser would show in English):
# Gradio looks a dotted key up as given before its own nested dictionaries, so these replace its strings.
GRADIO_STRINGS = {
    "chatbot.copy_message": "复制消息",
    "chatbot.copied_message": "已复制",
    "chatbot.clear": "清空对话",
    "chatbot.retry": "重试",
    "chatbot.undo": "撤销",
    "chatbot.edit": "编辑",
    "chatbot.like": "赞",
    "chatbot.dislike": "踩",
    "common.built_with_gradio": "使用 Gradio 构建",
    "common.clear": "清除",
    "common.download": "下载",
    "common.empty": "空",
    "common.error": "错误",
    "common.loading": "加载中",
    "common.or": "或",
    "common.remove": "移除",
    "common.settings": "设置",
    "common.share": "分享",
    "common.submit": "提交",
    "common.run": "运行",
    "common.language": "语言",
    "common.display_theme": "显示主题",
    "common.record": "录制",
    "common.stop_recording": "停止录制",
    "dataframe.filter": "筛选",
    "dataframe.clear_filter": "清除筛选",
    "dataframe.sort_column": "排序",
    "dataframe.sort_ascending": "升序排列",
    "dataframe.sort_descending": "降序排列",
    "dataframe.clear_sort": "取消排序",
    "errors.use_via_api": "通过 API 使用",
    "errors.use_via_api_or_mcp": "通过 API 或 MCP 使用",
    "file.uploading": "正在上传…",
    "upload_text.click_to_upload": "点击上传",
    "upload_text.drop_file": "将文件拖放到此处",
    "login.login": "登录",
    "login.username": "用户名",
    "login.password": "密码",
    "login.incorrect_credentials": "用户名或密码不正确",
    "blocks.lost_connection": "离开页面后连接已断开，正在重新连接…",
    "blocks.waiting_for_inputs": "请等文件上传完成后再试。",
}
WARNING_TITLE = "提示"
ERROR_TITLE = "出错了"


def gradio_i18n() -> gr.I18n:
    """Gradio's own strings in Chinese, whatever the browser's language (the app itself is written in Chinese)."""
    return gr.I18n(**{locale: GRADIO_STRINGS for locale in ("en", "zh", "zh-CN", "zh-TW")})


def warn(message: str) -> None:
    gr.Warning(message, title=WARNING_TITLE)


def error(message: str) -> gr.Error:
    return gr.Error(message, title=ERROR_TITLE)


@dataclass
class Conversation:
    """One session's conversation: what was asked and answered, and which answer's sources are shown."""

    turns: list[Answer] = field(default_factory=list)
    selected: int = -1
    log_ids: list[str] = field(default_factory=list)
    """The question log's id of each turn ('' when it could not be logged), for feedback."""

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
        for turn, a in enumerate(self.turns, 1):
            out += [
                {"role": "user", "content": render.user_message(a.question)},
                {"role": "assistant", "content": render.chat_message(a, turn)},
            ]
        return out

    @property
    def current(self) -> Answer | None:
        """The answer whose sources are shown (the latest, unless the user picked another)."""
        return self.turns[self.selected] if self.turns else None

    @property
    def turn_number(self) -> int:
        return (self.selected % len(self.turns)) + 1 if self.turns else 0

    @property
    def current_log_id(self) -> str:
        return self.log_ids[self.selected] if self.turns and len(self.log_ids) == len(self.turns) else ""

    def add(self, answer: Answer, log_id: str) -> None:
        self.turns.append(answer)
        self.log_ids.append(log_id)
        self.selected = len(self.turns) - 1


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
        self._assistant: Assistant | None = assistant
        self.embedder: Embedder = assistant.embedder if assistant else embedder  # type: ignore[assignment]
        self.questions = _open_log(settings)

    @property
    def assistant(self) -> Assistant | None:
        """The shared assistant; while the index is empty, looked for again on each use (documents may arrive
        through the API or the command line)."""
        if self._assistant is None:
            store = ClauseStore(self.settings, self.embedder)
            if len(store):
                self._use(store)
        return self._assistant

    @assistant.setter
    def assistant(self, value: Assistant | None) -> None:
        self._assistant = value

    def documents(self) -> list[dict[str, Any]]:
        """Every stored document (disabled ones too), each with ``enabled`` and the path it was ingested from."""
        assistant = self.assistant
        if assistant is None:
            return []
        documents = assistant.documents()
        store = assistant.store
        return [{**d, "enabled": d["source"] not in store.disabled, "origin": store.origin(d["source"])} for d in documents]

    def enabled_documents(self) -> list[dict[str, Any]]:
        """The documents questions are answered from."""
        return [d for d in self.documents() if d["enabled"]]

    def set_enabled(self, source: str, enabled: bool) -> None:
        """Enable or disable a document; questions asked from now on see the change."""
        if self.assistant is None:
            raise KeyError(source)
        with self._ingest_lock:
            self.assistant.store.set_enabled(source, enabled)

    def delete(self, source: str) -> int:
        """Remove a document from the index; how many clauses it had."""
        with self._ingest_lock:
            store = ClauseStore(self.settings, self.embedder)
            if source not in store.documents:
                raise KeyError(source)
            try:
                count = store.delete(source)
            finally:
                store.commit()
            self._use(store)
            return count

    def ingest(self, paths: list[Path], progress: Callable[[Path], None] | None = None,
               root: Path | None = None, origins: dict[Path, Path] | None = None) -> IngestResult:
        """Ingest files into the index and replace the shared assistant (``root``, ``origins``: see
        ``ingest.pipeline.ingest``)."""
        with self._ingest_lock:
            store = ClauseStore(self.settings, self.embedder)
            result = ingest(paths, self.settings, embedder=self.embedder, store=store, progress=progress, root=root,
                            origins=origins)
            if not len(store):  # ingest() opens a store of its own when given an empty one
                store = ClauseStore(self.settings, self.embedder)
            self._use(store)
            return result

    def reingest(self, source: str) -> FileReport:
        """Ingest a document again from the path it was read from (its identifier kept)."""
        with self._ingest_lock:
            store = ClauseStore(self.settings, self.embedder)
            report = reingest(source, self.settings, store=store, embedder=self.embedder)
            self._use(store)
            return report

    def _use(self, store: ClauseStore) -> None:
        """Answer from ``store`` from now on (no assistant when it is empty)."""
        if not len(store):
            self.assistant = None
            return
        old = self._assistant
        reranker = old.retriever.reranker if old else None
        self.assistant = Assistant(self.settings, embedder=self.embedder, store=store, reranker=reranker)


def _open_log(settings: Settings) -> QuestionLog | None:
    """The question log of the data directory; ``None`` when it cannot be opened (e.g. a read-only data dir)."""
    try:
        return QuestionLog(settings.question_log, settings.log_retention_days)
    except (sqlite3.Error, OSError) as exc:
        log.warning("the question log %s cannot be opened (%s); questions and feedback are not recorded",
                    settings.question_log, exc)
        return None


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
        "i18n": gradio_i18n(),
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
        raise error("请先登录，再上传文件。")
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
                # recorded as ingested from where the files are kept once they pass
                origins = {Path(p): target / placement.name for p, placement in staged.items()}
                result = shared.ingest([Path(p) for p in staged], progress=step, origins=origins) if staged else IngestResult()
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


def _year(document: dict[str, Any]) -> str:
    return (document.get("date_issued") or document.get("date_published") or "")[:4]


def _filter_choices(documents: list[dict[str, Any]]) -> tuple[list, list, list]:
    sources = [(d.get("title") or d["source"], d["source"]) for d in documents]
    regions = sorted({d.get("region", "") for d in documents} - {""})
    years = sorted({_year(d) for d in documents} - {""}, reverse=True)
    return sources, regions, [y for y in years if y.isdigit()]


def _filters(sources, regions, years) -> Filters:
    return Filters(tuple(sources or ()), tuple(regions or ()), tuple(int(y) for y in years or ()))


def in_scope(documents: list[dict[str, Any]], filters: Filters) -> list[dict[str, Any]]:
    """The documents a question asked with ``filters`` is answered from (as :class:`Filters` selects them)."""
    regions = {normalise(r) for r in filters.regions}
    years = {str(y) for y in filters.years}
    return [
        d
        for d in documents
        if (not filters.sources or d["source"] in filters.sources)
        and (not regions or normalise(d.get("region", "")) in regions)
        and (not years or _year(d) in years)
    ]


def _picker(conv: Conversation, value: int | None = None) -> dict[str, Any]:
    choices = [(render.citation_label(c), c.n) for c in render.shown_citations(conv.current)]
    return gr.update(choices=choices, value=value, interactive=bool(choices))


def is_admin(request: gr.Request | None, admin: str | None) -> bool:
    """Whether the user of ``request`` is the admin (with no login, the local user is)."""
    return admin is None or (getattr(request, "username", None) or None) == admin


def _username(request: gr.Request | None) -> str:
    return getattr(request, "username", None) or ""


def build_app(settings: Settings, assistant: Assistant | None = None, *, embedder: Embedder | None = None) -> gr.Blocks:
    """The Gradio app over the index of ``settings`` (or over ``assistant``, which must use the same data dir)."""
    shared = SharedAssistant(settings, assistant, embedder)
    admin = admin_name(settings)

    # ------------------------------------------------------------ handlers

    def log_answer(answer: Answer, request: gr.Request | None) -> str:
        """Record a final answer in the question log; its id ('' when the log cannot be written)."""
        if shared.questions is None:
            return ""
        try:
            return shared.questions.record(answer, "ui", _username(request))
        except (sqlite3.Error, OSError):
            log.exception("cannot record the answer to %r in the question log", answer.question)
            return ""

    def ask(question: str, conv: Conversation, sources, regions, years, request: gr.Request) -> Iterator[tuple]:
        """Answer a question in the session's conversation; yields while the answer is written."""
        conv = conv or Conversation()
        question = (question or "").strip()
        if not question:
            warn("请先输入问题。")
            yield (gr.skip(),) * 9
            return
        if len(question) > settings.max_question_chars:
            refusal = render.question_too_long(len(question), settings.max_question_chars)
            warn(refusal)
            yield [*conv.messages(), {"role": "assistant", "content": render.esc(refusal)}], conv, question, *(gr.skip(),) * 6
            return
        shown = [*conv.messages(), {"role": "user", "content": render.user_message(question)}]
        filters = _filters(sources, regions, years)
        current = shared.assistant
        if current is not None and filters and not in_scope(shared.enabled_documents(), filters):
            reply = {"role": "assistant", "content": render.esc(render.EMPTY_SCOPE)}
            empty = gr.update(choices=[], value=None, interactive=False)
            yield [*shown, reply], conv, question, render.SCOPE_EMPTY_CARD, empty, render.VIEWER_EMPTY, *(gr.skip(),) * 3
            return
        yield [*shown, {"role": "assistant", "content": THINKING}], conv, "", *(gr.skip(),) * 6
        try:
            if current is None:
                answer = Answer(question=question, text=render.NO_INDEX, standalone_question=question)
            else:
                answer = None
                for answer in current.ask_stream(question, conv.history, filters):
                    if not answer.abstained:
                        yield [*shown, {"role": "assistant", "content": render.chat_message(answer)}], *(gr.skip(),) * 8
        except Exception as exc:
            log.exception("answering %r failed", question)
            warn(f"回答时出错：{render.esc(str(exc))}")
            yield conv.messages(), conv, question, *(gr.skip(),) * 6
            return
        conv.add(answer, log_answer(answer, request) if current is not None else "")
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
        """Open citation ``cite`` in the viewer: of the selected answer (a card), or of answer ``turn`` (a
        ``[n]`` marker in the chat, which selects that answer first)."""
        conv = conv or Conversation()
        n, turn = getattr(evt, "cite", None), getattr(evt, "turn", None)
        moved = isinstance(turn, int) and 1 <= turn <= len(conv.turns) and turn != conv.turn_number
        if moved:
            conv.selected = turn - 1
        cards_html = render.cards(conv.current, conv.turn_number) if moved else gr.skip()
        return conv, cards_html, _picker(conv, n), open_source(n, conv), "" if moved else gr.skip()

    def scope_view(sources, regions, years):
        """The summary line of the active filters above the question box (hidden when none is active)."""
        documents = shared.enabled_documents()
        titles = {d["source"]: d.get("title") or d["source"] for d in documents}
        filters = _filters(sources, regions, years)
        empty = bool(filters) and not in_scope(documents, filters)
        line = render.scope_summary([titles.get(s, s) for s in sources or ()], regions or (), years or (), empty)
        return gr.update(visible=bool(line)), line

    def clear_scope():
        return [], [], [], gr.update(visible=False), ""

    def new_conversation():
        chat = ([], Conversation(), "", render.CARDS_EMPTY, gr.update(choices=[], value=None), render.VIEWER_EMPTY, None, "", "")
        return *chat, *clear_scope()

    def feedback(rating: str | None, comment: str, conv: Conversation, request: gr.Request) -> str:
        """Record the user's rating of the selected answer in the question log."""
        answer = conv.current if conv else None
        if answer is None:
            return "请先提问，再对回答进行评价。"
        if rating not in {v for _, v in RATINGS}:
            return "请选择“有帮助”或“没有帮助”。"
        log_id = conv.current_log_id
        if not log_id or shared.questions is None:
            return "这个回答没有记入问答记录，无法评价。"
        try:
            shared.questions.add_feedback(log_id, rating, (comment or "").strip(), _username(request))
        except KeyError:
            return "这个回答的记录已超过保存期限，无法再评价。"
        return "已记录您的反馈，谢谢！"

    def documents_view():
        documents = shared.enabled_documents()
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
            warn("请先选择要上传的文件。")
            return (gr.skip(),) * 7
        try:
            report = receive_uploads(shared, paths, _uploader(request, admin), progress)
        except uploads.RegistryError as exc:
            log.error("uploads refused: %s (%s)", exc, exc.hint)
            raise error("上传记录文件无法读取，暂时不能导入；请联系管理员（详情见服务器日志）。") from exc
        finally:
            _discard_gradio_copies(paths)
        return (render.report(report), report, None, *documents_view())

    def console_visibility(request: gr.Request):
        return gr.update(visible=is_admin(request, admin))

    # ------------------------------------------------------------ layout

    documents = shared.enabled_documents()
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
                        buttons=[],  # each answer carries its own copy button, which copies plain text
                        placeholder="请在下方输入关于政策文件的问题，可以接着上一个回答追问。",
                    )
                    with gr.Row(visible=False, elem_id="scope-row", equal_height=True) as scope_row:
                        scope_text = gr.HTML("", elem_id="scope", js_on_load=None, scale=5)
                        clear_button = gr.Button("×清除", elem_id="clear-scope", size="sm", scale=0, min_width=70)
                    with gr.Row():
                        question = gr.Textbox(
                            placeholder="例如：行政复议工作有哪些要求？",
                            label="问题",
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
            with gr.Tab("文件", id="documents") as documents_tab:
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
            console_tab = ui_console.build(shared, lambda request: is_admin(request, admin), visible=admin is None)

        # ------------------------------------------------------------ events

        filters = [source_filter, region_filter, year_filter]
        reset = [chatbot, conv, question, cards, picker, viewer, rating, comment, feedback_status]
        scope = [scope_row, scope_text]
        # several sessions answer at once: an extractive answer takes milliseconds, but a streamed LLM answer
        # takes seconds and must not hold up everyone else's question (Gradio's default is one at a time)
        gr.on([send.click, question.submit], ask, [question, conv, *filters], reset, api_name="ask", concurrency_limit=4)
        # no progress on the filters: Gradio's loading overlay on a component inside a closed accordion can stay
        # after the event, and then covers the component
        quiet = {"show_progress": "hidden"}
        new.click(new_conversation, None, [*reset, *filters, *scope], api_name="new", **quiet)
        chatbot.clear(new_conversation, None, [*reset, *filters, *scope], api_visibility="private", **quiet)
        chatbot.select(select_turn, [conv], [conv, cards, picker, viewer, feedback_status], api_visibility="private")
        picker.input(open_source, [picker, conv], viewer, api_name="source")
        cards.click(open_card, [conv], [conv, cards, picker, viewer, feedback_status], api_visibility="private")
        gr.on([f.input for f in filters], scope_view, filters, scope, api_name="scope", **quiet)
        clear_button.click(clear_scope, None, [*filters, *scope], api_visibility="private", **quiet)
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
        documents_tab.select(documents_view, None, docs_outputs, api_visibility="private", **quiet)
        app.load(documents_view, None, docs_outputs, api_name="documents", **quiet)
        app.load(console_visibility, None, console_tab, api_visibility="private")
    app.i18n_instance = gradio_i18n()  # kept when the app is mounted in another server (launch() sets its own)
    return app
