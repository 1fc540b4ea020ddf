"""A bank's governance settings as data: where consents, the audit log and the breaker live.

One TOML file, wired in once (``taxcredit --governance FILE`` or the environment variable
``TAXCREDIT_GOVERNANCE``)::

    bank = "ICBC-SZ"                          # only this bank's authorisations count
    consents = "/data/consents.parquet"       # default: the data folder's consents table
    audit_log = "/var/log/taxcredit/audit.jsonl"
    key_file = "/etc/taxcredit/audit.key"     # secret for keyed fingerprints (>= 16 bytes)

    [breaker]
    state = "/var/lib/taxcredit/breaker.json" # shared by every process
    limits = { requests_per_minute = 120, enterprises_per_hour = 5000 }

    [breaker.actors.risk-batch]               # a service account's own limits
    enterprises_per_hour = 2000000
    off_hours_bulk = 2000000

Relative paths are relative to the file's folder. Without a ``[breaker]`` table there is no
breaker (its counts must live in a file every process shares); consent, purpose, audit and
masking are always on.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..data.io import list_table_files
from ..errors import ConsentError
from .audit import AuditLog
from .breaker import BreakerLimits, CircuitBreaker
from .consent import ConsentRegistry
from .governed import Governance

__all__ = ["GovernanceConfig", "default_audit_log", "home", "user_key"]

_KEYS = {"bank", "consents", "audit_log", "key_file", "breaker"}
_BREAKER_KEYS = {"state", "limits", "actors"}


@dataclass(frozen=True)
class GovernanceConfig:
    """Where a bank keeps its consents, audit log, fingerprint key and breaker state.

    Parameters
    ----------
    bank : str, optional
        Only this bank's authorisations count.
    consents : str, optional
        Consent table (.csv, .parquet, .json/.jsonl); default: the data folder's ``consents``.
    audit_log : str, optional
        The hash-chained audit log.
    key_file : str, optional
        Secret for the keyed fingerprints in the log, the ``uscc_key`` pseudonyms of masked
        outputs and the breaker's tags (default: ``audit.key`` in :func:`home`, created
        owner-only on first use — never beside the outputs it would unlock).
    breaker_state : str, optional
        JSON file holding the breaker's counts; no breaker without it.
    breaker_limits : dict
        Default limits (see :class:`BreakerLimits`).
    actor_limits : dict of str → dict
        Limits of particular actors, over the defaults.
    base : str
        Folder that relative paths start from.
    """

    bank: str | None = None
    consents: str | None = None
    audit_log: str | None = None
    key_file: str | None = None
    breaker_state: str | None = None
    breaker_limits: dict = field(default_factory=dict)
    actor_limits: dict = field(default_factory=dict)
    base: str = "."

    def __post_init__(self) -> None:
        BreakerLimits.from_dict(self.breaker_limits)  # fail on load, not on first use
        for actor, lim in self.actor_limits.items():
            try:
                BreakerLimits.from_dict({**self.breaker_limits, **lim})
            except (TypeError, ValueError) as exc:
                raise ValueError(f"governance [breaker.actors.{actor}]: {exc}") from exc

    # ------------------------------------------------------------------ IO
    @classmethod
    def from_dict(cls, d: dict | None, *, base=".") -> GovernanceConfig:
        """Build from the file's tables (unknown keys are an error, naming the table)."""
        d = dict(d or {})
        extra = sorted(set(d) - _KEYS)
        if extra:
            raise ValueError(f"governance: unknown setting(s) {extra}; expected {sorted(_KEYS)}")
        br = dict(d.pop("breaker", None) or {})
        extra = sorted(set(br) - _BREAKER_KEYS)
        if extra:
            raise ValueError(f"governance [breaker]: unknown setting(s) {extra}; expected "
                             f"{sorted(_BREAKER_KEYS)}")
        for k, v in d.items():
            if not isinstance(v, str) or not v:
                raise ValueError(f"governance: {k} must be a non-empty text, got {v!r}")
        if br and "state" not in br:
            raise ValueError("governance [breaker]: give state = FILE (the counts every "
                             "process shares)")
        return cls(**d, breaker_state=br.get("state"), breaker_limits=dict(br.get("limits", {})),
                   actor_limits={str(a): dict(v) for a, v in br.get("actors", {}).items()},
                   base=str(base))

    @classmethod
    def from_toml(cls, path) -> GovernanceConfig:
        """Read a governance TOML file."""
        path = Path(path)
        if not path.is_file():
            raise ConsentError(f"{path}: no such governance file")
        try:
            d = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML ({exc})") from exc
        try:
            return cls.from_dict(d, base=path.parent)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc

    def to_dict(self) -> dict:
        """Return the settings as the TOML file holds them."""
        d = {k: getattr(self, k) for k in ("bank", "consents", "audit_log", "key_file")
             if getattr(self, k) is not None}
        if self.breaker_state is not None:
            d["breaker"] = {"state": self.breaker_state, "limits": dict(self.breaker_limits),
                            "actors": {a: dict(v) for a, v in self.actor_limits.items()}}
        return d

    # ------------------------------------------------------------------ use
    def _path(self, p) -> Path:
        p = Path(p).expanduser()
        return p if p.is_absolute() else Path(self.base) / p

    def limits_for(self, actor: str) -> BreakerLimits:
        """Return the breaker limits of ``actor`` (its own over the defaults)."""
        return BreakerLimits.from_dict({**self.breaker_limits,
                                        **self.actor_limits.get(actor, {})})

    def registry(self, *, data=None, consents=None) -> ConsentRegistry:
        """Load the consent table: ``consents``, else the configured one, else the data's."""
        if consents is None and self.consents is not None:
            consents = self._path(self.consents)
        if consents is not None:
            return ConsentRegistry.from_file(consents, bank=self.bank)
        files = list_table_files(Path(data)) if data is not None else {}
        if "consents" not in files:
            where = f"the data folder {data} has no consents table and " if data else ""
            raise ConsentError(
                f"no consent table: {where}no consents file is given (--consents FILE, or "
                "consents = FILE in the governance file). Tax data are processed only with "
                "the enterprise's authorisation; see the README, 'Wiring in your consents'.")
        return ConsentRegistry.from_file(files["consents"], bank=self.bank)

    def governance(self, *, actor: str, data=None, consents=None, audit_log=None,
                   mask: bool = True) -> Governance:
        """Build the :class:`Governance` of one actor.

        Parameters
        ----------
        actor : str
            Who uses the data.
        data : path-like, optional
            Data folder whose ``consents`` table is the default.
        consents, audit_log : path-like, optional
            Override the configured files.
        mask : bool
            Mask identifiers in outputs (``False`` only for authorised internal use).
        """
        log = audit_log if audit_log is not None else (
            self._path(self.audit_log) if self.audit_log is not None else None)
        if log is None:
            raise ConsentError("no audit log: give --audit-log FILE (or audit_log = FILE in "
                               "the governance file); every use of tax data is recorded")
        audit = AuditLog(log)
        secret = (_read_key(self._path(self.key_file), create=False)
                  if self.key_file is not None else user_key())
        breaker = None
        if self.breaker_state is not None:
            breaker = CircuitBreaker(self.limits_for(actor), audit=audit,
                                     state=self._path(self.breaker_state), key=secret)
        return Governance(self.registry(data=data, consents=consents), actor=actor,
                          audit=audit, breaker=breaker, mask=mask, key=secret)


