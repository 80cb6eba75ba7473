"""The `lienthong` command line: sources, simulate, sync, extract, load, report, demo, migrate."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import DBAPIError

from connectors.connection import ConnectionNotConfigured
from connectors.errors import SourceError
from lienthong import fees_cli, registry, render, report_cli
from lienthong.landing import LandingError, LandingIntegrityError
from lienthong.orchestration import WindowError, parse_instant
from lienthong.settings import Settings, SettingsError, demo_environ, load
from lienthong.standins import StandInsMissing
from warehouse.db import WarehouseNotReady

log = logging.getLogger("lienthong")
# The landing store failed verification (docs: README.md, "Exit codes").
EXIT_LANDING_REFUSED = 4


def instant_argument(text: str) -> datetime:
    """An ISO date or date-time, local time without a zone (orchestration.parse_instant, the one
    parser the CLI and the DAGs share), its error as argparse's one line."""
    try:
        return parse_instant(text)
    except WindowError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lienthong", description=__doc__)
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    sub.add_parser("sources", help="the source registry as a table")
    sub.add_parser("migrate", help="upgrade the warehouse schema to the latest migration")

    sim = sub.add_parser("simulate", help="serve every source's stand-in over HTTP")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8765)
    sim.add_argument("--seed", type=int, default=2019)
    sim.add_argument("--scenario", default="langson-2019h1")
    sim.add_argument("--faults", default="", help="fault knobs, e.g. error_rate=0.2,latency=0.05")

    sync = sub.add_parser("sync", help="sync a source into the warehouse")
    sync.add_argument("source", choices=sorted(registry.SOURCES))
    sync.add_argument("--since", type=instant_argument, help="window start (default: watermark)")
    sync.add_argument("--until", type=instant_argument, help="window end, exclusive (default: now)")

    for name, text in (
        ("extract", "fetch a window into the landing store"),
        ("load", "load a window from the landing store (no remote call)"),
    ):
        stage = sub.add_parser(name, help=text)
        stage.add_argument("source", choices=sorted(registry.SOURCES))
        stage.add_argument("--since", type=instant_argument, required=True)
        stage.add_argument("--until", type=instant_argument, required=True)
        stage.add_argument("--landing", help="landing store URL (default: LIENTHONG_LANDING_URL)")

    report_cli.add_parsers(sub)
    fees_cli.add_parsers(sub)

    demo = sub.add_parser("demo", help="stand-ins + sync + report on the local warehouse")
    demo.add_argument("--seed", type=int, default=2019)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not args.verbose:  # alembic narrates every schema check at INFO
        logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        # Only the demo may run on the published demo key (lienthong.settings).
        settings = load(demo_environ() if args.command == "demo" else os.environ)
        return COMMANDS[args.command](args, settings)
    except WarehouseNotReady as exc:
        # A reading command found nothing it may read; it created and migrated nothing.
        print(f"lienthong: error: {exc}", file=sys.stderr)
        return report_cli.EXIT_NOT_READY
    except LandingIntegrityError as exc:
        # Someone with write access to the landing store changed a window: nothing of the
        # refused stream was loaded, its audit row says why. Not a configuration error.
        print(f"lienthong: error: {exc}", file=sys.stderr)
        return EXIT_LANDING_REFUSED
    except (SettingsError, ConnectionNotConfigured, SourceError, LandingError, ValueError) as exc:
        print(f"lienthong: error: {exc}", file=sys.stderr)
        return 2
    except StandInsMissing as exc:  # `demo` and `simulate` on an install without the stand-ins
        print(f"lienthong: error: {exc}", file=sys.stderr)
        return 2
    except DBAPIError as exc:
        # The warehouse itself failed (down, unreachable, connection cut): the batch was rolled
        # back and its audit row says so where it could be written.
        print(f"lienthong: error: the warehouse is unavailable: {exc.orig}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130


def cmd_sources(args, settings: Settings) -> int:
    rows = [
        [s.key, s.protocol, s.conn_id, ", ".join(st.name for st in s.streams), s.title]
        for s in registry.SOURCES.values()
    ]
    print(
        render.text_table(
            ["source", "protocol", "connection", "streams", "system"], rows, right_from=99
        )
    )
    return 0


def cmd_migrate(args, settings: Settings) -> int:
    from warehouse.db import make_engine, upgrade

    applied = upgrade(make_engine(settings.warehouse_url))
    print("schema upgraded" if applied else "schema already up to date")
    return 0


def cmd_simulate(args, settings: Settings) -> int:
    from lienthong import standins

    stand = standins.load()
    app = stand.stand_ins(seed=args.seed, scenario=args.scenario, faults=args.faults)
    with contextlib.ExitStack() as stack:
        try:
            base_url = stack.enter_context(stand.serve(app, host=args.host, port=args.port))
        except OSError as exc:  # the port is taken, or not ours to bind
            raise SettingsError(
                f"cannot serve the stand-ins on {args.host}:{args.port}: {exc.strerror or exc}"
                " (choose another --port)"
            ) from None
        print(f"stand-ins serving on {base_url} (scenario {args.scenario}, seed {args.seed})")
        for source in registry.SOURCES.values():
            print(f"  export {source.env_var}='{stand.stand_in_uri(base_url, source.key)}'")
        print("Ctrl-C to stop", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


def _progress():
    last = [0.0]

    def report(name: str, counts, elapsed: float) -> None:
        if elapsed - last[0] >= 2.0:
            last[0] = elapsed
            rate = counts.read / elapsed if elapsed else 0
            print(f"  {name}: {counts.read:,} records, {rate:,.0f} rec/s", file=sys.stderr)

    return report


def cmd_sync(args, settings: Settings, **kwargs) -> int:
    from lienthong.pipeline import sync

    results = sync(
        args.source, settings, since=args.since, until=args.until, progress=_progress(), **kwargs
    )
    for result in results:
        print(result.summary())
    return 0


def cmd_extract(args, settings: Settings) -> int:
    from connectors.base import Window
    from lienthong import landing
    from lienthong.pipeline import extract

    root = landing.landing_root(args.landing, settings)
    manifest = extract(args.source, Window(args.since, args.until), settings, root=root)
    for stream, info in manifest["streams"].items():
        print(f"{args.source}.{stream}: {info['records']:,} records in {len(info['pages'])} pages")
    print(f"landed in {root / args.source / landing.window_key(Window(args.since, args.until))}")
    return 0


def cmd_load(args, settings: Settings) -> int:
    from connectors.base import Window
    from lienthong import landing
    from lienthong.pipeline import load as load_window

    results = load_window(
        args.source,
        Window(args.since, args.until),
        settings,
        root=landing.landing_root(args.landing, settings),
        progress=_progress(),
    )
    for result in results:
        print(result.summary())
    return 0


def cmd_demo(args, settings: Settings) -> int:
    from lienthong.demo import run_demo

    return run_demo(settings, seed=args.seed)


COMMANDS = {
    "sources": cmd_sources,
    "migrate": cmd_migrate,
    "simulate": cmd_simulate,
    "sync": cmd_sync,
    "extract": cmd_extract,
    "load": cmd_load,
    **report_cli.COMMANDS,
    **fees_cli.COMMANDS,
    "demo": cmd_demo,
}

if __name__ == "__main__":
    sys.exit(main())
