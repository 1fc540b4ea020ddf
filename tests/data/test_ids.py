"""Tests of taxcredit.data.ids (USCC, organisation codes, resident IDs, masking, generation).

Golden values come from the standards (GB 32100-2015, GB 11714, GB 11643, JR/T 0171) and from
real public codes; the reference check-character functions below are plain loops written
here, independently of the module.
"""

from __future__ import annotations

import datetime
import math
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taxcredit.data.ids import (
    DEFAULT_REGION_CODES,
    USCC_CHARSET,
    build_uscc,
    classify_taxpayer_id,
    describe_uscc,
    generate_uscc,
    is_valid_org_code,
    is_valid_resident_id,
    is_valid_uscc,
    mask_name,
    mask_phone,
    mask_resident_id,
    mask_uscc,
    mask_uscc_array,
    normalize_uscc,
    uscc_check_char,
    uscc_valid_mask,
    validate_uscc,
)

# ---------------------------------------------------------------------------------------------
# Independent reference implementations (plain loops, straight from the standards)
# ---------------------------------------------------------------------------------------------

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015: no I, O, Z, S, V
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]
RID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def ref_check31(first17: str) -> str:
    total = 0
    for i in range(17):
        total += CHARSET.index(first17[i]) * USCC_WEIGHTS[i]
    return CHARSET[(31 - total % 31) % 31]


def ref_org_check(body8: str) -> str:
    total = 0
    for i in range(8):
        ch = body8[i]
        value = ord(ch) - ord("0") if "0" <= ch <= "9" else ord(ch) - ord("A") + 10
        total += value * ORG_WEIGHTS[i]
    c = 11 - total % 11
    if c == 10:
        return "X"
    if c == 11:
        return "0"
    return str(c)


def ref_rid_check(first17: str) -> str:
    total = 0
    for i in range(17):
        total += int(first17[i]) * RID_WEIGHTS[i]
    return "10X98765432"[total % 11]


def make_uscc(prefix16: str) -> str:
    """Complete 16 characters with the GB 11714 and mod-31 check characters (reference)."""
    first17 = prefix16 + ref_org_check(prefix16[8:16])
    return first17 + ref_check31(first17)


def org_check_broken(code: str, wrong: str) -> str:
    """`code` with position 17 replaced by `wrong` and the mod-31 check recomputed."""
    first17 = code[:16] + wrong
    return first17 + ref_check31(first17)


# Real, public codes that pass both checks.
REAL_VALID = [
    "91110108551385082Q",
    "91110000600037341L",
    "91310110666007217T",
    "91350100M000100Y43",
]
# A real early pilot code (Fujian) that fails the mod-31 check.
PILOT = "91350100M0001TGQXM"
RESIDENT_ID = "11010519491231002X"  # GB 11643 example


# ---------------------------------------------------------------------------------------------
# Reference sanity: the tables in this file agree with the standards' formulas
# ---------------------------------------------------------------------------------------------


def test_reference_tables_follow_the_standard_formulas():
    assert [pow(3, i, 31) for i in range(17)] == USCC_WEIGHTS
    assert len(CHARSET) == 31 and not set("IOZSV") & set(CHARSET)
    assert USCC_CHARSET == CHARSET
    # Weights are units mod 31 (31 is prime), the basis of the single-error detection test.
    assert all(math.gcd(w, 31) == 1 for w in USCC_WEIGHTS)


def test_hand_computed_check_char():
    # 91110108551385082 -> values 9,1,1,1,0,1,0,8,5,5,1,3,8,5,0,8,2
    # sum(v*w) = 9+3+9+27+0+26+0+136+100+145+25+39+64+120+0+240+56 = 999
    # 999 mod 31 = 7 -> (31 - 7) mod 31 = 24 -> CHARSET[24] = 'Q'
    values = [CHARSET.index(c) for c in "91110108551385082"]
    assert sum(v * w for v, w in zip(values, USCC_WEIGHTS, strict=True)) == 999
    assert CHARSET[24] == "Q"
    assert ref_check31("91110108551385082") == "Q"
    assert uscc_check_char("91110108551385082") == "Q"


@pytest.mark.parametrize("code", REAL_VALID)
def test_reference_functions_accept_real_codes(code):
    assert ref_check31(code[:17]) == code[17]
    assert ref_org_check(code[8:16]) == code[16]


# ---------------------------------------------------------------------------------------------
# USCC: scalar checks
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", REAL_VALID)
def test_real_codes_are_valid(code):
    assert uscc_check_char(code[:17]) == code[17]
    assert is_valid_uscc(code)
    assert is_valid_uscc(code, strict=False)
    assert validate_uscc(code) == code
    assert classify_taxpayer_id(code) == "uscc"
    assert is_valid_org_code(code[8:17])


