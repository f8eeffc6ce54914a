"""LLM answers with checked citations, against a scripted OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path

import pytest
from fake_openai import FakeOpenAI, Reply

from assistant.answer import CANNOT_ANSWER
from assistant.llm import FALLBACK_NOTICE, check_reply, make_llm_components, partial_text
from assistant.prompts import PromptError, load_prompts
from assistant.settings import Settings, SettingsError, load_settings
from assistant.store import Filters
from assistant.text import normalise
from assistant.types import Clause, DocumentMeta, Hit

QUESTION = "敦煌市如何推进政务公开？"
_BLOCK_RE = re.compile(r"^\[(\d+)\]《(.+?)》 发文字号：(\S+) 条款：(\S+)(?: 所属章节：.*)?\n(.+)$", re.M)


def clauses_in(request: dict) -> dict[int, dict[str, str]]:
    """The numbered clauses of an answer request, parsed back from its prompt."""
    prompt = "\n".join(m["content"] for m in request["messages"])
    return {int(m[1]): {"title": m[2], "doc_number": m[3], "label": m[4], "text": m[5]} for m in _BLOCK_RE.finditer(prompt)}


def sentence_of(request: dict, n: int) -> str:
    """The first sentence of clause [n] of the prompt, without its end mark: a reply that clause supports."""
    text = clauses_in(request)[n]["text"]
    return re.split(r"[。；！？]", text)[0][:80]


def is_answer_request(request: dict) -> bool:
    return bool(clauses_in(request))


def assistant_for(settings: Settings, embedder, server: FakeOpenAI, **changes):
    from assistant.service import Assistant

    changes = {"llm_base_url": server.url, "llm_model": "fake", "llm_timeout": 2, **changes}
    return Assistant(settings.replace(**changes), embedder=embedder)


# ---------------------------------------------------------------- the check itself (fast)


def _hit(n: int, text: str, label: str = "", title: str = "测试文件", doc_number: str = "测发〔2020〕1号") -> Hit:
    meta = DocumentMeta(source=f"doc{n}.txt", title=title, doc_number=doc_number, date_issued="2020-05-06")
    clause = Clause(source=meta.source, label_path=(label or f"（{n}）",), text=text, start=0, end=len(text))
    return Hit(clause=clause, meta=meta, score=1.0)


HITS = [
    _hit(1, "（一）推进政务公开。完善政府信息公开制度，拓宽政府信息公开渠道。"),
    _hit(2, "（二）严格规范公正文明执法。全面落实行政执法责任制，加强行政执法监督。"),
    _hit(3, "（三）強化行政決策程序。嚴格執行重大行政決策合法性審查和集體討論決定程序。"),
]


def test_citations_are_renumbered_in_order_of_appearance() -> None:
    checked = check_reply("全面落实行政执法责任制。[2]\n完善政府信息公开制度，拓宽政府信息公开渠道[1][2]。", HITS)
    assert checked.text == "全面落实行政执法责任制[1]。\n完善政府信息公开制度，拓宽政府信息公开渠道[2]。"
    assert [h.clause.source for h in checked.cited] == ["doc2.txt", "doc1.txt"]
    assert checked.unsupported == 1 and "1处与句子内容不符的引用" in checked.notes
    quoted = check_reply("要求“完善政府信息公开制度。”[1]加强行政执法监督。[2]", HITS)
    assert quoted.text == "要求“完善政府信息公开制度[1]。”加强行政执法监督[2]。"


def test_invalid_numbers_and_unsupported_sentences_are_dropped() -> None:
    checked = check_reply("完善政府信息公开制度[1]。加强行政执法监督[9]。到2030年全面实现火星移民[2]。具体如下：", HITS)
    assert checked.text == "完善政府信息公开制度[1]。具体如下："
    assert checked.invalid == [9] and checked.dropped == 2
    assert "[9]" in checked.notes and "2句" in checked.notes


def test_support_is_judged_across_scripts() -> None:
    checked = check_reply("严格执行重大行政决策合法性审查和集体讨论决定程序【3】。", HITS)
    assert checked.text == "严格执行重大行政决策合法性审查和集体讨论决定程序[1]。"
    assert checked.cited == [HITS[2]]
    assert check_reply("依據測發〔2020〕1號，2020年5月6日印發[1,2]。", HITS).cited == [HITS[0], HITS[1]]


def test_cannot_answer_in_either_script_abstains() -> None:
    assert check_reply(CANNOT_ANSWER, HITS).abstained
    assert check_reply("<think>条款都不相关</think>文件中沒有找到能回答這個問題的內容。", HITS).abstained
    assert not check_reply(f"完善政府信息公开制度[1]。其余{CANNOT_ANSWER}", HITS).abstained


def test_reply_without_valid_citation_has_none() -> None:
    assert not check_reply("加强行政执法监督[7]。", HITS).cited
    assert not check_reply("", HITS).cited


def test_partial_text_hides_unfinished_markers_and_reasoning() -> None:
    assert partial_text("<think>先想一想", HITS) == ("", [])
    text, cited = partial_text("加强行政执法监督[2]。完善政府信息公开[9]，拓宽[1", HITS)
    assert text == "加强行政执法监督[1]。完善政府信息公开，拓宽"
    assert cited == [HITS[1]]


# ---------------------------------------------------------------- prompts (fast)


def test_shipped_prompts_load() -> None:
    prompts = load_prompts(load_settings(env={}).prompts_dir)
    assert "{context}" in prompts.answer and "{history}" in prompts.condense


def _write_prompts(directory: Path, **overrides: str) -> Path:
    texts = {"system": "只依据条款回答。", "answer": "{context}\n{question}\n{cannot_answer}", "condense": "{history}\n{question}"}
    texts.update(overrides)
    directory.mkdir(parents=True, exist_ok=True)
    for stem, text in texts.items():
        (directory / f"{stem}.md").write_text(text, encoding="utf-8")
    return directory


def test_prompt_without_a_placeholder_is_refused(tmp_path: Path) -> None:
    folder = _write_prompts(tmp_path / "p", answer="条款：{context}\n问题：{question}")
    with pytest.raises(PromptError) as err:
        load_prompts(folder)
    assert str(folder / "answer.md") in str(err.value) and "{cannot_answer}" in str(err.value)


def test_prompt_with_an_unknown_placeholder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match=r"condense\.md has unknown placeholder \{answer\}"):
        load_prompts(_write_prompts(tmp_path / "p", condense="{history}{question}{answer}"))


def test_missing_prompt_file_is_named(tmp_path: Path) -> None:
    folder = _write_prompts(tmp_path / "p")
    (folder / "system.md").unlink()
    with pytest.raises(PromptError, match=r"system\.md or system\.txt not found"):
        load_prompts(folder)


def test_llm_needs_a_model_name(tmp_path: Path) -> None:
    from assistant.answer import ExtractiveAnswerer

    with pytest.raises(SettingsError, match="llm_model"):
        make_llm_components(load_settings(env={}, llm_base_url="http://127.0.0.1:9/v1"), ExtractiveAnswerer(), None)


def test_fake_server_lists_models() -> None:
    with FakeOpenAI() as server, urllib.request.urlopen(f"{server.url}/models", timeout=5) as response:
        assert json.load(response)["data"][0]["id"] == "fake"


# ---------------------------------------------------------------- through the assistant (slow)


@pytest.mark.slow
def test_good_answer_and_the_prompt_sent(sample_settings: Settings, embedder) -> None:
    with FakeOpenAI(lambda request: sentence_of(request, 1) + "[1]。") as server:
        answer = assistant_for(sample_settings, embedder, server).ask(QUESTION)
    assert len(server.requests) == 1
    request = server.requests[0]
    assert request["model"] == "fake" and not request.get("stream")  # ask() asks for the whole answer at once
    system, user = request["messages"]
    assert system["role"] == "system" and CANNOT_ANSWER in system["content"]
    assert QUESTION in user["content"] and CANNOT_ANSWER in user["content"]
    clauses = clauses_in(request)
    assert sorted(clauses) == list(range(1, sample_settings.top_k + 1))
    for n, clause in clauses.items():  # numbered like the retrieved list, with title, number and label
        shown = answer.retrieved[n - 1]
        assert (clause["title"], clause["label"]) == (shown.title, shown.clause)
        assert clause["doc_number"] == (shown.doc_number or "无")
        assert f"[{n}]《{shown.title}》" in user["content"] and f"条款：{shown.clause}" in user["content"]

    assert answer.engine == "llm" and not answer.abstained and not answer.notice
    assert answer.text == sentence_of(request, 1) + "[1]。"
    assert [c.clause_id for c in answer.citations] == [answer.retrieved[0].clause_id]
    assert answer.citations[0].highlight and answer.citations[0].highlight in answer.citations[0].text


@pytest.mark.slow
def test_answer_without_streaming(sample_settings: Settings, embedder) -> None:
    from assistant.retrieval import term_weights

    with FakeOpenAI(lambda request: sentence_of(request, 1) + "[1]。") as server:
        assistant = assistant_for(sample_settings, embedder, server)
        query = assistant.analyzer.analyse(QUESTION)
        hits = assistant.retriever.search(query, Filters(), k=10)
        answer = assistant.answerer.answer(query, hits, term_weights(assistant.store, query.key_terms))
    assert "stream" not in server.requests[0] or server.requests[0]["stream"] is False
    assert answer.engine == "llm" and answer.text == sentence_of(server.requests[0], 1) + "[1]。"
    assert [c.clause_id for c in answer.citations] == [hits[0].clause.id]


@pytest.mark.slow
def test_invalid_citation_is_dropped_and_flagged(sample_settings: Settings, embedder) -> None:
    def reply(request: dict) -> str:
        return f"{sentence_of(request, 2)}[2]。{sentence_of(request, 1)}[9]。火星移民计划由宇航局负责[1]。"

    with FakeOpenAI(reply) as server:
        answer = assistant_for(sample_settings, embedder, server).ask(QUESTION)
    assert answer.engine == "llm"
    assert answer.text == f"{sentence_of(server.requests[0], 2)}[1]。"
    assert [c.clause_id for c in answer.citations] == [answer.retrieved[1].clause_id]
    assert "[9]" in answer.notice and "2句" in answer.notice
    assert "火星" not in answer.text


@pytest.mark.slow
def test_no_valid_citation_falls_back_to_extractive(sample_settings: Settings, embedder) -> None:
    with FakeOpenAI(lambda request: sentence_of(request, 1) + "[9]。") as server:
        answer = assistant_for(sample_settings, embedder, server).ask(QUESTION)
    assert answer.engine == "extractive" and not answer.abstained
    assert answer.notice.startswith(FALLBACK_NOTICE) and "[9]" in answer.notice
    assert answer.citations and "[9]" not in answer.text


@pytest.mark.slow
def test_timeout_falls_back_within_bounded_time(sample_settings: Settings, embedder) -> None:
    with FakeOpenAI([Reply("完善政府信息公开制度[1]。", delay=30)]) as server:
        assistant = assistant_for(sample_settings, embedder, server, llm_timeout=1)
        started = time.monotonic()
        answer = assistant.ask(QUESTION)
        elapsed = time.monotonic() - started
    assert elapsed < 8
    assert answer.engine == "extractive" and answer.citations
    assert "1秒内没有回应" in answer.notice


@pytest.mark.slow
def test_endpoint_error_falls_back(sample_settings: Settings, embedder) -> None:
    with FakeOpenAI([Reply("overloaded", status=500)]) as server:
        answer = assistant_for(sample_settings, embedder, server).ask(QUESTION)
    assert answer.engine == "extractive" and answer.citations
    assert "大模型服务出错" in answer.notice


@pytest.mark.slow
def test_model_cannot_answer_abstains(sample_settings: Settings, embedder) -> None:
    with FakeOpenAI([CANNOT_ANSWER]) as server:
        answer = assistant_for(sample_settings, embedder, server).ask(QUESTION)
    assert answer.abstained and answer.engine == "llm"
    assert answer.text.startswith(CANNOT_ANSWER)
    assert 1 <= len(answer.related) <= 3 and not answer.citations
    assert [c.clause_id for c in answer.related] == [c.clause_id for c in answer.retrieved[: len(answer.related)]]


@pytest.mark.slow
def test_follow_up_is_condensed_by_the_model(sample_settings: Settings, embedder) -> None:
    history = [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": "全面推进政务公开，完善政府信息公开制度[1]。"},
    ]
    standalone = "敦煌市推进政务公开由哪些单位负责？"

    def reply(request: dict) -> str:
        return sentence_of(request, 1) + "[1]。" if is_answer_request(request) else f"改写后的问题：{standalone}"

    with FakeOpenAI(reply) as server:
        answer = assistant_for(sample_settings, embedder, server).ask("那由谁负责？", history=history)
    condense = server.prompts()[0]
    assert not is_answer_request(server.requests[0])
    assert QUESTION in condense and "全面推进政务公开，完善政府信息公开制度[1]。" in condense and "那由谁负责？" in condense
    assert answer.standalone_question == standalone
    assert answer.question == "那由谁负责？"
    if not answer.abstained:  # the answer prompt carries the standalone question
        assert normalise(standalone) in server.prompts()[1]
        assert answer.engine == "llm"


@pytest.mark.slow
def test_failed_condense_uses_the_rules(sample_settings: Settings, embedder) -> None:
    from assistant.service import Assistant

    history = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": "……"}]
    expected = Assistant(sample_settings, embedder=embedder).ask("那由谁负责？", history=history).standalone_question
    with FakeOpenAI([Reply("down", status=503), CANNOT_ANSWER]) as server:
        answer = assistant_for(sample_settings, embedder, server).ask("那由谁负责？", history=history)
    assert answer.standalone_question == expected != "那由谁负责？"


@pytest.mark.slow
def test_streaming_yields_partials_then_the_checked_answer(sample_settings: Settings, embedder) -> None:
    def reply(request: dict) -> Reply:
        return Reply(f"{sentence_of(request, 2)}[2]。{sentence_of(request, 1)}[1]。火星移民计划由宇航局负责[1]。", chunk_chars=5)

    with FakeOpenAI(reply) as server:
        answers = list(assistant_for(sample_settings, embedder, server).ask_stream(QUESTION))
    assert server.requests[0]["stream"] is True
    *partials, final = answers
    assert len(partials) >= 3
    assert all(a.engine == "llm" and not a.abstained for a in answers)
    lengths = [len(a.text) for a in partials]
    assert lengths == sorted(lengths) and lengths[0] < lengths[-1]
    assert "火星" in partials[-1].text  # shown while written, removed by the check
    request = server.requests[0]
    assert final.text == f"{sentence_of(request, 2)}[1]。{sentence_of(request, 1)}[2]。"
    assert [c.clause_id for c in final.citations] == [final.retrieved[1].clause_id, final.retrieved[0].clause_id]
    assert "1句" in final.notice


@pytest.mark.slow
def test_stream_that_stalls_falls_back(sample_settings: Settings, embedder) -> None:
    with FakeOpenAI([Reply("完善政府信息公开制度[1]。" * 3, chunk_chars=4, chunk_delay=30)]) as server:
        started = time.monotonic()
        answers = list(assistant_for(sample_settings, embedder, server, llm_timeout=1).ask_stream(QUESTION))
        elapsed = time.monotonic() - started
    assert elapsed < 8
    final = answers[-1]
    assert final.engine == "extractive" and final.citations and "没有回应" in final.notice
