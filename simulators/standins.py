"""All stand-ins of the registry on one HTTP server, each under `/<source key>`, and the
connections that reach them: what `lienthong demo`, `lienthong simulate` and the tests use.

The stand-ins read the registry's data (keys, connection ids); the product never imports this
module but through `lienthong.standins.load`, when one of those two commands runs.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from connectors.connection import Connection
from lienthong.registry import SOURCES
from simulators import province
from simulators.faults import Faults
from simulators.server import PrefixDispatcher, serve

__all__ = [
    "DSTCODE",
    "PASSWORD",
    "USERNAME",
    "serve",
    "stand_in_connection",
    "stand_in_uri",
    "stand_ins",
]

# The stand-ins' own demo credentials: not secrets of any real system.
USERNAME, PASSWORD = "demo", "demo-secret"
DSTCODE = "000.00.01.H22"  # the center's agency code in the demo (H22 = Lạng Sơn)


def stand_ins(seed: int = 2019, scenario: str = "langson-2019h1", faults: str = ""):
    """A WSGI app mounting every registered source's stand-in under its key.

    The data sets are built together (`simulators.province`) so that ministry dossiers also
    entered at the one-stop counter appear in both systems, as in real life.
    """
    knobs = Faults.parse(faults) if faults else Faults()
    apps = province.stand_ins(scenario, seed, knobs)
    return PrefixDispatcher({f"/{key}": app for key, app in apps.items()})


def stand_in_connection(base_url: str, key: str) -> Connection:
    """The connection a source uses to reach its stand-in at `base_url`."""
    parts = urlsplit(base_url)
    return Connection(
        conn_id=SOURCES[key].conn_id,
        conn_type="http",
        host=parts.hostname or "127.0.0.1",
        port=parts.port,
        login=USERNAME,
        password=PASSWORD,
        schema=key,
        # Plain http, said out loud: allowed to loopback only (connectors.connection).
        extra={"protocol": "http", "dstcode": DSTCODE, "madonvi": DSTCODE},
    )


def stand_in_uri(base_url: str, key: str) -> str:
    """The same connection in Airflow's URI form, for AIRFLOW_CONN_<ID>."""
    parts = urlsplit(base_url)
    return (
        f"http://{quote(USERNAME)}:{quote(PASSWORD)}@{parts.hostname}:{parts.port}/{key}"
        f"?protocol=http&dstcode={DSTCODE}&madonvi={DSTCODE}"
    )
