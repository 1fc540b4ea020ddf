"""The month grid of a synthetic population: month ends, seasonality and filing deadlines."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..calendar import due_dates

__all__ = ["SPRING_FESTIVAL", "MonthGrid", "due_dates"]



#: Spring Festival (春节) dates: the month of the holiday dips, the month before peaks in retail.
SPRING_FESTIVAL = {
    2012: "2012-01-23", 2013: "2013-02-10", 2014: "2014-01-31", 2015: "2015-02-19",
    2016: "2016-02-08", 2017: "2017-01-28", 2018: "2018-02-16", 2019: "2019-02-05",
    2020: "2020-01-25", 2021: "2021-02-12", 2022: "2022-02-01", 2023: "2023-01-22",
    2024: "2024-02-10", 2025: "2025-01-29", 2026: "2026-02-17", 2027: "2027-02-06",
    2028: "2028-01-26", 2029: "2029-02-13", 2030: "2030-02-03", 2031: "2031-01-23",
    2032: "2032-02-11", 2033: "2033-01-31", 2034: "2034-02-19", 2035: "2035-02-08",
}


@dataclass(frozen=True)
class MonthGrid:
    """Calendar facts of the simulated months ``t = 0 … months-1``.

    Parameters
    ----------
    end : str
        Last simulated month, ``"YYYY-MM"``.
    months : int
        Number of months.
    """

    end: str
    months: int

    @property
    def month(self) -> np.ndarray:
        """``datetime64[M]`` of each month."""
        last = np.datetime64(self.end, "M")
        return last - np.arange(self.months - 1, -1, -1).astype("timedelta64[M]")

    @property
    def month_end(self) -> np.ndarray:
        """``datetime64[D]`` last day of each month."""
        return (self.month + 1).astype("datetime64[D]") - 1

    @property
    def month_start(self) -> np.ndarray:
        """``datetime64[D]`` first day of each month."""
        return self.month.astype("datetime64[D]")

    @property
    def month_of_year(self) -> np.ndarray:
        """1-12."""
        return self.month.astype(int) % 12 + 1

    @property
    def year(self) -> np.ndarray:
        """Calendar year of each month."""
        return self.month.astype(int) // 12 + 1970

    @property
    def extraction_date(self) -> np.datetime64:
        """The day the data were extracted: the last day of the last month."""
        return self.month_end[-1]

    def spring_festival_month(self) -> np.ndarray:
        """Boolean: the month holds the Spring Festival holiday."""
        sf = np.array([np.datetime64(SPRING_FESTIVAL.get(int(y), f"{int(y)}-02-01"), "M")
                       for y in self.year])
        return sf == self.month

    def seasonality(self, amplitude_sf: np.ndarray, amplitude_q: np.ndarray,
                    amplitude_dec: np.ndarray) -> np.ndarray:
        """Log-seasonal factors, shape ``(n_profiles, months)``.

        Parameters
        ----------
        amplitude_sf, amplitude_q, amplitude_dec : numpy.ndarray
            Per profile: dip in the Spring Festival month (the week after the holiday also slows
            the following month by a third of it), quarter-end peak and December peak, in log
            units.
        """
        sf = self.spring_festival_month().astype(float)
        after_sf = np.roll(sf, 1)
        after_sf[0] = 0.0
        q_end = np.isin(self.month_of_year, (3, 6, 9, 12)).astype(float)
        dec = (self.month_of_year == 12).astype(float)
        return (-amplitude_sf[:, None] * (sf + after_sf / 3.0)
                + amplitude_q[:, None] * q_end + amplitude_dec[:, None] * dec)
