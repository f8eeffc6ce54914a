"""What the UI tests share: the app served on a local port, and a document whose text looks like markup."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from gradio_client import Client

from assistant.service import Assistant
from assistant.settings import Settings
from assistant.ui import build_app, launch_options

# A document whose text looks like markup: it must be shown as text everywhere.
UNSAFE_NAME = "安全显示测试.txt"
UNSAFE_DOC = """青禾市人民政府关于做好文件安全显示工作的通知
青政发〔2024〕1号
各区县人民政府，市政府各部门：
为做好政策文件在网页上的安全显示工作，现就有关事项通知如下。
一、总体要求
（一）脚本标记原样显示。文件正文中出现的<script>alert(1)</script>字样属于文字内容，网页必须原样显示，不得执行。（牵头单位：市网信办）
（二）图片标记原样显示。文件正文中出现的<img src=x onerror=alert(1)>和<img src=y onerror=alert&#40;2&#41;>字样同样属于文字内容，必须原样显示。（牵头单位：市大数据局）
二、工作措施
（一）加强检查。各单位每季度检查一次网页显示情况，发现问题及时整改。
青禾市人民政府
2024年3月1日
"""


def texts(chat: list[dict]) -> list[str]:
    """The text of each chat message as returned by the API."""
    return ["".join(part.get("text", "") for part in m["content"]) for m in chat]


def ask(client: Client, question: str, sources=(), regions=(), years=()) -> dict:
    chat, box, cards, picker, viewer, *_ = client.predict(question, list(sources), list(regions), list(years), api_name="/ask")
    return {"chat": chat, "box": box, "cards": cards, "picker": picker, "viewer": viewer}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(
    settings: Settings, assistant: Assistant | None = None, *, launch: dict | None = None, **build
) -> Iterator[str]:
    """The app of ``settings`` served on a free local port for the duration of the block; yields its URL.

    ``launch`` overrides options of :func:`launch_options`."""
    app = build_app(settings, assistant, **build)
    options = {**launch_options(settings), **(launch or {}), "server_name": "127.0.0.1", "server_port": free_port()}
    app.launch(**options, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{options['server_port']}/"
    finally:
        app.close()


TREES_NOTICE = """青禾市人民政府关于加强古树名木保护的通知
青政发〔2024〕9号
各区县人民政府，市政府各部门：
现就加强古树名木保护工作通知如下。
一、工作要求
（一）建立档案。市林业局为每一株古树名木建立电子档案，并悬挂保护标牌。（牵头单位：市林业局）
二、保障措施
（一）落实经费。古树名木养护经费列入年度财政预算。
青禾市人民政府
2024年6月1日
"""
"""A notice of our own (an invented city) that upload and console tests ingest."""