def home() -> Path:
    """Return the user's taxcredit folder: ``$TAXCREDIT_HOME``, else ``~/.taxcredit``.

    It holds the default audit log and fingerprint key of a user without a governance file;
    created owner-only.
    """
    path = Path(os.environ.get("TAXCREDIT_HOME") or Path.home() / ".taxcredit").expanduser()
    if not path.is_dir():
        path.mkdir(parents=True, mode=0o700, exist_ok=True)
    return path


def user_key() -> bytes:
    """Return the user's fingerprint key: ``audit.key`` in :func:`home`, made on first use.

    The key every command without a governance file uses, so their ``uscc_key`` pseudonyms
    and log fingerprints agree from run to run.
    """
    return _read_key(home() / "audit.key", create=True)


def default_audit_log() -> Path:
    """Return the default audit log: ``$TAXCREDIT_AUDIT_LOG``, else ``<home>/audit.jsonl``."""
    env = os.environ.get("TAXCREDIT_AUDIT_LOG")
    return Path(env).expanduser() if env else home() / "audit.jsonl"


def _read_key(path: Path, *, create: bool) -> bytes:
    """Read the fingerprint key; create a random one (owner-only) when allowed and missing."""
    if not path.is_file():
        if not create:
            raise ConsentError(f"{path}: no such key file (governance key_file)")
        path.parent.mkdir(parents=True, exist_ok=True)
        # written whole under a temporary name, then linked into place: a process starting at
        # the same moment sees no key or the whole key, never a half-written one
        fd, tmp = tempfile.mkstemp(prefix=".audit-key-", dir=path.parent)
        try:
            os.write(fd, secrets.token_hex(32).encode())
            os.fsync(fd)
            os.close(fd)
            try:
                os.link(tmp, path)
            except FileExistsError:  # another process made it first: use theirs
                pass
        finally:
            os.unlink(tmp)
    secret = path.read_bytes().strip()
    if len(secret) < 16:
        raise ConsentError(f"{path}: the fingerprint key must be at least 16 bytes")
    return secret