def test_pilot_code_fails_strict_passes_lenient():
    assert ref_check31(PILOT[:17]) != PILOT[17]  # fails mod 31 by the reference loop
    assert not is_valid_uscc(PILOT)
    assert is_valid_uscc(PILOT, strict=False)
    assert classify_taxpayer_id(PILOT) == "uscc_lenient"
    assert validate_uscc(PILOT, strict=False) == PILOT
    with pytest.raises(ValueError, match="mod-31"):
        validate_uscc(PILOT)
    assert uscc_valid_mask([PILOT]).tolist() == [False]
    assert uscc_valid_mask([PILOT], strict=False).tolist() == [True]


def test_pilot_code_description_reports_failed_check():
    d = describe_uscc(PILOT)
    assert d["mod31_check_ok"] is False
    assert d["org_code_check_ok"] is (ref_org_check(PILOT[8:16]) == PILOT[16])
    assert d["valid_strict"] is False


def test_single_character_substitutions_are_all_detected():
    code = REAL_VALID[0]
    n_checked = 0
    for pos in range(17):
        for ch in CHARSET:
            if ch == code[pos]:
                continue
            mutated17 = code[:pos] + ch + code[pos + 1 : 17]
            # The mod-31 check alone detects it: (v' - v) * w_pos != 0 mod 31.
            assert uscc_check_char(mutated17) != code[17], (pos, ch)
            assert ref_check31(mutated17) != code[17]
            assert not is_valid_uscc(mutated17 + code[17])
            n_checked += 1
    for ch in CHARSET:  # the check character itself
        if ch != code[17]:
            assert not is_valid_uscc(code[:17] + ch)
            n_checked += 1
    assert n_checked == 18 * 30


def test_single_substitutions_detected_on_generated_codes():
    rng = np.random.default_rng(7)
    for code in generate_uscc(rng, 30):
        for pos in range(18):
            for ch in CHARSET:
                if ch != code[pos]:
                    assert not is_valid_uscc(code[:pos] + ch + code[pos + 1 :])


def test_adjacent_transpositions_are_all_detected():
    # Swapping different values a, b at positions i, i+1 (i < 16) changes the weighted sum by
    # (a - b) * (w_i - w_{i+1}) = (a - b) * 3**i * (1 - 3) mod 31, never 0 as 31 is prime.
    # Swapping position 17 with the check character is detected unless w_16 = 28 were 1 mod 31.
    # So the mod-31 check alone catches every adjacent transposition of different characters.
    codes = [*REAL_VALID, *generate_uscc(np.random.default_rng(3), 200)]
    n_swaps = 0
    for code in codes:
        for i in range(17):
            if code[i] == code[i + 1]:
                continue
            swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
            assert ref_check31(swapped[:17]) != swapped[17], (code, i)
            assert not is_valid_uscc(swapped), (code, i)
            n_swaps += 1
    assert n_swaps > 3000


def test_is_valid_uscc_rejects_non_strings_and_inexact_input():
    code = REAL_VALID[0]
    for value in [None, float("nan"), pd.NA, 911101085513850820, code.encode(), [code]]:
        assert is_valid_uscc(value) is False
        assert is_valid_uscc(value, strict=False) is False
    for value in [
        code.lower(),
        f" {code}",
        f"{code}\n",
        code + "\x00",
        code[:17],
        code + "Q",
        "",
        "９１１１０１０８５５１３８５０８２Ｑ",
    ]:
        assert not is_valid_uscc(value)
        assert not is_valid_uscc(value, strict=False)


def test_format_rules():
    good = REAL_VALID[0]
    # Positions 3-8 must be ASCII digits, even in lenient mode.
    assert not is_valid_uscc(good[:3] + "A" + good[4:], strict=False)
    assert not is_valid_uscc(good[:3] + "١" + good[4:], strict=False)  # Arabic-Indic one
    # Letters outside the charset anywhere.
    for bad in "IOZSV":
        assert not is_valid_uscc(bad + good[1:], strict=False)
        assert not is_valid_uscc(good[:10] + bad + good[11:], strict=False)
    # Unknown department / category characters in the charset are format-valid.
    odd = make_uscc("B7110108" + "55138508")
    assert is_valid_uscc(odd)


def test_uscc_check_char_errors():
    with pytest.raises(ValueError, match="17"):
        uscc_check_char("9111010855138508")
    with pytest.raises(ValueError, match=r"'I' at position 5"):
        uscc_check_char("9111I108551385082")
    with pytest.raises(ValueError, match=r"position 17.*normalize_uscc"):
        uscc_check_char("9111010855138508x")
    with pytest.raises(TypeError):
        uscc_check_char(None)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Normalisation and validate_uscc
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "91110108551385082Q",
        "91110108551385082q",
        "  91110108551385082Q\t\n",
        "\ufeff91110108551385082Q",
        "\u300091110108551385082Q\u3000",
        "\xa091110108551385082Q\u200b",
        "９１１１０１０８５５１３８５０８２Ｑ",
        "９１１１０１０８５５１３８５０８２ｑ",
        " ９1110108551385082ｑ ",
    ],
)
def test_normalize_uscc(raw):
    assert normalize_uscc(raw) == "91110108551385082Q"
    assert validate_uscc(raw) == "91110108551385082Q"


