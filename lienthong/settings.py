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
                "(set it from a secret store; `make demo` and `make test` use a demo-only key)"
            )
        return self.pseudonym_key


def load(environ: Mapping[str, str] = os.environ) -> Settings:
    key = environ.get("LIENTHONG_PSEUDONYM_KEY", "")
    if key and len(key) < 16:
        raise SettingsError("LIENTHONG_PSEUDONYM_KEY is too short: use at least 16 characters")
    return Settings(
        warehouse_url=resolve_warehouse_url(environ),  # lienthong/warehouse_url.py
        var_dir=Path(environ.get("LIENTHONG_VAR_DIR") or "var"),
        pseudonym_key=key.encode() if key else None,
    )
