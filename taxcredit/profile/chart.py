"""Radar charts of profiles: one enterprise against its peer median, or several side by side.

Chinese labels need a font with CJK glyphs. taxcredit ships one (a subset of Droid Sans
Fallback, Apache-2.0: ASCII, the 3,755 common hanzi of GB 2312 level 1 and every character of
its own labels); an installed CJK font is used for text the subset lacks. When no font has
every character, the chart falls back to English labels with a warning. Identifiers in
titles are masked (``9131…1234``) unless told otherwise.

matplotlib is an optional dependency: ``pip install 'taxcredit[plot]'``.
"""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.ids import mask_uscc
from ..features import DIMENSIONS

__all__ = ["ZH_STRINGS", "cjk_font", "compare", "radar", "save"]

FONT_FILE = Path(__file__).with_name("fonts") / "TaxcreditCJK.ttf"
#: Installed fonts tried (in order) for characters the shipped subset lacks.
SYSTEM_CJK = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
              "WenQuanYi Zen Hei", "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC",
              "Droid Sans Fallback", "AR PL UMing CN")
_TEXT = {"zh": {"self": "本企业", "peer": "同行中位数", "title": "企业画像",
                "compare": "多维度画像对比", "score": "画像得分"},
         "en": {"self": "This enterprise", "peer": "Peer median", "title": "Enterprise profile",
                "compare": "Profiles compared", "score": "profile score"}}
#: Every Chinese string the charts draw (the shipped font covers these).
ZH_STRINGS = tuple(_TEXT["zh"].values())


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is in the dev extra
        raise ImportError("profile charts need matplotlib: pip install 'taxcredit[plot]'") \
            from exc
    return plt


@cache
def _font_chars(path: str) -> frozenset[int]:
    from matplotlib.ft2font import FT2Font

    return frozenset(FT2Font(path).get_charmap())


def cjk_font(text: str = ""):
    """Find a matplotlib ``FontProperties`` with a glyph for every character of ``text``.

    Latin from matplotlib's DejaVu Sans, Chinese from the shipped subset or, for characters
    it lacks, an installed CJK font (:data:`SYSTEM_CJK`), through matplotlib's font
    fallback. The shipped font is registered with matplotlib's font manager on first use.
    ``None`` when no combination has every character.
    """
    from matplotlib import font_manager

    latin = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"))
    need = {ord(c) for c in text if not c.isspace()} - _font_chars(latin)
    candidates = []
    if FONT_FILE.is_file():
        candidates.append(str(FONT_FILE))
    for name in SYSTEM_CJK:
        try:
            candidates.append(font_manager.findfont(font_manager.FontProperties(family=name),
                                                    fallback_to_default=False))
        except ValueError:
            continue
    for path in candidates:
        if need <= _font_chars(path):
            return font_manager.FontProperties(family=["DejaVu Sans", _register(path)])
    return None


@cache
def _register(path: str) -> str:
    """Make a font file known to matplotlib by family name; return the name."""
    from matplotlib import font_manager

    if path == str(FONT_FILE):
        font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path).get_name()


def _labels(lang: str, extra: str = "") -> tuple[str, object]:
    """Choose the language actually drawn and its font (falls back to English, with a warning)."""
    if lang not in _TEXT:
        raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
    if lang == "en":
        return "en", None
    text = "".join(ZH_STRINGS) + "".join(z for z, _ in DIMENSIONS.values()) + extra
    font = cjk_font(text)
    if font is None:
        warnings.warn("no font with Chinese glyphs for these labels (the shipped one lacks "
                      "some characters and no CJK font is installed): drawing English labels; "
                      "install e.g. fonts-noto-cjk", UserWarning, stacklevel=3)
        return "en", None
    return "zh", font


def _sized(font, size: float):
    if font is None:
        return {"size": size}
    font = font.copy()
    font.set_size(size)
    return font


def _scores(row: pd.Series, prefix: str) -> np.ndarray:
    return np.array([float(row.get(f"{prefix}{d}", np.nan)) for d in DIMENSIONS])


def _axes(ax, lang: str, font):
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 5.2), subplot_kw={"projection": "polar"})
    elif getattr(ax, "name", "") != "polar":
        raise ValueError("ax must be a polar Axes: plt.subplots(subplot_kw={'projection': "
                         "'polar'})")
    angles = np.linspace(0, 2 * np.pi, len(DIMENSIONS), endpoint=False)
    names = [z if lang == "zh" else e for z, e in DIMENSIONS.values()]
    ax.set_theta_offset(np.pi / 2)
    ax.set_theta_direction(-1)
    ax.set_xticks(angles)
    ax.set_xticklabels(names, fontproperties=_sized(font, 10))
    ax.tick_params(axis="x", pad=6)
    ax.set_ylim(0, 100)
    ax.set_yticks([25, 50, 75, 100])
    ax.set_yticklabels(["25", "50", "75", "100"], fontsize=7, color="0.45")
    return ax, angles