def test_normalize_uscc_missing_and_bad_types():
    assert normalize_uscc(None) is None
    nan = float("nan")
    assert normalize_uscc(nan) is nan
    assert normalize_uscc(pd.NA) is pd.NA
    with pytest.raises(TypeError):
        normalize_uscc(123)
    # Inner whitespace is kept (and then fails validation).
    assert normalize_uscc("9111 0108") == "9111 0108"
    # Resident IDs with a lower-case x are fixed too.
    assert normalize_uscc("11010519491231002x") == RESIDENT_ID


@pytest.mark.parametrize(
    ("code", "strict", "expected"),
    [
        ("9111010855138508", True, ["length", "expected 18", "got 16"]),
        ("91110108551385082QQ", False, ["length", "got 19"]),
        ("911101085O1385082Q", True, ["charset", "'O'", "position 10"]),
        ("91110108551385082I", False, ["charset", "'I'", "position 18"]),
        ("911A0108551385082Q", False, ["region", "position 4", "'A'"]),
        ("91110108551385082R", True, ["mod-31", "expected check character 'Q'", "got 'R'"]),
    ],
)
def test_validate_uscc_error_messages(code, strict, expected):
    with pytest.raises(ValueError) as info:
        validate_uscc(code, strict=strict)
    message = str(info.value)
    for part in expected:
        assert part in message, (part, message)


def test_validate_uscc_names_org_code_check_only_when_only_it_fails():
    first17 = "9111010855138508" + "3"  # org-code check character should be '2'
    code = first17 + ref_check31(first17)  # mod 31 is right
    assert ref_org_check(code[8:16]) == "2"
    with pytest.raises(ValueError) as info:
        validate_uscc(code)
    message = str(info.value)
    assert "org-code" in message and "'2'" in message and "got '3'" in message
    assert "mod-31" not in message
    assert validate_uscc(code, strict=False) == code
    assert classify_taxpayer_id(code) == "uscc_lenient"


def test_validate_uscc_does_not_echo_resident_ids():
    for value in ["110105491231002", RESIDENT_ID, " 11010519491231002x", 110105491231002]:
        with pytest.raises(ValueError) as info:
            validate_uscc(value)
        message = str(info.value)
        for secret in ("110105491231002", "19491231", "491231", "91231002"):
            assert secret not in message, message
        assert "110" in message  # the masked form is shown


def test_validate_uscc_non_string():
    with pytest.raises(ValueError, match="str"):
        validate_uscc(None)
    with pytest.raises(ValueError, match="str"):
        validate_uscc(911101085513850820)


# ---------------------------------------------------------------------------------------------
# Organisation codes, resident IDs, classification
# ---------------------------------------------------------------------------------------------


def test_org_codes():
    assert is_valid_org_code("551385082")
    assert not is_valid_org_code("551385083")
    x_body = next(body for body in (f"{i:08d}" for i in range(1000)) if ref_org_check(body) == "X")
    zero_body = next(
        body for body in (f"{i:08d}" for i in range(1000)) if ref_org_check(body) == "0"
    )
    assert is_valid_org_code(x_body + "X")
    assert not is_valid_org_code(x_body + "0")
    assert is_valid_org_code(zero_body + "0")
    assert is_valid_org_code("M0001TGQ" + ref_org_check("M0001TGQ"))
    for bad in ["55138508-2", "551385082 ", "m0001tgqx", "", None, 551385082]:
        assert not is_valid_org_code(bad)


def test_resident_ids():
    assert is_valid_resident_id(RESIDENT_ID)
    assert ref_rid_check(RESIDENT_ID[:17]) == "X"
    assert not is_valid_resident_id("110105194912310021")  # wrong check digit
    assert not is_valid_resident_id("11010519491231002x")  # exact: lower-case x
    assert not is_valid_resident_id(None)
    assert not is_valid_resident_id(110105194912310021)
    for first17 in [
        "11010519491331002",  # month 13
        "11010519490230002",  # 30 February
        "11010529991231002",  # born in 2999
        "11010518001231002",  # implausibly old
    ]:
        assert not is_valid_resident_id(first17 + ref_rid_check(first17)), first17


def test_legacy_15_digit_resident_ids():
    assert is_valid_resident_id("110105491231002")  # 1949-12-31
    assert not is_valid_resident_id("110105491331002")  # month 13
    assert not is_valid_resident_id("11010549123100X")  # 15-digit IDs are all digits
    assert classify_taxpayer_id("110105491231002") == "resident_id"


