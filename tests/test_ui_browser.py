"""The web UI in headless Chromium: ask, follow up, open the source viewer; markup in a document stays text."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from ui_support import UNSAFE_DOC, UNSAFE_NAME, running

from assistant.service import Assistant
from assistant.settings import Settings
from ingest.pipeline import ingest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
# Read at import: the autouse fixture of conftest.py removes POLICYQA_* variables before each test.
ARTIFACTS = bool(os.environ.get("POLICYQA_ARTIFACTS"))
WAIT = 60_000  # ms; generous for slow CI machines

@pytest.fixture(scope="module")
def app_url(sample_settings: Settings, embedder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app over a copy of the sample index plus a document whose text looks like markup."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium (/usr/bin/chromium) is not installed; run: bash scripts/install-browser.sh")
    data = tmp_path_factory.mktemp("ui-browser") / "data"
    shutil.copytree(sample_settings.data_dir, data)
    settings = sample_settings.replace(data_dir=data)
    doc = tmp_path_factory.mktemp("ui-browser-doc") / UNSAFE_NAME
    doc.write_text(UNSAFE_DOC, encoding="utf-8")
    assert not ingest([doc], settings, embedder=embedder).failed
    with running(settings, Assistant(settings, embedder=embedder)) as url:
        yield url


@pytest.fixture
def page(app_url: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
            page.set_default_timeout(WAIT)
            page.goto(app_url, wait_until="domcontentloaded")
            page.wait_for_selector("#question textarea")
            yield page
        finally:
            browser.close()


def send(page, question: str, turn: int) -> None:
    """Ask ``question`` and wait until the cards show the sources of answer number ``turn``."""
    from playwright.sync_api import expect

    page.fill("#question textarea", question)
    page.click("#send")
    expect(page.locator("#cards")).to_contain_text(f"第 {turn} 轮", timeout=WAIT)


def open_first_card(page) -> None:
    page.locator("#cards .cite-card").first.click()
    page.wait_for_selector("#viewer mark.clause", state="visible")


def test_ask_follow_up_and_read_the_source(page, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    send(page, "张掖市领导干部任职前法治能力考察测试制度由哪些单位负责？", 1)
    chat = page.locator("#chatbot")
    expect(chat).to_contain_text("市委组织部")
    expect(chat).to_contain_text("[1]")
    card = page.locator("#cards .cite-card").first
    expect(card).to_contain_text("张掖市法治政府建设实施方案")
    expect(card).to_contain_text("市委发〔2017〕23号")
    expect(card).to_contain_text("二（二十七）")
    expect(card.locator("mark.support")).to_have_count(1)

    send(page, "那公务员晋升依法行政考核制度哪年全面实行？", 2)
    expect(chat).to_contain_text("2018年全面实行")
    expect(chat).to_contain_text("按上下文理解为")
    assert page.locator("#cards .cite-card").count() >= 1

    answers = page.locator("#chatbot [data-testid='bot']")
    answers.first.click()  # a click on an earlier answer shows its sources
    expect(page.locator("#cards")).to_contain_text("第 1 轮")
    answers.last.click()
    expect(page.locator("#cards")).to_contain_text("第 2 轮")

    open_first_card(page)
    viewer = page.locator("#viewer")
    expect(viewer).to_contain_text("各县区委")  # the document's opening: the whole text is shown
    expect(viewer.locator("mark.clause")).to_contain_text("2018年全面实行公务员晋升依法行政考核制度")
    page.wait_for_function(
        """() => {
            const body = document.querySelector('#viewer .src-body');
            const mark = body && body.querySelector('mark.clause');
            if (!mark) return false;
            const b = body.getBoundingClientRect(), m = mark.getBoundingClientRect();
            return body.scrollTop > 0 && m.top >= b.top - 1 && m.top < b.bottom;
        }"""
    )
    shot = tmp_path / "ui.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if ARTIFACTS:
        (ROOT / "artifacts").mkdir(exist_ok=True)
        shutil.copyfile(shot, ROOT / "artifacts" / "ui.png")
    print(f"screenshot: {shot}")

    page.click("#new-chat")
    expect(page.locator("#cards")).not_to_contain_text("第 2 轮")
    expect(chat).not_to_contain_text("市委组织部")


def test_markup_in_documents_is_shown_as_text(page) -> None:
    from playwright.sync_api import expect

    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    send(page, "脚本标记原样显示有什么要求？", 1)
    cards = page.locator("#cards")
    expect(cards).to_contain_text("<script>alert")
    open_first_card(page)
    viewer = page.locator("#viewer")
    expect(viewer).to_contain_text("<script>alert")
    expect(viewer).to_contain_text("<img src=x onerror=alert")
    expect(viewer).to_contain_text("onerror=alert&#40;2&#41;>")
    for where in ("#chatbot", "#cards", "#viewer"):
        assert page.locator(f"{where} script").count() == 0
        assert page.locator(f"{where} img").count() == 0
    page.wait_for_timeout(500)
    assert dialogs == []

    page.get_by_role("tab", name="文件").click()
    expect(page.locator("#documents")).to_contain_text(UNSAFE_NAME)
    expect(page.locator("#documents")).to_contain_text("张掖市")
