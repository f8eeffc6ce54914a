"""The web UI in headless Chromium: ask, follow up, open the source viewer from a card or a [n] marker, copy an
answer as plain text, abstentions without internal scores, the filter summary, Gradio's strings in Chinese, the
admin console; markup in a document stays text. Screenshots of the chat and the console go to /tmp/ui-*.png."""

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
SHOTS = Path("/tmp")

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
def browser(app_url: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser, url: str, locale: str = "zh-CN"):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale=locale)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url.rstrip("/"))
    page = context.new_page()
    page.set_default_timeout(WAIT)
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector("#question textarea")
    return page


@pytest.fixture
def page(browser, app_url: str):
    page = open_page(browser, app_url)
    yield page
    page.context.close()  # each test's page and its connections to the app end with it


def save_shot(page, name: str) -> Path:
    shot = SHOTS / f"ui-{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if ARTIFACTS:
        (ROOT / "artifacts").mkdir(exist_ok=True)
        shutil.copyfile(shot, ROOT / "artifacts" / shot.name)
    print(f"screenshot: {shot}")
    return shot


def send(page, question: str, turn: int) -> None:
    """Ask ``question`` and wait until the cards show the sources of answer number ``turn``."""
    from playwright.sync_api import expect

    page.fill("#question textarea", question)
    page.click("#send")
    expect(page.locator("#cards")).to_contain_text(f"第 {turn} 轮", timeout=WAIT)


def open_first_card(page) -> None:
    page.locator("#cards .cite-card").first.click()
    page.wait_for_selector("#viewer mark.clause", state="visible")


def test_ask_follow_up_and_read_the_source(page) -> None:
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

    send(page, "这项制度哪年全面实行？", 2)
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


def test_markers_open_their_citation_and_copy_gives_plain_text(page) -> None:
    from playwright.sync_api import expect

    send(page, "张掖市领导干部任职前法治能力考察测试制度由哪些单位负责？", 1)
    send(page, "那公务员晋升依法行政考核制度哪年全面实行？", 2)
    answers = page.locator("#chatbot [data-testid='bot']")
    viewer, cards = page.locator("#viewer"), page.locator("#cards")

    answers.first.locator("a.cite-link").first.click()  # a marker of the first answer: its citation, its cards
    expect(cards).to_contain_text("第 1 轮")
    expect(viewer.locator("mark.clause")).to_contain_text("任职前法治能力考察测试制度")
    expect(page.locator("#cite-picker input")).to_have_value(__import__("re").compile(r"^\[1\]"))
    answers.last.locator("a.cite-link").first.click()
    expect(cards).to_contain_text("第 2 轮")
    expect(viewer.locator("mark.clause")).to_contain_text("2018年全面实行公务员晋升依法行政考核制度")

    answers.last.locator("button.copy-plain").click()
    expect(answers.last.locator("button.copy-plain")).to_have_text("已复制")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.evaluate("window.policyqaCopied")
    first_line, *rest = copied.splitlines()
    assert "2018年全面实行" in first_line and "[1]" in first_line
    assert "出处：" in rest and any(line.startswith("[1] 《张掖市") or line.startswith("[1] 《中共张掖市委") for line in rest)
    assert "<" not in copied.replace("《", "") and "&" not in copied  # no markup, no entities
    save_shot(page, "chat")


def test_abstentions_show_a_plain_reason_and_details_on_demand(page) -> None:
    from playwright.sync_api import expect

    page.fill("#question textarea", "火星移民的补贴标准是多少？")
    page.click("#send")
    box = page.locator("#cards .abstain")
    expect(box).to_contain_text("原因：", timeout=WAIT)
    expect(box).not_to_contain_text("可回答概率", use_inner_text=True)
    expect(box).not_to_contain_text("0.", use_inner_text=True)
    save_shot(page, "abstention")
    box.locator("summary").click()
    expect(box).to_contain_text("可回答概率", use_inner_text=True)


def choose(page, dropdown: str, option: str) -> None:
    page.locator(f"{dropdown} input").click()
    page.locator("ul.options li", has_text=option).first.click()
    page.keyboard.press("Escape")


