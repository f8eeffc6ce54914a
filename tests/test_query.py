"""Query understanding and follow-up rewriting, on hand-made document metadata (no index needed)."""

from __future__ import annotations

import numpy as np
import pytest
from fakes import HashEmbedder

from assistant.answer.extractive import ExtractiveAnswerer
from assistant.retrieval import rrf
from assistant.retrieval.english import Glossary, document_names
from assistant.retrieval.followup import RuleCondenser
from assistant.retrieval.query import QueryAnalyzer, quantity_pattern, question_words
from assistant.retrieval.titles import TitleMatcher
from assistant.text import is_english, normalise, tokenize
from assistant.types import Clause, DocumentMeta, Hit

METAS = [
    DocumentMeta(source="a.txt", title="张掖市法治政府建设实施方案", region="张掖市"),
    DocumentMeta(source="b.txt", title="敦煌市实施意见", region="敦煌市"),
    DocumentMeta(source="c.txt", title="內蒙古自治區實施方案", region="内蒙古自治区", script="traditional"),
]
CORPUS = "张掖市 敦煌市 酒泉市 内蒙古自治区 行政复议 行政诉讼 诉讼 出庭应诉 政务公开 政府 张掖"


def corpus_idf(token: str) -> float:
    """A stand-in for the index's idf: the words of :data:`CORPUS` are known, rarer when longer."""
    return float(len(token)) if token in set(tokenize(CORPUS)) else 0.0


@pytest.fixture(scope="module")
def analyzer() -> QueryAnalyzer:
    return QueryAnalyzer(METAS, idf=corpus_idf)


def test_intents(analyzer):
    assert analyzer.analyse("这项改革由哪些部门牵头？").intent == "responsibility"
    assert analyzer.analyse("什么时候完成清理？").intent == "deadline"
    assert analyzer.analyse("这个文件的发文字号是什么？").intent == "metadata"
    assert analyzer.analyse("敦煌和张掖分别怎么做？").intent == "comparison"
    assert analyzer.analyse("政务公开有哪些要求？").intent == "fact"


def test_traditional_question_is_normalised(analyzer):
    query = analyzer.analyse("內蒙古自治區行政復議有什麼要求？")
    assert "行政复议" in query.norm
    assert [t.sources for t in query.targets] == [("c.txt",)]


def test_targets_use_short_region_names(analyzer):
    query = analyzer.analyse("敦煌和张掖分别如何推进政务公开？")
    assert sorted(s for t in query.targets for s in t.sources) == ["a.txt", "b.txt"]


def test_places_are_read_through_the_gazetteer(analyzer):
    assert [p.name for p in analyzer.analyse("江苏省的法治政府建设目标是什么？").places] == ["江苏省"]
    assert [(p.name, p.level) for p in analyzer.analyse("酒泉的实施方案是什么？").places] == [("酒泉市", 2)]
    assert [p.name for p in analyzer.analyse("In Zhejiang, who handles lawsuits?").places] == ["浙江省"]


def test_english_questions_are_translated_through_the_dictionary(analyzer):
    english = analyzer.analyse("Who handles lawsuits against the government in Zhangye?")
    assert english.english and "诉讼" in english.tokens and "政府" in english.tokens
    assert [t.sources for t in english.targets] == [("a.txt",)]  # zhangye: the pinyin of a proper noun


def test_english_words_translate_only_to_words_the_index_knows(analyzer):
    english = analyzer.analyse("Which lawsuits concern spaceships?")
    translated = {w for words in english.expansions.values() for w in words}
    assert "诉讼" in translated
    assert all(corpus_idf(t) > 0 for w in translated for t in tokenize(w))


def test_key_terms_skip_question_words(analyzer):
    terms = [t.term for t in analyzer.analyse("张掖市政务公开的主要要求是什么？").key_terms]
    assert "政务" in terms or "政务公开" in terms
    assert not {"什么", "要求", "张掖市", "张掖"} & set(terms)


