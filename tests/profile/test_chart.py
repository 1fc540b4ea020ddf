"""Radar charts: Chinese renders with the shipped font, English fallback warns, PNGs are real."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pytest

import taxcredit as tc
from taxcredit.features import DIMENSIONS, FEATURES
from taxcredit.profile import chart

matplotlib.use("Agg")
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def profiles():
    ds = tc.datasets.make_population(n_enterprises=1_500, months=36, seed=51)
    return tc.build_profiles(ds, "2025-03-31")


def test_shipped_font_has_every_chinese_label():
    from matplotlib.ft2font import FT2Font

    have = set(FT2Font(str(chart.FONT_FILE)).get_charmap())
    text = "".join(f.zh for f in FEATURES) + "".join(z for z, _ in DIMENSIONS.values()) + \
        "".join(chart.ZH_STRINGS)
    missing = sorted({c for c in text if ord(c) > 0x7F and ord(c) not in have})
    assert not missing, f"rebuild the font (tools/subset_font.py): {missing}"


def test_radar_in_chinese_draws_without_missing_glyphs(profiles, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns on every missing glyph
        ax = chart.radar(profiles.iloc[0])
        labels = [t.get_text() for t in ax.get_xticklabels()]
        assert labels == [z for z, _ in DIMENSIONS.values()]
        assert "*" in ax.get_title()  # the USCC is masked
        path = chart.save(ax, tmp_path / "one.png")
    assert path.read_bytes()[:8] == PNG and path.stat().st_size > 10_000
    lines = ax.get_lines()
    assert len(lines) == 2  # the enterprise and its peer median
    own = lines[1].get_ydata()[:-1]
    want = profiles.iloc[0][[f"score_{d}" for d in DIMENSIONS]].to_numpy(dtype=float)
    np.testing.assert_allclose(own, np.nan_to_num(want))


def test_compare_several_enterprises_with_chinese_names(profiles, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = chart.compare(profiles.iloc[:3], labels=["甲科技有限公司", "乙商贸", "丙制造"])
        path = chart.save(ax, tmp_path / "three.svg")
    assert path.read_text(encoding="utf-8").lstrip().startswith("<?xml")
    with pytest.raises(ValueError, match="1 to 8"):
        chart.compare(profiles.iloc[:9])
    with pytest.raises(ValueError, match="2 labels for 3"):
        chart.compare(profiles.iloc[:3], labels=["a", "b"])


def test_no_font_for_the_text_falls_back_to_english_with_a_warning(profiles, monkeypatch):
    rare = "𪚥"  # CJK extension B: in no font here
    with pytest.warns(UserWarning, match="English labels"):
        ax = chart.radar(profiles.iloc[0], title=f"企业{rare}")
    assert [t.get_text() for t in ax.get_xticklabels()] == [e for _, e in DIMENSIONS.values()]
    monkeypatch.setattr(chart, "FONT_FILE", chart.FONT_FILE.with_name("absent.ttf"))
    monkeypatch.setattr(chart, "SYSTEM_CJK", ())
    with pytest.warns(UserWarning, match="English labels"):
        chart.radar(profiles.iloc[1])


def test_bad_chart_requests(profiles, tmp_path):
    import matplotlib.pyplot as plt

    _, flat = plt.subplots()
    with pytest.raises(ValueError, match="polar"):
        chart.radar(profiles.iloc[0], ax=flat)
    with pytest.raises(ValueError, match="one enterprise"):
        chart.radar(profiles.iloc[:2])
    with pytest.raises(ValueError, match="no dimension scores"):
        chart.radar(profiles.iloc[0].drop([f"score_{d}" for d in DIMENSIONS]))
    with pytest.raises(ValueError, match=r"\.png"):
        chart.save(chart.radar(profiles.iloc[0], lang="en"), tmp_path / "x.gif")
    plt.close("all")
