"""The product's one door to the stand-ins (`simulators/`): development tooling that only
`lienthong demo` and `lienthong simulate` use, imported when one of them runs, never before.

Syncs, loads and reports run without the stand-ins; an install that lacks them gets one line
saying so from the two commands that need them (exit 2), not a traceback.
"""

from __future__ import annotations

from types import ModuleType


class StandInsMissing(Exception):
    """The stand-ins (or a module they need) are not installed where the command runs."""


def load() -> ModuleType:
    """`simulators.standins`: every stand-in on one server, and the connections that reach them."""
    try:
        from simulators import standins
    except ModuleNotFoundError as exc:
        # The CLI is running, so the product is installed: what is missing is the stand-ins.
        raise StandInsMissing(
            f"the stand-ins are not installed (no module named {exc.name!r}): they are "
            "development tooling of the repository; install it with `make install` "
            "(pip install -e '.[dev]')"
        ) from None
    return standins