def test_question_vocabulary_is_not_a_key_term(analyzer):
    assert {"能否", "多久"} <= question_words()
    terms = [t.term for t in analyzer.analyse("行政复议申请能否撤回？多久办结？").key_terms]
    assert "复议" in terms or "行政复议" in terms
    assert not {"能否", "多久"} & set(terms)


@pytest.mark.parametrize(
    ("previous", "follow", "expected", "absent"),
    [
        ("敦煌市如何推进政务公开？", "那张掖市呢？", ["张掖", "政务公开"], ["敦煌"]),
        ("敦煌市如何推进政务公开？", "这项工作由哪些部门负责？", ["敦煌", "政务公开", "负责"], []),
        ("张掖市谁负责推进政务公开？", "截止时间是什么时候？", ["张掖", "政务公开", "时间"], ["谁负责"]),
        ("政务公开有哪些要求？", "那内蒙古呢？", ["内蒙古", "政务公开"], []),
    ],
)
def test_rule_condenser(analyzer, previous, follow, expected, absent):
    history = [{"role": "user", "content": previous}, {"role": "assistant", "content": "……"}]
    standalone = RuleCondenser(analyzer).condense(follow, history)
    for word in expected:
        assert word in standalone, standalone
    for word in absent:
        assert word not in standalone, standalone


def test_a_new_topic_does_not_inherit_the_previous_region(analyzer):
    history = [{"role": "user", "content": "张掖市如何推进政务公开？"}, {"role": "assistant", "content": "……"}]
    question = "政府办事能打分评价吗？"
    assert RuleCondenser(analyzer).condense(question, history) == question


def test_a_standalone_question_is_left_alone(analyzer):
    history = [{"role": "user", "content": "敦煌市如何推进政务公开？"}]
    question = "内蒙古自治区行政复议人员最少几人？"
    assert RuleCondenser(analyzer).condense(question, history) == question


def test_rrf_prefers_agreement():
    scores = rrf([["a", "b", "c"], ["b", "a", "d"]], [1.0, 1.0])
    assert max(scores, key=scores.get) in {"a", "b"}
    assert scores["a"] == pytest.approx(scores["b"])
    assert scores["c"] < scores["a"] and scores["d"] < scores["a"]


def test_a_turn_the_assistant_could_not_answer_sets_no_topic(analyzer):
    from assistant.answer import CANNOT_ANSWER

    history = [
        {"role": "user", "content": "敦煌市如何推进政务公开？"},
        {"role": "assistant", "content": "……"},
        {"role": "user", "content": "火星移民补贴标准是多少？"},
        {"role": "assistant", "content": CANNOT_ANSWER},
    ]
    standalone = RuleCondenser(analyzer).condense("这项工作由哪些部门负责？", history)
    assert "政务公开" in standalone and "火星" not in standalone


@pytest.mark.parametrize(
    ("question", "names"),
    [
        ("Under the Trust Law, who may act as the settlor?", ["Trust Law"]),
        ("Under Criminal Law Amendment (IV), what is the punishment?", ["Criminal Law Amendment (IV)"]),
        ("What fine applies under the Regulations on Certification and Accreditation?", ["Regulations on Certification and Accreditation"]),
        ("Under the State Science and Technology Awards Regulations, who issues certificates?", ["State Science and Technology Awards Regulations"]),
        ("What does the law say about the rule of law?", []),
    ],
)
def test_english_document_names(question: str, names: list[str]) -> None:
    assert document_names(question, Glossary.load().stopwords) == names


def test_an_english_question_glossing_its_terms_in_chinese_is_english(analyzer) -> None:
    assert is_english("Under the Trust Law, who may act as the settlor (委托人)?")
    assert not is_english("GDP增长多少？") and not is_english("合伙企业法第十条") and not is_english("123？")
    query = analyzer.analyse("Which lawsuits concern administrative review (行政复议)?")
    assert query.english and "行政复议" in [t.term for t in query.key_terms]
    assert any("诉讼" in words for words in query.expansions.values())