def test_classify_each_kind():
    assert classify_taxpayer_id(REAL_VALID[0]) == "uscc"
    assert classify_taxpayer_id(PILOT) == "uscc_lenient"
    assert classify_taxpayer_id(RESIDENT_ID) == "resident_id"
    assert classify_taxpayer_id("110108551385082") == "legacy_15"  # region + org code
    assert classify_taxpayer_id("350100M0001TGQX") == "legacy_15"
    assert classify_taxpayer_id("110108551385083") == "invalid"  # org check fails
    for bad in [None, 1.5, "", "abc", "91110108551385082", RESIDENT_ID.lower()]:
        assert classify_taxpayer_id(bad) == "invalid", bad


def test_resident_id_wins_over_uscc():
    # Find an 18-digit value passing GB 11643 (with a real birth date) and both USCC checks.
    # About 1 candidate in 31 * 11 = 341 qualifies.
    both = None
    for candidate in range(20_000):
        born = datetime.date(1950, 1, 1) + datetime.timedelta(days=candidate // 10)
        first17 = "110105" + born.strftime("%Y%m%d") + f"{candidate % 10:03d}"
        code = first17 + ref_rid_check(first17)
        if ref_check31(code[:17]) == code[17] and ref_org_check(code[8:16]) == code[16]:
            both = code
            break
    assert both is not None
    assert is_valid_resident_id(both)
    assert is_valid_uscc(both)
    assert classify_taxpayer_id(both) == "resident_id"


def test_ambiguous_15_digit_value_is_treated_as_personal():
    body = "491231" + "00"  # org-code body whose first six digits read as 1949-12-31
    code = "110105" + body + ref_org_check(body)
    assert is_valid_org_code(code[6:])
    assert is_valid_resident_id(code)
    assert classify_taxpayer_id(code) == "resident_id"


def test_resident_id_with_typo_has_uscc_format():
    # Documented consequence of the overlap: a broken resident ID is format-valid as a USCC.
    broken = RESIDENT_ID[:17] + "1"
    assert not is_valid_resident_id(broken)
    assert classify_taxpayer_id(broken) in {"uscc_lenient", "uscc"}


# ---------------------------------------------------------------------------------------------
# describe_uscc
# ---------------------------------------------------------------------------------------------


def test_describe_uscc_enterprise():
    d = describe_uscc(" 91110108551385082q ")
    assert d["code"] == "91110108551385082Q"
    assert d["registration_department"] == "9"
    assert "工商" in d["registration_department_zh"]
    assert d["category"] == "1"
    assert d["category_zh"] == "企业"
    assert d["category_en"] == "Enterprise"
    assert d["region_code"] == "110108"
    assert d["province_zh"] == "北京市"
    assert d["org_code"] == "551385082"
    assert d["check_char"] == "Q"
    assert d["org_code_check_ok"] and d["mod31_check_ok"] and d["valid_strict"]


@pytest.mark.parametrize(
    ("prefix2", "dept_zh", "category_zh"),
    [
        ("92", "工商（市场监管）", "个体工商户"),
        ("93", "工商（市场监管）", "农民专业合作社"),
        ("51", "民政", "社会团体"),
        ("52", "民政", "民办非企业单位"),
        ("53", "民政", "基金会"),
        ("11", "机构编制", "机关"),
        ("12", "机构编制", "事业单位"),
        ("Y1", "其他", "其他"),
        ("B1", None, None),
        ("97", "工商（市场监管）", None),
    ],
)
def test_describe_uscc_labels(prefix2, dept_zh, category_zh):
    code = make_uscc(prefix2 + "440300" + "MA5DA1B2")
    d = describe_uscc(code)
    assert d["registration_department_zh"] == dept_zh
    assert d["category_zh"] == category_zh
    assert d["province_zh"] == "广东省"
    assert d["valid_strict"]


def test_describe_uscc_rejects_bad_format():
    with pytest.raises(ValueError, match="length"):
        describe_uscc("91110108")


# ---------------------------------------------------------------------------------------------
# Masking
# ---------------------------------------------------------------------------------------------


def test_masking_conventions():
    assert mask_uscc("91110108551385082Q") == "91110108********2Q"
    assert mask_resident_id("110105194912311234") == "110***********1234"
    assert mask_resident_id(RESIDENT_ID) == "110***********002X"
    assert mask_phone("13812341234") == "138****1234"
    assert mask_name("张三") == "张*"
    assert mask_name("张三丰") == "张**"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("张") == "*"
    assert mask_name("") == ""


def test_masking_odd_lengths():
    assert mask_resident_id("110105491231002") == "110*********002"  # birth date hidden
    assert mask_uscc("110108551385082") == "110**********82"
    assert mask_phone("010-12345678") == "010******678"
    assert mask_uscc("abc") == "***"
    assert mask_uscc("") == ""
    assert mask_uscc(12345678) == "12****78"


@pytest.mark.parametrize("func", [mask_uscc, mask_resident_id, mask_phone, mask_name])
def test_masking_missing_values_unchanged(func):
    nan = float("nan")
    assert func(None) is None
    assert func(nan) is nan
    assert func(pd.NA) is pd.NA
    assert func(np.nan) is np.nan


@pytest.mark.parametrize("func", [mask_uscc, mask_resident_id, mask_phone, mask_name])
def test_masking_never_raises_and_keeps_length(func):
    for n in range(41):
        value = "".join(CHARSET[i % 31] for i in range(n))
        out = func(value)
        assert isinstance(out, str) and len(out) == n
        if n >= 2:
            assert out != value
    for value in [123456789012345678, 1.5, b"bytes", ("a", "b")]:
        assert isinstance(func(value), str)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(exclude_characters="*"), min_size=6, max_size=40))
