"""The hidden world of a synthetic population: who the enterprises are and how healthy they are.

Every enterprise has static traits (industry, region, size, age, taxpayer type) and two latent
variables the bank never sees directly: a monthly *health* process (an AR(1) with industry and
macro shocks) and a time-constant *character* (compliance and integrity). Tax data are noisy
views of both; the true probability of default is a function of both plus an unobservable part,
so no model can separate defaulters perfectly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["INDUSTRIES", "REGIONS", "Industry", "World", "simulate_world", "world_shocks"]


@dataclass(frozen=True)
class Industry:
    """Parameters of one GB/T 4754 section in the simulation."""

    section: str
    weight: float  # share of SMEs
    divisions: tuple[str, ...]
    vat_rate: float  # general-method VAT rate
    cost_ratio: float  # purchases / sales
    margin: float  # typical profit margin
    sf_dip: float  # Spring Festival dip (log)
    q_peak: float  # quarter-end peak (log)
    dec_peak: float  # December peak (log)
    invoice_share_small: float  # share of sales invoiced by small-scale taxpayers
    ticket: float  # typical invoice amount, yuan
    sales_per_head: float  # annual sales per employee, yuan
    asset_intensity: float  # assets / annual sales
    b2b: float  # propensity of small firms to register as general taxpayers


INDUSTRIES: tuple[Industry, ...] = (
    Industry("A", 0.03, ("01", "02", "03", "05"), 0.09, 0.60, 0.08, 0.20, 0.05, 0.10, 0.5,
             8_000, 400_000, 1.2, 0.2),
    Industry("C", 0.19, ("13", "17", "18", "26", "29", "33", "34", "38", "39"), 0.13, 0.72,
             0.06, 0.35, 0.12, 0.15, 0.8, 40_000, 600_000, 0.9, 0.5),
    Industry("D", 0.01, ("44", "45"), 0.13, 0.70, 0.07, 0.10, 0.05, 0.10, 0.9, 60_000,
             1_500_000, 2.0, 0.6),
    Industry("E", 0.07, ("47", "48", "49", "50"), 0.09, 0.75, 0.05, 0.55, 0.15, 0.40, 0.9,
             150_000, 500_000, 1.0, 0.6),
    Industry("F", 0.30, ("51", "52"), 0.13, 0.86, 0.03, 0.15, 0.10, 0.15, 0.35, 6_000,
             1_200_000, 0.5, 0.35),
    Industry("G", 0.05, ("54", "58", "59", "60"), 0.09, 0.62, 0.05, 0.30, 0.08, 0.10, 0.7,
             12_000, 500_000, 1.1, 0.4),
    Industry("H", 0.06, ("61", "62"), 0.06, 0.55, 0.05, -0.10, 0.03, 0.08, 0.3, 1_500,
             200_000, 0.6, 0.1),
    Industry("I", 0.07, ("63", "64", "65"), 0.06, 0.35, 0.10, 0.30, 0.15, 0.20, 0.8, 30_000,
             450_000, 0.8, 0.5),
    Industry("K", 0.02, ("70",), 0.09, 0.60, 0.08, 0.25, 0.10, 0.20, 0.8, 200_000,
             2_000_000, 3.0, 0.5),
    Industry("L", 0.10, ("71", "72"), 0.06, 0.40, 0.08, 0.30, 0.12, 0.15, 0.7, 20_000,
             500_000, 0.7, 0.4),
    Industry("M", 0.05, ("73", "74", "75"), 0.06, 0.35, 0.10, 0.30, 0.15, 0.25, 0.8, 50_000,
             400_000, 0.8, 0.5),
    Industry("N", 0.01, ("77", "78"), 0.06, 0.50, 0.06, 0.30, 0.10, 0.30, 0.8, 40_000,
             350_000, 1.0, 0.4),
    Industry("O", 0.04, ("80", "81", "82"), 0.06, 0.45, 0.07, 0.05, 0.03, 0.08, 0.35, 1_200,
             180_000, 0.5, 0.1),
)

#: (GB/T 2260 code, city name, weight, wage level in yuan a month).
REGIONS: tuple[tuple[str, str, float, float], ...] = (
    ("440300", "深圳市", 0.07, 11_000), ("440106", "广州市", 0.06, 9_500),
    ("310115", "上海市", 0.07, 12_000), ("110105", "北京市", 0.06, 12_000),
    ("330106", "杭州市", 0.05, 9_500), ("320106", "南京市", 0.04, 9_000),
    ("320505", "苏州市", 0.04, 8_500), ("370202", "青岛市", 0.03, 7_500),
    ("350203", "厦门市", 0.03, 8_000), ("350102", "福州市", 0.02, 7_000),
    ("510107", "成都市", 0.05, 7_000), ("500103", "重庆市", 0.04, 6_800),
    ("420106", "武汉市", 0.04, 7_000), ("430104", "长沙市", 0.03, 6_800),
    ("410105", "郑州市", 0.03, 6_200), ("340104", "合肥市", 0.03, 6_800),
    ("120116", "天津市", 0.03, 7_500), ("610113", "西安市", 0.03, 6_500),
    ("210106", "沈阳市", 0.02, 6_000), ("130102", "石家庄市", 0.02, 5_800),
    ("360102", "南昌市", 0.02, 6_000), ("450103", "南宁市", 0.02, 5_800),
    ("530102", "昆明市", 0.02, 6_000), ("520102", "贵阳市", 0.02, 6_000),
    ("140105", "太原市", 0.02, 5_800), ("230103", "哈尔滨市", 0.02, 5_500),
    ("220102", "长春市", 0.01, 5_600), ("650102", "乌鲁木齐市", 0.01, 6_500),
    ("150102", "呼和浩特市", 0.01, 6_000), ("460106", "海口市", 0.01, 6_200),
    ("620102", "兰州市", 0.01, 5_500), ("640104", "银川市", 0.005, 5_800),
    ("630102", "西宁市", 0.005, 5_800), ("370102", "济南市", 0.02, 7_000),
    ("330203", "宁波市", 0.03, 8_500), ("441900", "东莞市", 0.03, 7_500),
)

SIZE_CLASSES = ("micro", "small", "medium")
#: Median annual sales (yuan) and log-sd by size class.
SIZE_SALES = {"micro": (700_000.0, 0.9), "small": (8_000_000.0, 0.6), "medium": (45_000_000.0, 0.5)}

HEALTH_RHO = 0.96


@dataclass
class World:
    """Static traits and latent paths of one block of enterprises (arrays of length ``n``)."""

    n: int
    industry: np.ndarray  # index into INDUSTRIES
    division: np.ndarray  # str
    region: np.ndarray  # index into REGIONS
    size: np.ndarray  # index into SIZE_CLASSES
    annual_sales: np.ndarray  # scale, yuan a year at health 0
    general: np.ndarray  # bool: general taxpayer
    quarterly: np.ndarray  # bool: files VAT quarterly
    deemed: np.ndarray  # bool: deemed CIT collection
    reg_month: np.ndarray  # int month index of registration (negative: before the window)
    reg_day: np.ndarray  # 1-28
    first_filing_lag: np.ndarray  # days from registration to first filing
    character: np.ndarray  # N(0,1), compliance and integrity
    growth: np.ndarray  # log growth a year
    volatility: np.ndarray  # monthly log-sales noise sd
    concentration: np.ndarray  # customer concentration in (0,1)
    headcount0: np.ndarray  # employees at health 0
    health: np.ndarray  # (n, months): latent health, shocks included


def world_shocks(rng: np.random.Generator, months: int, macro_shock: float,
                 macro_start: float) -> tuple[np.ndarray, np.ndarray]:
    """Shocks shared by every enterprise: per-industry AR(1) and a macro downturn.

    Returns
    -------
    industry_shock : numpy.ndarray, shape (n_industries, months)
    macro : numpy.ndarray, shape (months,)
        ``-macro_shock`` at the trough of a raised-cosine downturn of 10 months starting at
        ``macro_start`` × months, 0 elsewhere.
    """
    k = len(INDUSTRIES)
    shock = np.zeros((k, months))
    eps = rng.standard_normal((k, months))
    rho, sd = 0.85, 0.25
    shock[:, 0] = sd * eps[:, 0]
    for t in range(1, months):
        shock[:, t] = rho * shock[:, t - 1] + sd * np.sqrt(1 - rho**2) * eps[:, t]
    t = np.arange(months)
    start = macro_start * months
    phase = (t - start) / 10.0
    bump = np.where((phase >= 0) & (phase <= 1), 0.5 - 0.5 * np.cos(2 * np.pi * phase), 0.0)
    return shock, -macro_shock * bump


def simulate_world(rng: np.random.Generator, n: int, months: int, *,
                   industry_shock: np.ndarray, macro: np.ndarray, new_firm_share: float,
                   size_mix: tuple[float, float, float]) -> World:
    """Draw the static traits and the latent health paths of ``n`` enterprises."""
    weights = np.array([ind.weight for ind in INDUSTRIES])
    industry = rng.choice(len(INDUSTRIES), size=n, p=weights / weights.sum())
    division = np.empty(n, dtype=object)
    for k, ind in enumerate(INDUSTRIES):
        sel = industry == k
        division[sel] = rng.choice(np.array(ind.divisions, dtype=object), size=int(sel.sum()))
    rw = np.array([r[2] for r in REGIONS])
    region = rng.choice(len(REGIONS), size=n, p=rw / rw.sum())
    mix = np.asarray(size_mix, dtype=float)
    size = rng.choice(3, size=n, p=mix / mix.sum())
    med = np.array([SIZE_SALES[s][0] for s in SIZE_CLASSES])[size]
    sd = np.array([SIZE_SALES[s][1] for s in SIZE_CLASSES])[size]
    annual_sales = med * np.exp(sd * rng.standard_normal(n))
    b2b = np.array([ind.b2b for ind in INDUSTRIES])[industry]
    general = (annual_sales > 5_000_000) | (rng.random(n) < 0.35 * b2b)
    quarterly = ~general & (rng.random(n) < 0.85)
    deemed = ~general & (size == 0) & (rng.random(n) < 0.15)
    # age: most firms predate the window; a share is founded inside it
    is_new = rng.random(n) < new_firm_share
    age_at_start = np.minimum(np.round(np.exp(rng.normal(np.log(60), 0.8, n))), 360).astype(int) + 1
    reg_month = np.where(is_new, rng.integers(0, max(months - 1, 1), n), -age_at_start)
    reg_day = rng.integers(1, 29, n)
    first_filing_lag = rng.integers(10, 75, n)
    character = rng.standard_normal(n)
    growth = rng.normal(0.03, 0.15, n)
    volatility = np.where(size == 0, rng.uniform(0.2, 0.5, n), rng.uniform(0.12, 0.3, n))
    concentration = rng.beta(2.0, 3.0, n) * np.where(size == 0, 1.0, 0.7)
    sph = np.array([ind.sales_per_head for ind in INDUSTRIES])[industry]
    headcount0 = np.maximum(0.0, annual_sales / sph * np.exp(0.4 * rng.standard_normal(n)))
    headcount0 = np.where((size == 0) & (rng.random(n) < 0.2), 0.0, np.maximum(headcount0, 1.0))
    # latent health: stationary AR(1) with unit variance plus shared shocks
    eps = rng.standard_normal((n, months))
    h = np.empty((n, months))
    h[:, 0] = eps[:, 0]
    scale = np.sqrt(1 - HEALTH_RHO**2)
    for t in range(1, months):
        h[:, t] = HEALTH_RHO * h[:, t - 1] + scale * eps[:, t]
    # a persistent firm quality plus a transient AR(1) part, unit variance together
    quality = rng.standard_normal(n)
    health = 0.6 * quality[:, None] + 0.8 * h + industry_shock[industry] + macro[None, :]
    # young firms are fragile
    age = np.arange(months)[None, :] - reg_month[:, None]
    health -= 0.5 * np.exp(-np.clip(age, 0, None) / 18.0)
    return World(n=n, industry=industry, division=division, region=region, size=size,
                 annual_sales=annual_sales, general=general, quarterly=quarterly, deemed=deemed,
                 reg_month=reg_month, reg_day=reg_day, first_filing_lag=first_filing_lag,
                 character=character, growth=growth, volatility=volatility,
                 concentration=concentration, headcount0=headcount0, health=health)