@pytest.mark.parametrize(
    ("question", "gives", "does_not_give"),
    [
        ("处罚决定作出后多少个工作日内要公示？", "决定作出之日起7个工作日内公示", "配备工作人员5个"),
        ("整改要在几个月内完成？", "3个月内完成整改", "设立3个工作组"),
        ("需要多少个部门参加？", "由5个部门组成", "30日内办结"),
        ("每年培训多少学时？", "不少于40学时", "40人参加"),
        # figures as the law writes them: Chinese numerals, percentages in words, periods for "how often"
        ("违法的罚款多少？", "处以五千元以上五万元以下的罚款", "依照本法第一条的规定"),
        ("超速达到多少会被扣证？", "超过规定时速百分之五十的", "统一管理，十分重要"),
        ("至少要有多少名警察？", "不得少于两人", "第十一次会议通过"),
        ("学校多长时间举行一次运动会？", "每学年举行一次全校性的运动会", "学校应当举行运动会"),
        ("用于基础研究的比例有什么要求？", "比例原则上不低于三分之一", "逐步提高投入水平"),
    ],
)
def test_a_figure_question_wants_a_figure_of_its_unit(question: str, gives: str, does_not_give: str) -> None:
    pattern = quantity_pattern(normalise(question))
    assert pattern is not None
    assert pattern.search(normalise(gives))
    assert not pattern.search(normalise(does_not_give))


@pytest.mark.parametrize(
    "question",
    ["我和几个朋友合伙开了一家店，我只能出力，这样也能算出资吗？", "兄弟几个轮流照顾老人，可以签协议吗？有人监督吗？"],
)
def test_a_wh_word_in_a_yes_no_question_asks_no_figure(question: str) -> None:
    assert quantity_pattern(normalise(question)) is None


def test_a_figure_asked_after_a_yes_no_question_is_still_asked() -> None:
    pattern = quantity_pattern(normalise("能申请重新评一次吗？学校多少天内给答复？"))
    assert pattern is not None and pattern.search("十五天内") and not pattern.search("重新评审")


def test_title_vectors_are_kept_so_a_restart_encodes_only_new_titles(tmp_path) -> None:
    class Counting(HashEmbedder):
        def __init__(self) -> None:
            super().__init__()
            self.encoded: list[str] = []

        def embed_documents(self, texts: list[str]) -> np.ndarray:
            self.encoded += texts
            return super().embed_documents(texts)

    metas = [DocumentMeta(source="a.md", title="中华人民共和国信托法"), DocumentMeta(source="b.md", title="合伙企业法")]
    cache, embedder = tmp_path / "titles-hash.npz", Counting()
    first = TitleMatcher(metas, embedder, 0.5, cache).vectors()
    assert sorted(embedder.encoded) == ["信托法", "合伙企业法"] and cache.is_file()
    embedder.encoded.clear()
    again = TitleMatcher(metas, embedder, 0.5, cache).vectors()
    assert embedder.encoded == [] and np.allclose(first, again)
    TitleMatcher([*metas, DocumentMeta(source="c.md", title="体育法")], embedder, 0.5, cache).vectors()
    assert embedder.encoded == ["体育法"]
    cache.write_bytes(b"damaged")  # a damaged cache is encoded again, not an error
    embedder.encoded.clear()
    TitleMatcher(metas, embedder, 0.5, cache).vectors()
    assert sorted(embedder.encoded) == ["信托法", "合伙企业法"]