def test_masking_hides_ids_of_length_6_or_more(value):
    for func in (mask_uscc, mask_resident_id, mask_phone, mask_name):
        out = func(value)
        assert out != value
        assert len(out) == len(value)
    # Values of an unexpected length lose at least half of their characters.
    for func, exact in ((mask_uscc, 18), (mask_resident_id, 18), (mask_phone, 11)):
        if len(value) != exact:
            assert func(value).count("*") >= len(value) / 2


# ---------------------------------------------------------------------------------------------
# Vectorised functions
# ---------------------------------------------------------------------------------------------

MIXED = [
    *REAL_VALID,
    PILOT,
    RESIDENT_ID,
    REAL_VALID[0].lower(),
    "９１１１０１０８５５１３８５０８２Ｑ",
    f" {REAL_VALID[0]}",
    REAL_VALID[0] + "\x00",
    REAL_VALID[0][:17] + "\x00",
    "\x00" + REAL_VALID[0][1:],
    REAL_VALID[0][:3] + "١" + REAL_VALID[0][4:],
    REAL_VALID[0][:17] + "\U0001f600",
    "91110108551385082R",
    "91110108551385092Q",
    "9111010855138508" + "3" + ref_check31("9111010855138508" + "3"),  # only GB 11714 fails
    "",
    "9",
    REAL_VALID[0][:17],
    REAL_VALID[0] + "Q",
    REAL_VALID[0] * 3,
    "110108551385082",
    None,
    float("nan"),
    pd.NA,
    911101085513850820,
    3.5,
    REAL_VALID[0].encode(),
]


def as_inputs(values):
    """The same values in every supported container."""
    strings_or_none = [v if isinstance(v, str) else None for v in values]
    out = {
        "list": list(values),
        "tuple": tuple(values),
        "object array": np.array(values, dtype=object),
        "object series": pd.Series(values, dtype=object),
        "object index": pd.Index(values, dtype=object),
        "str series": pd.Series(strings_or_none, dtype="str"),
        "string series": pd.Series(strings_or_none, dtype="string"),
        "python string series": pd.Series(strings_or_none, dtype=pd.StringDtype("python")),
        "arrow string series": pd.Series(strings_or_none, dtype=pd.ArrowDtype(pa.string())),
        "arrow large_string chunks": pd.Series(
            pd.arrays.ArrowExtensionArray(
                pa.chunked_array([strings_or_none[:5], strings_or_none[5:]], type=pa.large_string())
            )
        ),
        "str series sliced": pd.Series([None, "x", *strings_or_none], dtype="str").iloc[2:],
        "string_view series": pd.Series(strings_or_none, dtype=pd.ArrowDtype(pa.string_view())),
    }
    return out, strings_or_none


@pytest.mark.parametrize("strict", [True, False])
def test_valid_mask_agrees_with_scalar_on_mixed_values(strict):
    inputs, strings_or_none = as_inputs(MIXED)
    for name, container in inputs.items():
        values = MIXED if name.startswith(("object", "list", "tuple")) else strings_or_none
        expected = [is_valid_uscc(v, strict=strict) for v in values]
        got = uscc_valid_mask(container, strict=strict)
        assert isinstance(got, np.ndarray) and got.dtype == bool, name
        assert got.tolist() == expected, name
    assert sum(is_valid_uscc(v, strict=strict) for v in MIXED) == (4 if strict else 9)


