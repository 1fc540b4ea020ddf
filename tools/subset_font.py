"""Build the CJK font shipped with taxcredit's charts (run once; the output is committed).

A subset of Droid Sans Fallback (Apache-2.0; Debian package ``fonts-droid-fallback``):
ASCII, CJK punctuation, the 3,755 characters of GB 2312 level 1 (the common hanzi, enough for
most enterprise names) and every character of taxcredit's own Chinese labels — renamed so
it never shadows an installed font.

    apt-get download fonts-droid-fallback && dpkg-deb -x fonts-droid-fallback_*.deb droid
    python tools/subset_font.py droid/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

OUT = Path(__file__).resolve().parents[1] / "taxcredit" / "profile" / "fonts"
FAMILY = "Taxcredit CJK"


def gb2312_level1() -> str:
    """Return the 3,755 hanzi of GB 2312 level 1."""
    chars = []
    for hi in range(0xB0, 0xD8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.append(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return "".join(chars)


def own_labels() -> str:
    """Return every Chinese character of taxcredit's labels and charts."""
    sys.path.insert(0, str(OUT.parents[2]))
    from taxcredit.features import DIMENSIONS, FEATURES
    from taxcredit.profile import chart

    text = "".join(f.zh for f in FEATURES) + "".join(z for z, _ in DIMENSIONS.values())
    return text + "".join(chart.ZH_STRINGS)


def main(source: str) -> None:
    """Subset ``source`` into taxcredit/profile/fonts/TaxcreditCJK.ttf."""
    ascii_ = "".join(chr(c) for c in range(0x20, 0x7F))
    punct = "，。、；：？！“”‘’（）《》【】—…·％＋－×÷￥≤≥〇"
    text = ascii_ + punct + gb2312_level1() + own_labels()
    font = TTFont(source)
    options = subset.Options()
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6]
    options.notdef_outline = True
    sub = subset.Subsetter(options)
    sub.populate(text=text)
    sub.subset(font)
    for rec in font["name"].names:
        if rec.nameID in (1, 4, 16):
            rec.string = FAMILY
        elif rec.nameID == 6:
            rec.string = FAMILY.replace(" ", "")
        elif rec.nameID == 3:
            rec.string = f"{FAMILY}; subset of Droid Sans Fallback"
    OUT.mkdir(parents=True, exist_ok=True)
    font.save(OUT / "TaxcreditCJK.ttf")
    print(f"{len(set(text))} characters → {OUT / 'TaxcreditCJK.ttf'} "
          f"({(OUT / 'TaxcreditCJK.ttf').stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main(sys.argv[1])
