"""Access circuit breaker (异常访问熔断): per-actor limits; tripped means refused until reset.

Limits (all per actor, configurable as data): requests per minute, distinct enterprises per
hour, requests for enterprises without live consent per hour, and bulk pulls outside office
hours (more than ``off_hours_bulk`` enterprises in one request between ``night_start`` and
``night_end``). Crossing one trips the breaker: this and every later request of that actor is
refused with :class:`~taxcredit.errors.AccessRefused` until someone calls :meth:`reset`.
Trips and resets are written to the audit log when one is given.

State lives in memory, or in a JSON file (``state=…``, locked while read and written) so
several processes share it.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from ..errors import AccessRefused
from .audit import AuditLog
from .consent import now_in_beijing

__all__ = ["BreakerLimits", "CircuitBreaker"]


@dataclass(frozen=True)
class BreakerLimits:
    """Per-actor limits.

    Parameters
    ----------
    requests_per_minute : int
    enterprises_per_hour : int
        Distinct enterprises touched in the last hour.
    no_consent_per_hour : int
        Enterprises requested without live consent in the last hour.
    off_hours_bulk : int
        Most enterprises in one request outside office hours.
    night_start, night_end : int
        Office hours end / start (hours, local time of the timestamps).
    """

    requests_per_minute: int = 120
    enterprises_per_hour: int = 5_000
    no_consent_per_hour: int = 20
    off_hours_bulk: int = 1_000
    night_start: int = 22
    night_end: int = 6

    def __post_init__(self) -> None:
        for k, v in asdict(self).items():
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError(f"breaker limit {k} must be a whole number >= 0, got {v!r}")
        if not (0 <= self.night_start <= 23 and 0 <= self.night_end <= 23):
            raise ValueError("night_start and night_end are hours 0-23")

    @classmethod
    def from_dict(cls, d: dict | None) -> BreakerLimits:
        """Build from a table of limits (unknown keys are an error)."""
        d = dict(d or {})
        extra = sorted(set(d) - set(cls.__dataclass_fields__))
        if extra:
            raise ValueError(f"breaker limits: unknown setting(s) {extra}; expected "
                             f"{sorted(cls.__dataclass_fields__)}")
        return cls(**d)


class CircuitBreaker:
    """Count each actor's requests; trip past a limit; refuse until reset.

    Parameters
    ----------
    limits : BreakerLimits or dict, optional
    audit : AuditLog, optional
        Where trips and resets are recorded.
    state : path-like, optional
        A JSON file holding the state, shared by processes (default: in memory).
    key : bytes, optional
        Secret for the keyed tags that stand for enterprises in the state (processes sharing
        a state file should share it; default: random).
    """

    def __init__(self, limits: BreakerLimits | dict | None = None, *,
                 audit: AuditLog | None = None, state=None, key: bytes | None = None) -> None:
        self.limits = limits if isinstance(limits, BreakerLimits) else \
            BreakerLimits.from_dict(limits)
        self.audit = audit
        self.state_path = Path(state) if state is not None else None
        self.key = key or secrets.token_bytes(32)
        self._memory: dict = {}

    def _tag(self, usccs: Iterable[str]) -> list[str]:
        """Keyed tags of the enterprises: the state file holds no USCC."""
        return [hmac.new(self.key, b"breaker:" + str(u).encode(), hashlib.sha256).hexdigest()[:16]
                for u in dict.fromkeys(usccs)]  # not the outputs' uscc_key, though one key

    # ------------------------------------------------------------------ state
    @contextmanager
    def _state(self):
        if self.state_path is None:
            yield self._memory
            return
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.state_path, os.O_RDWR | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = os.pread(fd, os.fstat(fd).st_size, 0)
            state = json.loads(raw) if raw.strip() else {}
            yield state
            data = json.dumps(state).encode()
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def tripped(self, actor: str) -> dict | None:
        """Return the trip record of ``actor`` (when, why), or None."""
        with self._state() as st:
            return st.get(actor, {}).get("tripped")

    # ------------------------------------------------------------------ use
    def check(self, actor: str, usccs: Iterable[str], *, at=None,
              without_consent: int = 0) -> None:
        """Count one request of ``actor`` for ``usccs``; raise if the breaker is (or trips) open.

        Parameters
        ----------
        actor : str
            Who asks (a user, a service account).
        usccs : iterable of str
            The enterprises requested.
        at : datetime-like, optional
            When (default now).
        without_consent : int
            How many of them lacked live consent.
        """
        at = now_in_beijing() if at is None else pd.Timestamp(at)
        usccs = self._tag(usccs)
        lim = self.limits
        with self._state() as st:
            me = st.setdefault(actor, {"requests": [], "enterprises": {}, "no_consent": []})
            if me.get("tripped"):
                raise AccessRefused(f"access of {actor!r} is suspended since "
                                    f"{me['tripped']['at']} ({me['tripped']['why']}); a "
                                    "supervisor must reset the breaker")
            t = at.timestamp()
            me["requests"] = [x for x in me["requests"] if x > t - 60] + [t]
            ents = {u: s for u, s in me["enterprises"].items() if s > t - 3600}
            ents.update(dict.fromkeys(usccs, t))
            me["enterprises"] = ents
            me["no_consent"] = [x for x in me["no_consent"] if x > t - 3600] + \
                [t] * int(without_consent)
            if lim.night_start > lim.night_end:  # the night wraps midnight (22 → 6)
                night = at.hour >= lim.night_start or at.hour < lim.night_end
            else:  # e.g. 0 → 6
                night = lim.night_start <= at.hour < lim.night_end
            why = None
            if len(me["requests"]) > lim.requests_per_minute:
                why = f"{len(me['requests'])} requests in a minute (limit " \
                      f"{lim.requests_per_minute})"
            elif len(ents) > lim.enterprises_per_hour:
                why = f"{len(ents)} enterprises in an hour (limit {lim.enterprises_per_hour})"
            elif len(me["no_consent"]) > lim.no_consent_per_hour:
                why = f"{len(me['no_consent'])} requests without consent in an hour (limit " \
                      f"{lim.no_consent_per_hour})"
            elif night and len(usccs) > lim.off_hours_bulk:
                why = f"bulk pull of {len(usccs)} enterprises at {at:%H:%M} (limit " \
                      f"{lim.off_hours_bulk} outside office hours)"
            if why:
                me["tripped"] = {"at": str(at), "why": why}
        if why:
            if self.audit is not None:
                self.audit.append(event="breaker_tripped", actor=actor, at=str(at), why=why)
            raise AccessRefused(f"access of {actor!r} suspended: {why}; a supervisor must "
                                "reset the breaker")

    def reset(self, actor: str, *, by: str, note: str = "") -> None:
        """Close the breaker for ``actor`` (an explicit, audited act)."""
        if not by:
            raise ValueError("reset needs the name of who resets it (by=…)")
        with self._state() as st:
            was = st.get(actor, {}).get("tripped")
            st[actor] = {"requests": [], "enterprises": {}, "no_consent": []}
        if self.audit is not None:
            self.audit.append(event="breaker_reset", actor=actor, by=by, note=note,
                              was=was)