def test_valid_mask_on_unicode_and_other_arrays():
    codes = np.array([REAL_VALID[0], PILOT, "short", REAL_VALID[1] + "XYZW"])
    assert uscc_valid_mask(codes).tolist() == [True, False, False, False]
    assert uscc_valid_mask(codes, strict=False).tolist() == [True, True, False, False]
    assert uscc_valid_mask(codes.reshape(2, 2)).tolist() == [[True, False], [False, False]]
    assert uscc_valid_mask(np.array([1, 2, 3])).tolist() == [False] * 3
    assert uscc_valid_mask(np.array([np.nan])).tolist() == [False]
    assert uscc_valid_mask(np.array([REAL_VALID[0].encode()])).tolist() == [False]
    assert uscc_valid_mask([]).shape == (0,)
    assert uscc_valid_mask(pd.Series([], dtype="str")).shape == (0,)
    assert uscc_valid_mask(iter(REAL_VALID)).tolist() == [True] * 4
    with pytest.raises(TypeError):
        uscc_valid_mask(REAL_VALID[0])
    with pytest.raises(TypeError):
        uscc_valid_mask(pd.DataFrame({"a": REAL_VALID}))
    with pytest.raises(TypeError):
        uscc_valid_mask(5)


def test_valid_mask_with_exotic_elements_does_not_raise():
    values = [REAL_VALID[0], np.array([1, 2]), {"a": 1}, [REAL_VALID[0]], object()]
    assert uscc_valid_mask(values).tolist() == [True, False, False, False, False]


def test_valid_mask_checks_the_embedded_org_code():
    codes = generate_uscc(np.random.default_rng(12), 2_000)
    broken = []
    for i, code in enumerate(codes):
        wrong = "0123456789X"[(1 + i % 10 + "0123456789X".index(code[16])) % 11]
        broken.append(org_check_broken(code, wrong))
    # mod 31 is right, only the GB 11714 check fails:
    assert all(ref_check31(c[:17]) == c[17] for c in broken)
    assert not any(is_valid_uscc(c) for c in broken)
    assert not uscc_valid_mask(broken).any()
    assert not uscc_valid_mask(pd.Series(broken, dtype="str")).any()
    assert uscc_valid_mask(broken, strict=False).all()


def test_valid_mask_on_generated_codes_and_their_mutations():
    rng = np.random.default_rng(11)
    codes = generate_uscc(rng, 10_000)
    assert uscc_valid_mask(codes).all()
    assert uscc_valid_mask(pd.Series(codes, dtype="str")).all()
    assert all(is_valid_uscc(str(c)) for c in codes)
    # One random substitution per code (from a wider alphabet): vectorised == scalar.
    alphabet = np.array(list(CHARSET + "IOSVZaq ١"))
    pos = rng.integers(0, 18, size=len(codes))
    chars = alphabet[rng.integers(0, len(alphabet), size=len(codes))]
    mutated = [c[:p] + ch + c[p + 1 :] for c, p, ch in zip(codes, pos, chars, strict=True)]
    for strict in (True, False):
        expected = [is_valid_uscc(m, strict=strict) for m in mutated]
        assert uscc_valid_mask(mutated, strict=strict).tolist() == expected
        series = pd.Series(mutated, dtype="str")
        assert uscc_valid_mask(series, strict=strict).tolist() == expected


NEAR_USCC = st.text(alphabet=CHARSET + "ioszvIOSZV\x00 ١１\U0001f600", min_size=16, max_size=20)
VALID_THEN_EDITED = st.builds(
    lambda code, pos, ch: code[:pos] + ch + code[pos + 1 :],
    st.sampled_from([*REAL_VALID, PILOT, make_uscc("51440300MA5DA1B2")]),
    st.integers(0, 17),
    st.sampled_from(CHARSET + "a\x00"),
)


ORG_CHECK_EDITED = st.builds(
    org_check_broken, st.sampled_from([*REAL_VALID, PILOT]), st.sampled_from("0123456789X")
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=25),
        NEAR_USCC,
        VALID_THEN_EDITED,
        ORG_CHECK_EDITED,
        st.sampled_from(REAL_VALID),
    )
)
def test_valid_mask_agrees_with_scalar_property(s):
    for strict in (True, False):
        expected = is_valid_uscc(s, strict=strict)
        assert uscc_valid_mask([s], strict=strict)[0] == expected
        assert uscc_valid_mask(np.array([s], dtype=object), strict=strict)[0] == expected
    if "\x00" not in s[-1:]:  # NumPy unicode arrays drop trailing NULs by design
        assert uscc_valid_mask(np.array([s]))[0] == is_valid_uscc(s)
    assert uscc_valid_mask(pd.Series([s], dtype="str"))[0] == is_valid_uscc(s)