def test_active_filters_are_shown_above_the_input_and_cleared_by_a_new_conversation(page) -> None:
    from playwright.sync_api import expect

    page.get_by_text("检索范围（可选").click()
    choose(page, "#filter-region", "张掖市")
    summary = page.locator("#scope")
    expect(summary).to_contain_text("检索范围：地区 张掖市")
    expect(summary).not_to_contain_text("没有文档")
    send(page, "如何推进政务公开？", 1)
    expect(page.locator("#cards")).not_to_contain_text("內蒙古")
    page.locator("#scope-row").scroll_into_view_if_needed()
    page.click("#new-chat")
    expect(summary).to_be_hidden()
    expect(page.locator("#filter-region")).not_to_contain_text("张掖市")

    choose(page, "#filter-region", "张掖市")
    choose(page, "#filter-year", "2022")
    expect(summary).to_contain_text("所选范围内没有文档")
    page.fill("#question textarea", "如何推进政务公开？")
    page.click("#send")
    expect(page.locator("#chatbot")).to_contain_text("所选范围内没有文档")
    save_shot(page, "scope")
    page.click("#clear-scope")
    expect(summary).to_be_hidden()
    expect(page.locator("#filter-year")).not_to_contain_text("2022")


def test_gradio_strings_are_chinese(page, browser, app_url: str) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    toast = page.locator(".toast-body").first
    for _ in range(10):  # nothing asked: a warning toast (a click before the app has wired its events does nothing)
        page.click("#send")
        try:
            toast.wait_for(state="visible", timeout=2000)
            break
        except PlaywrightTimeout:
            continue
    expect(toast).to_contain_text("请先输入问题")
    expect(toast).to_contain_text("提示")
    expect(toast).not_to_contain_text("Warning")
    assert page.locator("[aria-label='Copy message'], [title='Copy message']").count() == 0
    english = open_page(browser, app_url, locale="en-US")  # an English browser: Gradio's strings in Chinese too
    footer = english.locator("footer")
    expect(footer).to_contain_text("通过 API")
    expect(footer).not_to_contain_text("Use via API")
    expect(footer).not_to_contain_text("Settings")


def test_the_admin_console_lists_documents_and_the_question_log(page) -> None:
    from playwright.sync_api import expect

    send(page, "如何推进政务公开？", 1)
    page.get_by_role("tab", name="管理").click()
    documents = page.locator("#console-documents")
    expect(documents).to_contain_text("004_86c396645597acb2.txt")
    expect(documents).to_contain_text("启用")
    save_shot(page, "console")
    page.get_by_role("tab", name="问答记录").click()
    page.click("#log-search")
    expect(page.locator("#console-log")).to_contain_text("如何推进政务公开？")
    save_shot(page, "console-log")


def log_in(browser, url: str, user: str, password: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(WAIT)
    page.goto(url, wait_until="domcontentloaded")
    page.locator("input[type='text']").first.fill(user)
    page.locator("input[type='password']").first.fill(password)
    page.keyboard.press("Enter")
    page.wait_for_selector("#question textarea")
    return page


def test_only_the_admin_sees_the_console(browser, sample_settings: Settings, embedder, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    settings = sample_settings.replace(data_dir=tmp_path / "data", auth="admin:root-pw,reader:reader-pw")
    shutil.copytree(sample_settings.data_dir, settings.data_dir)
    with running(settings, Assistant(settings, embedder=embedder)) as url:
        reader = log_in(browser, url, "reader", "reader-pw")
        expect(reader.get_by_role("tab", name="文件")).to_be_visible()
        reader.wait_for_timeout(1000)  # the console's visibility is set when the page has loaded
        expect(reader.get_by_role("tab", name="管理")).to_have_count(0)
        admin = log_in(browser, url, "admin", "root-pw")
        admin.get_by_role("tab", name="管理").click()
        expect(admin.locator("#console-documents")).to_contain_text("004_86c396645597acb2.txt")
