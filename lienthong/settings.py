"""Settings from the environment: every `LIENTHONG_*` variable the product reads, read and checked
in one place (`load`), then passed down to the layers that use them (the same variables serve the
CLI, Airflow and the tests)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lienthong.warehouse_url import DEFAULT_WAREHOUSE_URL as DEFAULT_WAREHOUSE_URL
from lienthong.warehouse_url import resolve_warehouse_url
from warehouse.liveness import DEFAULT_STALE_AFTER, STALE_AFTER_VARIABLE


class SettingsError(RuntimeError, ValueError):
    """A setting the command needs is missing or wrong; the message says what to set.

    A ValueError too: a malformed number was one before it was read here."""


# The pseudonym key: whoever knows it can hash every 12-digit CCCD number (10^12 candidates, minutes
# on one GPU) and so reverse every applicant reference. A published key is therefore no key, and a
# short one may be a guessable passphrase: 32 characters is HMAC-SHA256's own output length, the
# floor RFC 2104 (section 3) sets for its keys, and `secrets.token_urlsafe(32)` gives 43.
DEMO_PSEUDONYM_KEY = "demo-only-key-not-secret-never-use-in-production"
MIN_PSEUDONYM_KEY_LENGTH = 32
# Set only by the demo entry points (`make demo`, `lienthong demo`, `make airflow`, the demo compose
# override): the one place where the published demo key is accepted.
DEMO_FLAG = "LIENTHONG_DEMO"
# Loudly named, and set only by the demo compose override: its stand-ins are another container,
# reached by name on the compose network. Ignored unless LIENTHONG_DEMO=1 too.
DEMO_PLAIN_HTTP_HOSTS = "LIENTHONG_DEMO_PLAIN_HTTP_HOSTS"
LANDING_KEY_VARIABLE = "LIENTHONG_LANDING_KEY"
MIN_LANDING_KEY_LENGTH = 32
DEFAULT_REPORTING_UNIT = "Trung tâm Phục vụ hành chính công tỉnh Lạng Sơn"
_KEY_FIX = "set a secret one, e.g. `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`"


@dataclass(frozen=True)
class Settings:
    warehouse_url: str
    var_dir: Path = Path("var")
    pseudonym_key: bytes | None = None
    # Checked where it is used (require_landing_key): only extract and load need it.
    landing_key: bytes | None = None
    landing_url: str | None = None  # the landing store (any fsspec URL); None: under var_dir
    reports_url: str | None = None  # where the DAG writes reports; None: under var_dir
    reporting_unit: str = DEFAULT_REPORTING_UNIT  # the unit named on the official forms
    map_workers: int | None = None  # mapping worker processes asked for; None: by core count
    map_worker_from: int | None = None  # records a stream shows before its worker starts
    batch_stale_after: float = DEFAULT_STALE_AFTER  # seconds without a heartbeat: abandoned
    demo: bool = False
    demo_plain_http_hosts: frozenset[str] = frozenset()  # only when `demo`

    @property
    def reports_dir(self) -> Path:
        return self.var_dir / "reports"

    def require_pseudonym_key(self) -> bytes:
        """The key of the keyed hash of ID numbers: loading without it is refused."""
        if not self.pseudonym_key:
            raise SettingsError(
                "LIENTHONG_PSEUDONYM_KEY is not set: it keys the hash that replaces ID numbers "
                "(set it from a secret store; `make demo` and `lienthong demo` use a demo-only key)"
            )
        return self.pseudonym_key

    def require_landing_key(self) -> bytes:
        """The MAC key of the landing store's manifests (a secret store in production).

        There is no fallback: `make demo` and `make test` set a demo-only value themselves.
        """
        key = self.landing_key or b""
        if not key:
            raise SettingsError(
                f"{LANDING_KEY_VARIABLE} is not set: it authenticates the landing store's "
                "manifests (set it from a secret store; `make demo` and `make test` use a "
                "demo-only key)"
            )
        if len(key.decode()) < MIN_LANDING_KEY_LENGTH:
            raise SettingsError(
                f"{LANDING_KEY_VARIABLE} is too short: use at least {MIN_LANDING_KEY_LENGTH} "
                "characters"
            )
        return key

    def landing_store_url(self) -> str:
        """LIENTHONG_LANDING_URL (any fsspec URL), else the folder `landing` in the var dir."""
        return self.landing_url or (self.var_dir.resolve() / "landing").as_uri()

    def reports_store_url(self) -> str:
        """LIENTHONG_REPORTS_URL (any fsspec URL), else the folder `reports` in the var dir."""
        return self.reports_url or (self.var_dir.resolve() / "reports").as_uri()


def load(environ: Mapping[str, str] = os.environ) -> Settings:
    """Every setting, read and checked: a wrong value fails here, in one line that names it."""
    key = checked_pseudonym_key(environ)
    demo = environ.get(DEMO_FLAG) == "1"
    hosts = {h.strip().lower() for h in environ.get(DEMO_PLAIN_HTTP_HOSTS, "").split(",")}
    landing_key = environ.get(LANDING_KEY_VARIABLE, "")
    return Settings(
        warehouse_url=resolve_warehouse_url(environ),  # lienthong/warehouse_url.py
        var_dir=Path(environ.get("LIENTHONG_VAR_DIR") or "var"),
        pseudonym_key=key.encode() if key else None,
        landing_key=landing_key.encode() if landing_key else None,
        landing_url=environ.get("LIENTHONG_LANDING_URL") or None,
        reports_url=environ.get("LIENTHONG_REPORTS_URL") or None,
        reporting_unit=reporting_unit(environ),
        map_workers=_count(environ, "LIENTHONG_MAP_WORKERS"),
        map_worker_from=_count(environ, "LIENTHONG_MAP_WORKER_FROM"),
        batch_stale_after=_stale_after(environ),
        demo=demo,
        demo_plain_http_hosts=frozenset(hosts - {""}) if demo else frozenset(),
    )


def reporting_unit(environ: Mapping[str, str] = os.environ) -> str:
    """The unit named on the official forms: LIENTHONG_REPORTING_UNIT, else Lạng Sơn's centre.

    Read alone by the form renderers, which run without the rest of the settings."""
    return environ.get("LIENTHONG_REPORTING_UNIT", DEFAULT_REPORTING_UNIT)


def _count(environ: Mapping[str, str], name: str) -> int | None:
    value = environ.get(name)
    if value is None or not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        raise SettingsError(f"{name} is not a number: {value!r}") from None


def _stale_after(environ: Mapping[str, str]) -> float:
    text = environ.get(STALE_AFTER_VARIABLE, "").strip()
    if not text:
        return DEFAULT_STALE_AFTER
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise SettingsError(
            f"{STALE_AFTER_VARIABLE} must be a number of seconds above 0, not {text!r}"
        )
    return value


def checked_pseudonym_key(environ: Mapping[str, str]) -> str:
    """LIENTHONG_PSEUDONYM_KEY, refused when it is the published demo key outside the demo or
    shorter than MIN_PSEUDONYM_KEY_LENGTH; empty when unset (loading then refuses to run)."""
    key = environ.get("LIENTHONG_PSEUDONYM_KEY", "")
    if key == DEMO_PSEUDONYM_KEY and environ.get(DEMO_FLAG) != "1":
        raise SettingsError(
            "LIENTHONG_PSEUDONYM_KEY is the published demo key, which only the demo "
            f"({DEMO_FLAG}=1) may use: {_KEY_FIX}"
        )
    if key and len(key) < MIN_PSEUDONYM_KEY_LENGTH:
        raise SettingsError(
            f"LIENTHONG_PSEUDONYM_KEY is too short ({len(key)} characters, at least "
            f"{MIN_PSEUDONYM_KEY_LENGTH} resist brute force): {_KEY_FIX}"
        )
    return key


def demo_environ(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The environment `lienthong demo` runs in: marked as the demo, with the demo key unless the
    caller set a key of their own."""
    chosen = {**environ, DEMO_FLAG: "1"}
    chosen["LIENTHONG_PSEUDONYM_KEY"] = chosen.get("LIENTHONG_PSEUDONYM_KEY") or DEMO_PSEUDONYM_KEY
    return chosen