def test_mask_array_agrees_with_scalar():
    inputs, strings_or_none = as_inputs(MIXED)
    for name, container in inputs.items():
        values = MIXED if name.startswith(("object", "list", "tuple")) else strings_or_none
        got = mask_uscc_array(container)
        assert isinstance(got, np.ndarray) and got.dtype == object, name
        assert len(got) == len(values), name
        for out, value in zip(got, values, strict=True):
            if isinstance(value, str):
                assert out == mask_uscc(value), (name, value)
            elif value is None or (not isinstance(value, str) and pd.isna(value)):
                assert pd.isna(out), (name, value, out)
            else:
                assert out == mask_uscc(value), (name, value)


def test_mask_array_keeps_missing_objects_and_examples():
    values = np.array([REAL_VALID[0], None, float("nan"), pd.NA, "abc", 12345678], dtype=object)
    got = mask_uscc_array(values)
    assert got[0] == "91110108********2Q"
    assert got[1] is values[1] and got[2] is values[2] and got[3] is values[3]
    assert got[4] == "***"
    assert got[5] == "12****78"
    assert values[0] == REAL_VALID[0]  # input untouched
    assert mask_uscc_array(np.array([REAL_VALID[0]])).tolist() == ["91110108********2Q"]
    assert mask_uscc_array(np.array([12345678])).tolist() == ["12****78"]
    assert mask_uscc_array([]).shape == (0,)
    with pytest.raises(TypeError):
        mask_uscc_array(REAL_VALID[0])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=30), NEAR_USCC), max_size=8))
def test_mask_array_agrees_with_scalar_property(values):
    got = mask_uscc_array(values)
    assert got.tolist() == [mask_uscc(v) for v in values]


def _resident_id(first17: str) -> str:
    """GB 11643's check character, written out: weights 2^(17-i) mod 11, then 12 - s mod 11."""
    s = sum(int(c) * (2 ** (17 - i) % 11) for i, c in enumerate(first17))
    return first17 + "10X98765432"[s % 11]


def test_a_resident_id_in_an_enterprise_column_is_masked_as_personal_data():
    ids = [_resident_id("11010519491231002"), _resident_id("44030420000229123"),
           _resident_id("32010219850101001")]
    assert ids[0] == RESIDENT_ID and all(is_valid_resident_id(i) for i in ids)
    # not resident IDs: 30 February, a birth date still to come, a wrong check character
    others = [_resident_id("44030419990230123"), _resident_id("11010529991231002"),
              RESIDENT_ID[:-1] + "3", REAL_VALID[0]]
    assert not any(is_valid_resident_id(o) for o in others[:3])
    got = mask_uscc_array(ids + others)
    assert got.tolist()[:3] == [mask_resident_id(i) for i in ids]  # 3 + 4 kept
    assert got[0] == "110***********002X"
    assert got.tolist()[3:] == [o[:8] + "*" * 8 + o[-2:] for o in others]  # the USCC mask
    assert got.tolist() == [mask_uscc(v) for v in ids + others]
    assert mask_uscc_array(pd.Series(ids, dtype="str")).tolist() == got.tolist()[:3]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="0123456789X", min_size=17, max_size=18), max_size=8),
       st.booleans())
def test_mask_array_agrees_with_scalar_on_digit_strings(values, fix_check):
    if fix_check:  # many valid resident IDs, not only the rare random one
        values = [_resident_id(v[:17]) if v[:17].isdigit() else v for v in values]
    got = mask_uscc_array(values)
    assert got.tolist() == [mask_uscc(v) for v in values]


# ---------------------------------------------------------------------------------------------
# generate_uscc
# ---------------------------------------------------------------------------------------------


def test_generate_uscc_is_deterministic_and_valid():
    a = generate_uscc(np.random.default_rng(2024), 10_000)
    b = generate_uscc(np.random.default_rng(2024), 10_000)
    c = generate_uscc(np.random.default_rng(2025), 10_000)
    assert a.dtype == np.dtype("<U18") and a.shape == (10_000,)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    for code in a:
        assert ref_check31(code[:17]) == code[17]
        assert ref_org_check(code[8:16]) == code[16]
        assert code.startswith("91")
        assert code[2:8] in DEFAULT_REGION_CODES
        assert not set("IOSVZ") & set(code)
    checks = {code[16] for code in a}
    assert "X" in checks and "0" in checks  # both special GB 11714 cases are exercised
    assert len(set(a)) > 9_990  # collisions are possible but rare


def test_generate_uscc_respects_region_codes():
    regions = ["440300", "350203", "350203"]
    codes = generate_uscc(np.random.default_rng(1), 3_000, region_codes=regions)
    counts = pd.Series([c[2:8] for c in codes]).value_counts()
    assert set(counts.index) == {"440300", "350203"}
    assert 800 < counts["440300"] < 1200  # one entry in three
    assert uscc_valid_mask(codes).all()
    series_regions = pd.Series(["510107"], dtype="str")
    codes = generate_uscc(np.random.default_rng(1), 50, region_codes=series_regions)
    assert {c[2:8] for c in codes} == {"510107"}


