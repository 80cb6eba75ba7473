"""`lienthong sync` that SIGKILLs itself at one chosen point (see test_crash_consistency).

    python -m tests.reliability.kill_points POINT STREAM N -- sync one_stop --since ... --until ...

POINT is where the process dies, in the batch of STREAM:
- `fetch`: during the N-th call to the source while fetching STREAM, before its first page loads;
- `pages`: inside the load transaction, right after its N-th page was written;
- `finish`: in the batch's final step, after the audit row and the watermark were written and
  just before the commit;
- `between`: right after STREAM's batch committed, before the next stream's batch begins.

Nothing of the product changes: the points are planted by wrapping the loader's and the REST
client's methods in this process only.
"""

from __future__ import annotations

import functools
import os
import signal
import sys

POINTS = ("fetch", "pages", "finish", "between")
PAGE_SIZE = 100  # several dossier pages per window of the small scenario


def die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def plant(point: str, stream: str, n: int) -> None:
    from connectors import one_stop, rest
    from warehouse.loader import Batch

    if point not in POINTS:
        raise SystemExit(f"unknown kill point {point!r}; known: {', '.join(POINTS)}")
    one_stop.OneStopConnector = functools.partial(one_stop.OneStopConnector, page_size=PAGE_SIZE)
    current: list[Batch] = []  # the open batch, so a fetch knows whose pages it is getting

    enter, exit_ = Batch.__enter__, Batch.__exit__

    def entering(self):
        batch = enter(self)
        current[:] = [self]
        return batch

    def exiting(self, *exc_info):
        try:
            return exit_(self, *exc_info)
        finally:
            current.clear()
            if point == "between" and self.stream == stream and self.outcome == "succeeded":
                die()

    Batch.__enter__, Batch.__exit__ = entering, exiting

    if point == "fetch":
        post = rest.RestClient.post_json
        calls = [0]

        def posting(self, *args, **kwargs):
            if current and current[0].stream == stream:
                assert current[0].counts.read == 0, "the batch already loaded a page"
                calls[0] += 1
                if calls[0] == n:
                    die()
            return post(self, *args, **kwargs)

        rest.RestClient.post_json = posting
    elif point == "pages":
        # Every page goes through the innermost of the loader's page methods exactly once.
        method = "load_prepared" if hasattr(Batch, "load_prepared") else "load_page"
        load_page = getattr(Batch, method)
        pages = [0]

        def loading(self, *args, **kwargs):
            counts = load_page(self, *args, **kwargs)
            if self.stream == stream:
                pages[0] += 1
                if pages[0] == n:
                    die()
            return counts

        setattr(Batch, method, loading)
    elif point == "finish":
        finish = Batch._finish

        def finishing(self, conn):
            finish(self, conn)
            if self.stream == stream:
                die()

        Batch._finish = finishing


def main(argv: list[str]) -> int:
    point, stream, n, separator, *cli_args = argv
    if separator != "--":
        raise SystemExit(__doc__)
    plant(point, stream, int(n))
    from lienthong.cli import main as cli

    return cli(cli_args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
