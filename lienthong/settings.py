"""Settings from the environment (the same variables serve the CLI, Airflow and the tests)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lienthong.warehouse_url import DEFAULT_WAREHOUSE_URL as DEFAULT_WAREHOUSE_URL
from lienthong.warehouse_url import resolve_warehouse_url


class SettingsError(RuntimeError):
    """A setting the command needs is missing or wrong; the message says what to set."""


@dataclass(frozen=True)
class Settings:
    warehouse_url: str
    var_dir: Path
    pseudonym_key: bytes | None

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


def load(environ: Mapping[str, str] = os.environ) -> Settings:
    key = checked_pseudonym_key(environ)
    return Settings(
        warehouse_url=resolve_warehouse_url(environ),  # lienthong/warehouse_url.py
        var_dir=Path(environ.get("LIENTHONG_VAR_DIR") or "var"),
        pseudonym_key=key.encode() if key else None,
    )


# The pseudonym key: whoever knows it can hash every 12-digit CCCD number (10^12 candidates, minutes
# on one GPU) and so reverse every applicant reference. A published key is therefore no key, and a
# short one may be a guessable passphrase: 32 characters is HMAC-SHA256's own output length, the
# floor RFC 2104 (section 3) sets for its keys, and `secrets.token_urlsafe(32)` gives 43.
DEMO_PSEUDONYM_KEY = "demo-only-key-not-secret-never-use-in-production"
MIN_PSEUDONYM_KEY_LENGTH = 32
# Set only by the demo entry points (`make demo`, `lienthong demo`, `make airflow`, the demo compose
# override): the one place where the published demo key is accepted.
DEMO_FLAG = "LIENTHONG_DEMO"
_KEY_FIX = "set a secret one, e.g. `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`"


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