def test_generate_uscc_edge_cases_and_errors():
    rng = np.random.default_rng(0)
    assert generate_uscc(rng, 0).shape == (0,)
    assert generate_uscc(rng, np.int64(3)).shape == (3,)
    with pytest.raises(ValueError):
        generate_uscc(rng, -1)
    with pytest.raises(TypeError):
        generate_uscc(np.random.RandomState(0), 3)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        generate_uscc(rng, 2.5)  # type: ignore[arg-type]
    for bad in (["11010"], ["11010a"], [110105], ["１１０１０５"], []):
        with pytest.raises(ValueError):
            generate_uscc(rng, 3, region_codes=bad)
    with pytest.raises(TypeError):
        generate_uscc(rng, 3, region_codes="110105")


# ---------------------------------------------------------------------------------------------
# build_uscc (deterministic codes from organisation-code numbers)
# ---------------------------------------------------------------------------------------------


def ref_base31_body(number: int) -> str:
    digits = []
    for _ in range(8):
        digits.append(CHARSET[number % 31])
        number //= 31
    return "".join(reversed(digits))


def test_build_uscc_golden_values():
    # 0 -> body "00000000": GB 11714 sum 0 -> c = 11 -> '0'; mod-31 sum of 91110108000000000
    # = 9*1 + 1*3 + 1*9 + 1*27 + 1*26 + 8*17 = 210, 210 mod 31 = 24 -> CHARSET[7] = '7'.
    assert build_uscc(["110108"], [0]).tolist() == ["911101080000000007"]
    numbers = [0, 1, 30, 31, 12345678, 31**8 - 1]
    codes = build_uscc(["440300"] * len(numbers), numbers)
    for number, code in zip(numbers, codes, strict=True):
        assert code == make_uscc("91440300" + ref_base31_body(number))


def test_build_uscc_bijection_gives_unique_valid_codes():
    n = 50_000
    a, b = 31 * 123_457 + 1, 987_654
    numbers = (a * np.arange(n) + b) % 31**8
    regions = np.array(DEFAULT_REGION_CODES)[np.arange(n) % len(DEFAULT_REGION_CODES)]
    codes = build_uscc(regions, numbers)
    assert codes.dtype == np.dtype("<U18") and codes.shape == (n,)
    assert len(set(codes)) == n
    assert len({c[8:16] for c in codes}) == n  # organisation codes unique too
    assert uscc_valid_mask(codes).all()
    assert [c[2:8] for c in codes[:5]] == list(regions[:5])
    assert np.array_equal(codes, build_uscc(regions, numbers))


def test_build_uscc_options_and_errors():
    code = build_uscc("350203", 42, department="9", category="2")[0]
    assert code == make_uscc("92350203" + ref_base31_body(42))
    assert describe_uscc(code)["category_zh"] == "个体工商户"
    assert build_uscc(pd.Series(["440300", "110108"], dtype="str"), [1, 2]).shape == (2,)
    assert build_uscc(np.array([], dtype="U6"), np.array([], dtype=np.int64)).shape == (0,)
    with pytest.raises(ValueError):
        build_uscc(["440300"], [31**8])
    with pytest.raises(ValueError):
        build_uscc(["440300"], [-1])
    with pytest.raises(ValueError):
        build_uscc(["44030"], [1])
    with pytest.raises(ValueError):
        build_uscc(["44030A"], [1])
    with pytest.raises(TypeError):
        build_uscc([440300], [1])
    with pytest.raises(TypeError):
        build_uscc(["440300"], [1.5])
    with pytest.raises(ValueError):
        build_uscc(["440300"], [1], department="I")
    with pytest.raises(ValueError):
        build_uscc(["440300", "110108", "310115"], [1, 2])


def test_default_region_codes_are_six_digits():
    assert len(DEFAULT_REGION_CODES) >= 10
    for code in DEFAULT_REGION_CODES:
        assert len(code) == 6 and code.isdigit()


# ---------------------------------------------------------------------------------------------
# Speed (1,000,000 codes; generous bounds so the test is not flaky)
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_one_million_codes_are_fast():
    rng = np.random.default_rng(5)
    t0 = time.perf_counter()
    codes = generate_uscc(rng, 1_000_000)
    t_generate = time.perf_counter() - t0
    series = pd.Series(codes, dtype="str")
    t0 = time.perf_counter()
    ok = uscc_valid_mask(series)
    t_valid = time.perf_counter() - t0
    objects = codes.astype(object)
    t0 = time.perf_counter()
    ok_objects = uscc_valid_mask(objects)
    t_valid_objects = time.perf_counter() - t0
    assert ok.all() and ok_objects.all()
    assert t_generate < 3.0, t_generate
    assert t_valid < 3.0, t_valid
    assert t_valid_objects < 3.0, t_valid_objects