def _draw(ax, angles, values, label, **style):
    ok = ~np.isnan(values)  # a dimension with no data is drawn at 0 and marked ×
    closed_a = np.r_[angles, angles[:1]]
    closed_v = np.r_[np.where(ok, values, 0.0), values[:1] if ok[0] else 0.0]
    line = ax.plot(closed_a, closed_v, label=label, **style)[0]
    ax.fill(closed_a, closed_v, alpha=0.12, color=line.get_color())
    ax.scatter(angles[~ok], np.zeros((~ok).sum()), marker="x", color=line.get_color())
    return line


def _name(row: pd.Series, mask: bool) -> str:
    key = row.name
    uscc = key[0] if isinstance(key, tuple) else key
    if isinstance(uscc, str) and mask:
        return str(mask_uscc(uscc))
    return str(uscc)


def radar(profile: pd.Series, *, lang: str = "zh", peer: bool = True, ax=None,
          title: str | None = None, mask: bool = True):
    """Radar chart of one enterprise's dimension scores against its peer median.

    Parameters
    ----------
    profile : Series
        One row of :func:`taxcredit.build_profiles` (``score_<dimension>`` and, for the
        peer outline, ``peer_<dimension>``); its name (the uscc, or (uscc, as_of)) titles
        the chart.
    lang : {"zh", "en"}
    peer : bool
        Draw the peer median.
    ax : matplotlib polar Axes, optional
    title : str, optional
    mask : bool, default True
        Mask the enterprise's USCC in the title.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if isinstance(profile, pd.DataFrame):
        if len(profile) != 1:
            raise ValueError(f"radar draws one enterprise; got {len(profile)} rows (use "
                             "compare() for several)")
        profile = profile.iloc[0]
    scores = _scores(profile, "score_")
    if np.isnan(scores).all():
        raise ValueError("the profile has no dimension scores (score_<dimension> columns)")
    lang, font = _labels(lang, title or "")
    text = _TEXT[lang]
    ax, angles = _axes(ax, lang, font)
    if peer:
        medians = _scores(profile, "peer_")
        if not np.isnan(medians).all():
            _draw(ax, angles, medians, text["peer"], color="0.55", linestyle="--",
                  linewidth=1.2)
    _draw(ax, angles, scores, text["self"], color="#c0392b", linewidth=2)
    overall = profile.get("profile_score", np.nan)
    head = title or f"{text['title']} {_name(profile, mask)}"
    if pd.notna(overall):
        head += f"\n{text['score']} {float(overall):.0f}"
    ax.set_title(head, fontproperties=font, fontsize=11, pad=18)
    ax.legend(loc="upper right", bbox_to_anchor=(1.28, 1.1), prop=_sized(font, 8),
              frameon=False)
    return ax


def compare(profiles: pd.DataFrame, *, labels=None, lang: str = "zh", ax=None,
            title: str | None = None, mask: bool = True, max_enterprises: int = 8):
    """Several enterprises' dimension scores on one radar.

    Parameters
    ----------
    profiles : DataFrame
        Rows of :func:`taxcredit.build_profiles` (at most ``max_enterprises``).
    labels : list of str, optional
        Legend entries (default: the masked USCCs).
    lang : {"zh", "en"}
    ax : matplotlib polar Axes, optional
    title : str, optional
    mask : bool, default True
    max_enterprises : int, default 8
        More outlines than this are unreadable; select rows first.
    """
    if not 1 <= len(profiles) <= max_enterprises:
        raise ValueError(f"compare draws 1 to {max_enterprises} enterprises; got "
                         f"{len(profiles)} rows")
    labels = list(labels) if labels is not None else \
        [_name(row, mask) for _, row in profiles.iterrows()]
    if len(labels) != len(profiles):
        raise ValueError(f"{len(labels)} labels for {len(profiles)} enterprises")
    lang, font = _labels(lang, (title or "") + "".join(labels))
    ax, angles = _axes(ax, lang, font)
    for (_, row), label in zip(profiles.iterrows(), labels, strict=True):
        _draw(ax, angles, _scores(row, "score_"), label, linewidth=1.6)
    ax.set_title(title or _TEXT[lang]["compare"], fontproperties=font, fontsize=11, pad=18)
    ax.legend(loc="upper right", bbox_to_anchor=(1.35, 1.1), prop=_sized(font, 8),
              frameon=False)
    return ax


def save(ax, path, *, dpi: int = 150) -> Path:
    """Save the chart's figure (PNG, SVG or PDF by suffix) and close it."""
    plt = _pyplot()
    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise ValueError(f"{path}: save charts as .png, .svg or .pdf")
    fig = ax.figure
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path