def test_two_sentences_of_one_clause_are_quoted_in_the_clauses_order(analyzer) -> None:
    text = "第九条 各级政府应当推进政务公开。行政复议和行政诉讼案件由政府负责人出庭应诉。"
    clause = Clause(source="a.txt", label_path=("第九条",), text=text, start=0, end=len(text))
    query = analyzer.analyse("行政诉讼出庭应诉和政务公开有什么要求？")
    weights = {t.term: corpus_idf(t.term) or 1.0 for t in query.key_terms}
    hit = Hit(clause=clause, meta=METAS[0], score=1.0, coverage=1.0)
    answer = ExtractiveAnswerer().answer(query, [hit], weights)
    assert "政务公开" in answer.text and "出庭应诉" in answer.text
    assert answer.text.index("政务公开") < answer.text.index("出庭应诉")  # as the clause has them


def test_asked_who_the_answer_names_the_one_the_clause_says_leads(analyzer) -> None:
    """The leading unit written as a sentence of its own (not a （牵头单位：…） note) is quoted beside the task."""
    text = "1.全面实行政府权责清单制度，市、县两级政府部门于每年6月30日前完成权责清单年度动态调整。由市委编办牵头负责。"
    clause = Clause(source="a.txt", label_path=("二", "（一）", "1"), text=text, start=0, end=len(text))
    query = analyzer.analyse("权责清单年度动态调整这项工作由谁牵头？")
    assert query.intent == "responsibility" and not clause.responsible
    weights = {t.term: corpus_idf(t.term) or 1.0 for t in query.key_terms}
    hit = Hit(clause=clause, meta=METAS[0], score=1.0, coverage=1.0)
    answer = ExtractiveAnswerer().answer(query, [hit], weights)
    assert "市委编办" in answer.text and "权责清单" in answer.text


def test_asked_by_when_a_table_row_answers_with_its_own_deadline_field(analyzer) -> None:
    text = "乡镇（街道）便民服务中心帮办代办服务全覆盖"
    clause = Clause(source="a.docx", label_path=("表1", "第4项"), text=text, start=0, end=len(text),
                    deadlines=("2024年10月底前",), fields=(("工作任务", text), ("完成时限", "2024年10月底前")))
    query = analyzer.analyse("便民服务中心的帮办代办服务要在什么时候之前实现全覆盖？")
    assert query.intent == "deadline"
    weights = {t.term: corpus_idf(t.term) or 1.0 for t in query.key_terms}
    answer = ExtractiveAnswerer().answer(query, [Hit(clause=clause, meta=METAS[0], score=1.0, coverage=1.0)], weights)
    assert "完成时限：2024年10月底前" in answer.text and "帮办代办" in answer.text


def test_a_line_of_the_history_is_cited_where_the_document_says_it(analyzer) -> None:
    """An order's promulgating sentence gives the adoption line: the answer cites that record, not the header."""
    meta = DocumentMeta(source="a.txt", title="张掖市法治政府建设实施方案", doc_number="张掖市人民政府令第1号",
                        history=("2023年11月20日市政府第37次常务会议审议通过", "2023年12月5日张掖市人民政府令第1号公布"))
    header = Clause(source="a.txt", label_path=("文件头",), text="张掖市人民政府令", start=0, end=8, kind="header")
    said = "第1号 《张掖市法治政府建设实施方案》已经2023年11月20日市政府第37次常务会议审议通过，现予公布。"
    preamble = Clause(source="a.txt", label_path=("引言",), text=said, start=9, end=9 + len(said), kind="preamble")
    from dataclasses import replace

    query = replace(analyzer.analyse("《张掖市法治政府建设实施方案》是哪天审议通过的？"), intent="metadata")
    hits = [Hit(clause=c, meta=meta, score=1.0, coverage=1.0) for c in (header, preamble)]
    answer = ExtractiveAnswerer().answer(query, hits, {})
    assert "2023年11月20日市政府第37次常务会议审议通过" in answer.text
    assert [c.clause for c in answer.citations][-1] == "引言"


