"""Text normalisation shared by indexing, querying and evaluation: script, width, tokens, sentences."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import jieba
import opencc

jieba.setLogLevel(60)

CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RE = re.compile(f"[{CJK}]")
_PUNCT_SPACE_RE = re.compile(r"[\s\W_]+", re.UNICODE)
SENTENCE_END = "。！？；!?;"
_SENTENCE_RE = re.compile(r"[^。！？；!?;\n]*(?:[。！？；!?;]+[”」』）)]*|\n|$)")
STOPWORDS = frozenset(
    ["的", "了", "和", "与", "及", "或", "在", "是", "为", "对", "把", "被", "由", "从", "向", "以", "于", "等", "中", "上", "下", "这", "那", "哪", "什么", "怎么", "怎样", "如何", "哪些", "哪个", "吗", "呢", "吧", "啊", "有", "有没有", "有关", "关于", "要求", "提出", "规定", "进行", "相关", "一个", "一些", "可以", "能", "会", "应", "应当", "需要", "要", "请问", "请", "问", "我", "我们", "你", "你们", "他们", "它", "其", "该", "此", "之", "所", "就", "都", "也", "还", "又", "并", "而", "及其", "以及", "方面", "哪里", "多少", "几", "个", "年", "月", "日", "时候", "文件", "文中", "里", "说", "讲", "做", "呢", "么", "么样", "是否", "是不是", "可", "如果", "那么", "这个", "那个", "这些", "那些", "这项", "该项", "一下", "具体", "主要", "内容", "情况", "工作", "方面", "怎么办", "谁", "？", "?"]
)


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _s2t() -> opencc.OpenCC:
    return opencc.OpenCC("s2t")


def to_simplified(text: str) -> str:
    return _t2s().convert(text)


def to_traditional(text: str) -> str:
    return _s2t().convert(text)


_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {ord(ch): " " for ch in "\u3000\u00a0\u2002\u2003\u2009"}


def fold_width(text: str) -> str:
    """Full-width ASCII forms and ideographic spaces to half-width; CJK punctuation kept."""
    return text.translate(_WIDTH)


def normalise(text: str) -> str:
    """Search form of a text: Simplified script, half-width, lower case."""
    return fold_width(to_simplified(text)).lower()


_NOT_ALNUM_RE = re.compile(r"[\W_]+")
r"""What is not a letter or digit (``str.isalnum``): ``\w`` is those and the underscore."""


def char_pairs(text: str) -> set[str]:
    """The distinct character pairs of a text's letters and digits, normalised (punctuation and spaces dropped)."""
    return pairs_of(normalise(text))


def pairs_of(norm: str) -> set[str]:
    """:func:`char_pairs` of a text already normalised (no second pass through the script converter)."""
    chars = _NOT_ALNUM_RE.sub("", norm)
    return {chars[i:i + 2] for i in range(len(chars) - 1)}


def bigram_share(question: str, text: str) -> float:
    """The share of the question's distinct character pairs (letters and digits, normalised) the text holds: a
    match that needs no segmentation, so partial words and words jieba splits differently still count."""
    asked = char_pairs(question)
    return len(asked & char_pairs(text)) / len(asked) if asked else 0.0


def match_key(text: str) -> str:
    """Comparison form used by evaluation: normalised, without whitespace or punctuation."""
    return _PUNCT_SPACE_RE.sub("", normalise(unicodedata.normalize("NFKC", text)))


def is_traditional(text: str) -> bool:
    """True when converting to Simplified changes a noticeable share of the characters."""
    sample = "".join(_CJK_RE.findall(text))[:4000]
    if not sample:
        return False
    changed = sum(a != b for a, b in zip(sample, to_simplified(sample), strict=False))
    return changed / len(sample) > 0.03


def in_script(text: str, script: str) -> str:
    """Render our own (Simplified) wording in a document's script."""
    return to_traditional(text) if script == "traditional" else text


def has_cjk(text: str) -> bool:
    return bool(_CJK_RE.search(text))


_LATIN_WORD_RE = re.compile(r"[A-Za-z]+(?:['’-][A-Za-z]+)*")
_CJK_RUN_RE = re.compile(f"[{CJK}]+")


def is_english(text: str) -> bool:
    """Whether a text is written in English: more of its words are English than Chinese (a Chinese run counts
    the words jieba cuts it into), so a question glossing its terms in Chinese (``the settlor (委托人)``) is
    English and one naming an acronym (``GDP增长多少``) is not."""
    latin = len(_LATIN_WORD_RE.findall(text))
    if not latin:
        return False
    return latin > sum(len(jieba.lcut(run, HMM=False)) for run in _CJK_RUN_RE.findall(text))


def tokenize(text: str, *, normalised: bool = False) -> list[str]:
    """Search tokens (jieba search mode) of the Simplified form, stop words and punctuation removed."""
    norm = text if normalised else normalise(text)
    tokens = []
    for tok in jieba.lcut_for_search(norm):
        tok = tok.strip()
        if not tok or tok in STOPWORDS or not any(ch.isalnum() for ch in tok):
            continue
        tokens.append(tok)
    return tokens


@lru_cache(maxsize=1)
def tokenizer_version() -> str:
    """Changes whenever ``tokenize`` may segment a text differently (jieba version or dictionary, stop words)."""
    import hashlib

    jieba.dt.check_initialized()
    digest = hashlib.blake2b(digest_size=8)
    digest.update(f"{jieba.__version__}|{sorted(STOPWORDS)}|{len(jieba.dt.FREQ)}|{jieba.dt.total}".encode())
    return digest.hexdigest()


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` of a text, split after 。！？； and line breaks."""
    spans = []
    for m in _SENTENCE_RE.finditer(text):
        start, end = m.start(), m.end()
        while start < end and text[start].isspace():
            start += 1
        stripped_end = end
        while stripped_end > start and text[stripped_end - 1].isspace():
            stripped_end -= 1
        if stripped_end > start:
            spans.append((start, stripped_end))
    return spans


def cn_number(text: str) -> int:
    """Value of a Chinese numeral below 10000 (``一千一百六十四`` → 1164, ``十二`` → 12)."""
    units = {"十": 10, "百": 100, "千": 1000}
    total = current = 0
    for ch in text:
        if ch in units:
            total += (current or 1) * units[ch]
            current = 0
        else:
            current = "零一二三四五六七八九".find(ch) if ch != "〇" else 0
    return total + max(current, 0)


IN_FORCE_RE = re.compile(
    r"(?:^|[。；\n])\s*(?:第[^条\n]{1,8}条|[一二三四五六七八九十百零〇]{1,5}、|[（(][一二三四五六七八九十百零〇]{1,5}[）)])?\s*(?:本|此)[\u4e00-\u9fff]{0,16}?自([^。；，\n]{2,30}?)起?(?:施行|实施|實施|生效|执行|執行)"
)
"""A document's own in-force sentence (``第十六条 本法自公布之日起施行``, ``九、本修正案自…起施行``); group 1: when."""
