"""`make_population`: the built-in synthetic population every demo, test and benchmark uses."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from ..dataset import TaxDataset
from ..ids import build_uscc
from ..io import ROW_GROUP_SIZE
from ..schema import TABLE_ORDER
from .activity import simulate_activity
from .calendar import MonthGrid
from .events import simulate_events
from .fate import simulate_fate
from .grades import evaluate_grades
from .tables import build_tables, first_filing
from .world import REGIONS, simulate_world, world_shocks

__all__ = ["BLOCK_SIZE", "PopulationConfig", "iter_population", "make_population",
           "write_population"]

#: Enterprises simulated together. Fixed, so a seed gives the same data whatever the memory.
BLOCK_SIZE = 20_000


@dataclass(frozen=True)
class PopulationConfig:
    """Knobs of the synthetic population (see :func:`make_population`)."""

    n_enterprises: int = 10_000
    months: int = 48
    seed: int = 0
    end: str = "2025-12"
    default_rate: float = 0.03
    macro_shock: float = 0.8
    macro_start: float = 0.55
    new_firm_share: float = 0.15
    size_mix: tuple[float, float, float] = (0.75, 0.2, 0.05)
    application_rate: float = 0.5
    amended_share: float = 0.02

    def __post_init__(self) -> None:
        if self.n_enterprises < 1:
            raise ValueError(f"n_enterprises must be >= 1, got {self.n_enterprises}")
        if self.months < 13:
            raise ValueError(f"months must be >= 13 (a year of history before applications), "
                             f"got {self.months}")
        if not 0 < self.default_rate < 0.5:
            raise ValueError(f"default_rate must lie in (0, 0.5), got {self.default_rate}")
        if not 0 <= self.new_firm_share <= 1:
            raise ValueError(f"new_firm_share must lie in [0, 1], got {self.new_firm_share}")
        if not 0 <= self.application_rate <= 1:
            raise ValueError(f"application_rate must lie in [0, 1], got {self.application_rate}")
        if not 0 <= self.amended_share <= 1:
            raise ValueError(f"amended_share must lie in [0, 1], got {self.amended_share}")
        if len(self.size_mix) != 3 or min(self.size_mix) < 0 or sum(self.size_mix) <= 0:
            raise ValueError(f"size_mix must be 3 non-negative shares (micro, small, medium), "
                             f"got {self.size_mix}")
        try:
            np.datetime64(self.end, "M")
        except ValueError:
            raise ValueError(f"end must be a month like '2025-12', got {self.end!r}") from None


def _simulate_block(cfg: PopulationConfig, k: int, grid: MonthGrid, shocks, uscc_params,
                    ) -> dict[str, pd.DataFrame]:
    start = k * BLOCK_SIZE
    n = min(BLOCK_SIZE, cfg.n_enterprises - start)
    rng = np.random.default_rng(np.random.SeedSequence(cfg.seed, spawn_key=(1, k)))
    industry_shock, macro = shocks
    world = simulate_world(rng, n, grid.months, industry_shock=industry_shock, macro=macro,
                           new_firm_share=cfg.new_firm_share, size_mix=cfg.size_mix)
    _, _, ff_month = first_filing(world, grid)
    fate = simulate_fate(rng, world, ff_month, grid.months, default_rate=cfg.default_rate,
                         application_rate=cfg.application_rate)
    act = simulate_activity(rng, world, fate, grid)
    ev = simulate_events(rng, world, fate, act.alive, act.health, grid)
    grades, repairs = evaluate_grades(rng, world, fate, act, ev, grid)
    gidx = np.arange(start, start + n)
    a, b = uscc_params
    region = np.array([r[0] for r in REGIONS])[world.region]
    uscc = build_uscc(region, (a * gidx + b) % 31**8)
    amend_rng = np.random.default_rng(np.random.SeedSequence(cfg.seed, spawn_key=(2, k)))
    return build_tables(rng, world, fate, act, ev, grades, repairs, grid, uscc, gidx,
                        amend=(amend_rng, cfg.amended_share))


def iter_population(config: PopulationConfig) -> Iterator[dict[str, pd.DataFrame]]:
    """Yield the population block by block (``BLOCK_SIZE`` enterprises each).

    Blocks are independent given the seed, which makes the output identical whatever the
    consumer does with them (hold them all, or stream them to disk).
    """
    grid = MonthGrid(config.end, config.months)
    world_rng = np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(0,)))
    shocks = world_shocks(world_rng, config.months, config.macro_shock, config.macro_start)
    # an affine bijection of the enterprise number makes every organisation code unique
    a = int(world_rng.integers(31**7, 31**8 - 1)) * 31 + 1
    b = int(world_rng.integers(0, 31**8))
    n_blocks = -(-config.n_enterprises // BLOCK_SIZE)
    for k in range(n_blocks):
        yield _simulate_block(config, k, grid, shocks, (a % 31**8, b))


def make_population(
    n_enterprises: int = 10_000,
    months: int = 48,
    seed: int = 0,
    *,
    end: str = "2025-12",
    default_rate: float = 0.03,
    macro_shock: float = 0.8,
    new_firm_share: float = 0.15,
    size_mix: tuple[float, float, float] = (0.75, 0.2, 0.05),
    application_rate: float = 0.5,
    amended_share: float = 0.02,
    progress: bool = False,
) -> TaxDataset:
    """Generate a synthetic population of small and micro enterprises with their tax data.

    The population is realistic where it matters for credit risk: industries, regions and sizes
    of Chinese SMEs; small-scale taxpayers filing quarterly under the VAT exemption (zero VAT
    payable is not zero sales); Spring Festival dips and quarter-end peaks; growth and decline
    driven by a latent health process with industry and macro shocks; zero, late, missing
    and amended filings; arrears with late fees; penalties and audits; annual 纳税信用 grades
    by the deduction rules with later adjustments, repairs and appeals; key-person changes; annual
    statements; social-insurance headcount; and loan applications whose 12-month default is
    drawn from a true probability of default (kept in the ``truth`` table, never a feature).

    Parameters
    ----------
    n_enterprises : int
        Number of enterprises.
    months : int
        Months of tax history (at least 13), ending with ``end``.
    seed : int
        Random seed; the same arguments give the same data, bit for bit.
    end : str
        Last month, ``"YYYY-MM"``. The data are extracted on its last day: anything known
        later (a return filed next month, a grade published next April) is absent.
    default_rate : float
        Baseline share of applications that default within 12 months (before the macro shock).
    macro_shock : float
        Depth of a 10-month downturn after 55 % of the window, in standard deviations of
        health (0: none).
    new_firm_share : float
        Share of enterprises registered inside the window.
    size_mix : tuple of float
        Shares of micro, small and medium enterprises.
    application_rate : float
        Share of eligible enterprises that apply for a loan (at most once).
    amended_share : float
        Share of VAT returns corrected later by an amended return (更正申报): another row for
        the period with a later filing date and restated sales (0: none). Drawn from a
        stream of its own, so the rest of the data is the same whatever the share.
    progress : bool
        Show a progress bar.

    Returns
    -------
    TaxDataset
        All tables of the contract plus ``truth``; validated dtypes and row order.

    Examples
    --------
    >>> import taxcredit as tc
    >>> ds = tc.datasets.make_population(n_enterprises=200, months=36, seed=7)
    >>> sorted(ds.tables)[:3]
    ['applications', 'cit_returns', 'consents']
    """
    cfg = PopulationConfig(n_enterprises=n_enterprises, months=months, seed=seed, end=end,
                           default_rate=default_rate, macro_shock=macro_shock,
                           new_firm_share=new_firm_share, size_mix=tuple(size_mix),
                           application_rate=application_rate, amended_share=amended_share)
    blocks = list(tqdm(iter_population(cfg), total=-(-n_enterprises // BLOCK_SIZE),
                       desc="generating", unit="block", disable=not progress))
    tables = {}
    for name in TABLE_ORDER:
        parts = [b[name] for b in blocks if name in b]
        if parts:
            tables[name] = pd.concat(parts, ignore_index=True)
    return TaxDataset(tables, validated=True)  # generated to the contract (tested)


def write_population(
    path: str | os.PathLike,
    n_enterprises: int = 100_000,
    months: int = 48,
    seed: int = 0,
    *,
    format: str = "parquet",
    progress: bool = True,
    overwrite: bool = False,
    **knobs,
) -> Path:
    """Generate a population straight into a folder, block by block (bounded memory).

    Parameters
    ----------
    path : path-like
        Target folder (created).
    n_enterprises, months, seed, **knobs
        As in :func:`make_population`.
    format : {"parquet", "csv"}
        Parquet streams block by block; CSV (small data only) is written at the end.
    progress : bool
        Show a progress bar.
    overwrite : bool
        Replace existing table files.

    Returns
    -------
    pathlib.Path
        The folder. Rows are in generation order: enterprises grouped by block, each table's
        rows ordered by enterprise within a block (the order ``from_folder`` validation sorts).
    """
    cfg = PopulationConfig(n_enterprises=n_enterprises, months=months, seed=seed,
                           **{k: tuple(v) if k == "size_mix" else v for k, v in knobs.items()})
    if format not in ("parquet", "csv"):
        raise ValueError(f"format must be 'parquet' or 'csv', got {format!r}")
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    existing = [f for f in folder.iterdir() if f.stem in TABLE_ORDER]
    if existing and not overwrite:
        raise FileExistsError(f"{folder} already holds table files "
                              f"{sorted(f.name for f in existing)}; pass overwrite=True")
    for f in existing:
        f.unlink()
    blocks = iter_population(cfg)
    total = -(-n_enterprises // BLOCK_SIZE)
    if format == "csv":
        blocks_list = list(tqdm(blocks, total=total, desc="generating", unit="block",
                                disable=not progress))
        tables = {name: pd.concat([b[name] for b in blocks_list if name in b],
                                  ignore_index=True)
                  for name in TABLE_ORDER if any(name in b for b in blocks_list)}
        TaxDataset(tables).to_folder(folder, format="csv", overwrite=True)
        return folder
    writers: dict[str, pq.ParquetWriter] = {}
    try:
        for block in tqdm(blocks, total=total, desc="generating", unit="block",
                          disable=not progress):
            for name, df in block.items():
                table = pa.Table.from_pandas(df, preserve_index=False)
                if name not in writers:
                    writers[name] = pq.ParquetWriter(folder / f"{name}.parquet", table.schema)
                writers[name].write_table(table.cast(writers[name].schema),
                                          row_group_size=ROW_GROUP_SIZE)
    finally:
        for w in writers.values():
            w.close()
    return folder