def test_the_answer_quotes_as_much_as_its_lengths_allow(analyzer, tmp_path) -> None:
    from assistant.answer import Lengths

    text = ("第九条 各级政府应当推进政务公开，完善政府信息发布制度，扩大公开范围，" "细化公开内容，提高公开质量，"
            "政府负责人应当依法出庭应诉。行政复议和行政诉讼案件由政府负责人出庭应诉。")
    clause = Clause(source="a.txt", label_path=("第九条",), text=text, start=0, end=len(text))
    query = analyzer.analyse("行政诉讼出庭应诉和政务公开有什么要求？")
    weights = {t.term: corpus_idf(t.term) or 1.0 for t in query.key_terms}
    hit = Hit(clause=clause, meta=METAS[0], score=1.0, coverage=1.0)
    one = ExtractiveAnswerer(lengths=Lengths(sentence_chars=30, sentences=1)).answer(query, [hit], weights)
    more = ExtractiveAnswerer(lengths=Lengths(sentence_chars=200, sentences=2)).answer(query, [hit], weights)
    assert "…" in one.text and "…" not in more.text  # the long sentence cut to its best run, or whole
    assert len(one.text) < len(more.text)
    path = tmp_path / "lengths.json"
    path.write_text('{"sentence_chars": 30, "list_chars": 90, "sentences": 1, "provenance": {}}', encoding="utf-8")
    assert Lengths.load(path) == Lengths(30, 90, 1)


def test_character_pairs_of_a_normalised_text_skip_what_is_not_a_letter_or_digit() -> None:
    import random

    from assistant.text import char_pairs, pairs_of

    rng = random.Random(7)
    text = "".join(chr(rng.randint(32, 0x9FFF)) for _ in range(3000))
    letters = "".join(ch for ch in text if ch.isalnum())
    assert pairs_of(text) == {letters[i:i + 2] for i in range(len(letters) - 1)}
    assert pairs_of("第_三十,条 a1") == {"第三", "三十", "十条", "条a", "a1"}
    assert char_pairs("機動車") == pairs_of(normalise("機動車")) == {"机动", "动车"}


def test_a_ranker_that_weighs_vectors_quotes_the_sentence_nearest_the_question(analyzer) -> None:
    """With weight on the dense features the candidates are encoded and the nearest sentence wins; the hand-set
    ranker (no such weight) never encodes them."""
    from assistant.answer.extractive import DENSE_FEATURES, SENTENCE_FEATURES, SentenceRanker

    class Marked:
        """A vector of one direction for texts holding 罚款 (and for the question), another for the rest."""

        name = "marked"

        def __init__(self) -> None:
            self.encoded: list[str] = []

        def embed_documents(self, texts: list[str]) -> np.ndarray:
            self.encoded += texts
            return np.array([[1.0, 0.0] if "罚款" in t else [0.0, 1.0] for t in texts])

        def embed_query(self, text: str) -> np.ndarray:
            return np.array([1.0, 0.0])

    text = "第九条 经营者应当遵守本条例的规定。违反本条例的经营者，处五千元罚款。"
    clause = Clause(source="a.txt", label_path=("第九条",), text=text, start=0, end=len(text))
    query = analyzer.analyse("经营者应当遵守本条例的哪些规定？")
    weights = {t.term: corpus_idf(t.term) or 1.0 for t in query.key_terms}
    hit = Hit(clause=clause, meta=METAS[0], score=1.0, coverage=1.0)
    dense = SentenceRanker(tuple(1.0 if name == "similarity" else 0.0 for name in SENTENCE_FEATURES), 0.0)
    embedder = Marked()
    answer = ExtractiveAnswerer(ranker=dense, embedder=embedder).answer(query, [hit], weights)
    assert "罚款" in answer.text and "遵守" not in answer.text
    assert len(embedder.encoded) == 2 and dense.reads_vectors and len(DENSE_FEATURES) == 4
    hand = Marked()
    plain = ExtractiveAnswerer(ranker=SentenceRanker(), embedder=hand).answer(query, [hit], weights)
    assert "遵守" in plain.text and hand.encoded == []
