"""The batch evaluator: metric functions on hand-made records, dataset checks, and run → report → compare."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.settings import Settings
from assistant.text import match_key
from eval.__main__ import main as eval_main
from eval.baseline import chunk_text
from eval.compare import changes
from eval.dataset import DatasetError, Gold, Question, load_dataset, load_results
from eval.metrics import (
    citation_precision,
    fact_present,
    first_hit_rank,
    hit_at,
    key_fact_share,
    percentile,
    reciprocal_rank,
    score,
    summarise,
    supports,
)

ROOT = Path(__file__).resolve().parent.parent
GANSU = "000_d8f81da73f3e0dc6.txt"
ZHANGYE = "004_86c396645597acb2.txt"


def passage(source: str, text: str, clause: str = "") -> dict:
    return {"source": source, "title": "", "doc_number": "", "clause": clause, "text": text}


def result(qid: str, answer: str = "", *, abstained: bool = False, citations=(), retrieved=(), latency: float = 10.0) -> dict:
    return {"id": qid, "answer": answer, "abstained": abstained, "citations": list(citations),
            "retrieved": list(retrieved), "latency_ms": latency}


# ------------------------------------------------------------ matching and metric functions


def test_supports_matches_across_script_width_and_punctuation() -> None:
    gold = Gold(GANSU, "规范行政执法，严格执法程序")
    traditional = passage(GANSU, "（五）規範行政執法。嚴格 執法程序")
    assert match_key("規範行政執法，嚴格執法程序") == match_key("规范行政执法 严格执法程序")
    assert supports(traditional, gold)
    assert not supports(passage(ZHANGYE, traditional["text"]), gold), "another document never supports"
    assert not supports(passage(GANSU, "规范行政执法"), gold), "the whole quote must be contained"
    assert supports(passage(GANSU, "比重不低于１０％"), Gold(GANSU, "不低於10%")), "full-width digits fold"


def test_rank_hit_and_mrr() -> None:
    gold = [Gold(GANSU, "信息共享"), Gold(ZHANGYE, "案件移送")]
    ranked = [passage(GANSU, "无关"), passage(ZHANGYE, "信息共享"), passage(ZHANGYE, "建立案件移送制度"), passage(GANSU, "信息共享")]
    assert first_hit_rank(ranked, gold) == 3
    assert not hit_at(ranked, gold, 2)
    assert hit_at(ranked, gold, 3)
    assert reciprocal_rank(ranked, gold, 10) == pytest.approx(1 / 3)
    assert reciprocal_rank(ranked, gold, 2) == 0.0
    assert first_hit_rank([], gold) is None


def test_key_facts_with_alternatives() -> None:
    answer = "2017年4月27日印發，由市司法局牽頭。"
    assert fact_present("司法局牵头", answer)
    assert fact_present(("2017年04月27日", "2017年4月27日"), answer)
    assert not fact_present(("2018年", "2019年"), answer)
    assert key_fact_share(["司法局", ("2017年04月27日", "2017年4月27日"), "公安局"], answer) == pytest.approx(2 / 3)
    assert key_fact_share([], answer) is None


def test_citation_precision() -> None:
    gold = [Gold(GANSU, "信息共享")]
    cited = [passage(GANSU, "建立信息共享制度"), passage(GANSU, "别的"), passage(ZHANGYE, "信息共享")]
    assert citation_precision(cited, gold) == pytest.approx(1 / 3)
    assert citation_precision([], gold) is None


def test_score_of_answerable_and_unanswerable_questions() -> None:
    q = Question("a", "问", True, key_facts=("信息共享", ("案情通报", "通报案情")), gold=(Gold(GANSU, "信息共享、案情通报"),), type="fact")
    good = passage(GANSU, "建立信息共享、案情通报、案件移送制度。")
    right = score(q, result("a", "建立信息共享、案情通报制度[1]。", citations=[good], retrieved=[passage(GANSU, "x"), good]))
    assert right["answer_correctness"] and right["citation_hit"] and right["key_fact_accuracy"] == 1.0
    assert (right["hit@1"], right["hit@5"], right["mrr@10"]) == (False, True, 0.5)
    assert right["false_abstention_rate"] is False and right["abstention_accuracy"] is None

    no_citation = score(q, result("a", "建立信息共享、案情通报制度。", retrieved=[good]))
    assert not no_citation["answer_correctness"], "a correct text without a supporting citation is not correct"
    abstained = score(q, result("a", "文件中没有找到。", abstained=True, retrieved=[good]))
    assert abstained["false_abstention_rate"] is True and not abstained["answer_correctness"]
    assert abstained["answer_chars"] is None

    u = Question("u", "兰州呢", False)
    assert score(u, result("u", "没有", abstained=True))["answer_correctness"] is True
    answered = score(u, result("u", "兰州……", citations=[good]))
    assert answered["abstention_accuracy"] is False and answered["hit@5"] is None and answered["citation_precision"] is None


def test_summarise_skips_scores_that_do_not_apply() -> None:
    q = Question("a", "问", True, gold=(Gold(GANSU, "信息共享"),))
    u = Question("u", "问", False)
    hit = passage(GANSU, "信息共享")
    scores = [score(q, result("a", "x", citations=[hit], retrieved=[hit], latency=10)),
              score(u, result("u", "y", latency=30)), score(u, result("u", "z", abstained=True, latency=20))]
    s = summarise(scores)
    assert s["hit@1"] == 1.0 and s["abstention_accuracy"] == 0.5 and s["false_abstention_rate"] == 0.0
    assert s["answer_correctness"] == pytest.approx(2 / 3)
    assert s["latency_p50_ms"] == 20 and s["answer_chars_median"] == 1


def test_percentile_interpolates() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 95) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile(list(map(float, range(101))), 95) == pytest.approx(95.0)


def test_chunks_overlap_and_cover_the_text() -> None:
    text = "".join(chr(0x4E00 + i) for i in range(700))
    chunks = chunk_text(text, 300, 50)
    assert [len(c) for c in chunks] == [300, 300, 200]
    assert chunks[0][-50:] == chunks[1][:50] and text.endswith(chunks[-1])
    assert chunk_text("短", 300, 50) == ["短"]


# ------------------------------------------------------------ dataset files


def write_jsonl(path: Path, lines: list) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    return path


def test_dataset_problems_are_reported_with_line_numbers(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [
        {"id": "a", "question": "问题", "answerable": True},
        "{not json",
        {"id": "b", "question": "", "answerable": True},
        "",
        {"id": "a", "question": "重复", "answerable": False},
        {"id": "c", "question": "问", "answerable": True, "key_facts": ["x", []]},
        {"id": "d", "question": "问", "answerable": True, "history": [{"role": "bot", "content": "x"}]},
        {"id": "e", "question": "问", "answerable": "yes"},
    ])
    loaded = load_dataset(path)
    assert [q.id for q in loaded.items] == ["a"]
    assert loaded.items[0].history == () and loaded.items[0].label == "untyped"
    text = "\n".join(loaded.problems)
    for n, words in [(2, "not valid JSON"), (3, "'question'"), (5, "duplicate id 'a' (first on line 1)"),
                     (6, "key_facts[1]"), (7, "history[0]"), (8, "'answerable'")]:
        assert f"d.jsonl:{n}: " in text and words in text, (n, text)
    with pytest.raises(DatasetError, match="no valid question"):
        load_dataset(write_jsonl(tmp_path / "bad.jsonl", ["[]"]))
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(tmp_path / "missing.jsonl")


def test_results_loader_skips_malformed_records(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "r.jsonl", [result("a"), {"id": "b", "answer": "x"}, result("a")])
    loaded = load_results(path)
    assert [r["id"] for r in loaded.items] == ["a"]
    assert "r.jsonl:2: missing or mistyped fields" in loaded.problems[0] and "duplicate id" in loaded.problems[1]


# ------------------------------------------------------------ the commands, end to end

DATASET = [
    {"id": "t-fact", "question": "甘肅省要求重大決策必須經過哪些法定程序？", "history": [], "answerable": True,
     "answer": "公眾參與、專家論證、風險評估、合法性審查、集體討論決定。", "type": "fact",
     "key_facts": ["專家論證", ["风险评估", "風險評估"]],
     "gold": [{"source": GANSU, "quote": "嚴格執行公眾參與、專家論證、風險評估、合法性審查、集體討論決定等法定程序"}]},
    {"id": "t-follow", "question": "那旗縣呢？", "answerable": True, "type": "followup",
     "history": [{"role": "user", "content": "內蒙古對盟市行政機關負責人出庭應訴率有什麼要求？"},
                 {"role": "assistant", "content": "2022年年底前盟市行政機關負責人出庭應訴率不低於90%。"}],
     "key_facts": ["2024年年底前", "90%"],
     "gold": [{"source": "002_35979e58988424ba.txt", "quote": "2024年年底前旗縣(市、區)行政機關負責人出庭應訴率不低於90%"}]},
    {"id": "t-none", "question": "兰州市2016年的网约车管理办法规定了什么？", "history": [], "answerable": False,
     "key_facts": [], "gold": [], "type": "unanswerable"},
    {"id": "t-bare", "question": "张掖市法治政府建设实施方案是什么文号？", "answerable": True},
    '{"id": "t-broken", "question": "缺了右括号"',
]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "eval", *args], cwd=ROOT, capture_output=True, text=True, timeout=240)


@pytest.mark.slow
def test_run_report_and_compare(tmp_path: Path, sample_settings: Settings, capsys: pytest.CaptureFixture) -> None:
    dataset = write_jsonl(tmp_path / "set.jsonl", DATASET)
    out, base = tmp_path / "runs" / "set.jsonl", tmp_path / "runs" / "set.baseline.jsonl"

    done = run_cli("run", "--dataset", str(dataset), "--out", str(out), "--data-dir", str(sample_settings.data_dir), "-q")
    assert done.returncode == 0, done.stderr
    assert "set.jsonl:5: not valid JSON" in done.stderr
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in records] == ["t-fact", "t-follow", "t-none", "t-bare"]
    for r in records:
        assert {"id", "answer", "abstained", "citations", "retrieved", "latency_ms"} <= set(r), r
        assert r["latency_ms"] > 0 and r["retrieved"] and not r.get("error")
        for c in r["citations"] + r["retrieved"]:
            assert set(c) == {"source", "title", "doc_number", "clause", "text"}
    assert records[1]["standalone_question"] != "那旗縣呢？", "the history reaches the assistant"

    done = run_cli("run", "--dataset", str(dataset), "--out", str(base), "--engine", "baseline", "--corpus", str(ROOT / "corpus"), "-q")
    assert done.returncode == 0, done.stderr
    baseline = [json.loads(line) for line in base.read_text(encoding="utf-8").splitlines()]
    assert all(c["clause"] == "" for r in baseline for c in r["citations"])

    done = run_cli("report", str(out), "--dataset", str(dataset), "--baseline", str(base), "--data-dir", "ignored")
    assert done.returncode == 0, done.stderr
    assert "| answer correctness |" in done.stdout and "baseline" in done.stdout
    report = json.loads((out.parent / "set.report.json").read_text(encoding="utf-8"))
    assert (out.parent / "set.report.md").read_text(encoding="utf-8").strip() == done.stdout.strip()
    assert (out.parent / "set.report.png").read_bytes()[:4] == b"\x89PNG"

    # the metrics are what the records imply, computed here without eval.metrics
    by_id = {r["id"]: r for r in records}
    overall = report["assistant"]["overall"]
    assert overall["questions"] == 4 and overall["answerable"] == 3 and overall["unanswerable"] == 1
    assert overall["abstention_accuracy"] == float(by_id["t-none"]["abstained"])
    assert overall["false_abstention_rate"] == pytest.approx(sum(by_id[i]["abstained"] for i in ("t-fact", "t-follow", "t-bare")) / 3)

    def supported(passages: list[dict], gold: list[dict]) -> bool:
        return any(p["source"] == g["source"] and match_key(g["quote"]) in match_key(p["text"]) for p in passages for g in gold)

    graded = DATASET[:2]
    assert overall["hit@5"] == pytest.approx(sum(supported(by_id[d["id"]]["retrieved"][:5], d["gold"]) for d in graded) / 2)
    assert overall["citation_hit"] == pytest.approx(sum(supported(by_id[d["id"]]["citations"], d["gold"]) for d in graded) / 2)
    assert set(report["assistant"]["by_type"]) == {"fact", "followup", "unanswerable", "untyped"}
    assert report["baseline"]["overall"]["abstention_accuracy"] == float(baseline[2]["abstained"])

    # compare: crafted runs with one regression and one improvement
    gold_text = "嚴格執行公眾參與、專家論證、風險評估、合法性審查、集體討論決定等法定程序。"
    cited = [passage(GANSU, gold_text, "二（一）1")]
    before = write_jsonl(tmp_path / "a.jsonl", [
        result("t-fact", "專家論證、風險評估[1]", citations=cited, retrieved=cited),
        result("t-none", "兰州……"),
    ])
    after = write_jsonl(tmp_path / "b.jsonl", [
        result("t-fact", "文件中没有找到能回答这个问题的内容。", abstained=True, retrieved=cited),
        result("t-none", "文件中没有找到能回答这个问题的内容。", abstained=True),
    ])
    questions = load_dataset(dataset).items
    found = changes(questions, {r["id"]: r for r in load_results(before).items}, {r["id"]: r for r in load_results(after).items})
    assert [(c.question.id, c.delta < 0) for c in found] == [("t-fact", True), ("t-none", False)]
    capsys.readouterr()
    assert eval_main(["compare", str(before), str(after), "--dataset", str(dataset), "--data-dir", "x"]) == 0
    printed = capsys.readouterr().out
    assert printed.index("Regressions (1)") < printed.index("- t-fact") < printed.index("Improvements (1)") < printed.index("- t-none")
    assert "answer_correctness: yes → no" in printed and "重大決策" in printed


def test_run_reports_a_missing_index_clearly(tmp_path: Path) -> None:
    dataset = write_jsonl(tmp_path / "set.jsonl", DATASET[:1])
    code = eval_main(["run", "--dataset", str(dataset), "--out", str(tmp_path / "r.jsonl"), "--data-dir", str(tmp_path / "none"), "-q"])
    assert code == 2
    assert not (tmp_path / "none").exists(), "no empty index is created by a typo"


def test_exclude_sources_is_honoured_and_counterfactuals_are_their_own_metric(tmp_path: Path) -> None:
    """Any dataset's ``exclude_sources`` leaves those documents out of the search; ``--counterfactual`` asks each
    answerable question again without its gold documents, scored as counterfactual abstention."""
    from eval.baseline import BaselineEngine
    from eval.dataset import load_dataset
    from eval.metrics import evaluate
    from eval.runner import run

    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "a.txt").write_text("甲市方案\n一、总体要求\n（一）甲市窗口单位要公开办事指南。\n", encoding="utf-8")
    (corpus / "b.txt").write_text("乙市方案\n一、总体要求\n（一）乙市推行证明事项告知承诺制。\n", encoding="utf-8")
    dataset = tmp_path / "d.jsonl"
    records = [
        {"id": "q1", "question": "甲市窗口单位要公开什么？", "answerable": True,
         "gold": [{"source": "a.txt", "quote": "公开办事指南"}]},
        {"id": "q2", "question": "甲市窗口单位要公开什么？", "answerable": False, "exclude_sources": ["a.txt"]},
    ]
    dataset.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    loaded = load_dataset(dataset, counterfactual=True)
    assert [q.id for q in loaded.items] == ["q1", "q2", "q1#cf"]
    assert loaded.items[2].exclude_sources == ("a.txt",) and not loaded.items[2].answerable
    engine = BaselineEngine.from_corpus(corpus)
    results = {r["id"]: r for r in run(engine, loaded.items)}
    assert all(c["source"] != "a.txt" for c in results["q2"]["retrieved"])
    assert any(c["source"] == "a.txt" for c in results["q1"]["retrieved"])
    overall = evaluate(loaded.items, results)["overall"]
    assert overall["counterfactual_abstention"] is not None
    assert overall["abstention_accuracy"] is None  # q2 leaves out its document: a counterfactual item too
