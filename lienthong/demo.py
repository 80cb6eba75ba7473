"""`lienthong demo`: the stand-ins, a sync of every source and the H1 2019 reports, end to end."""

from __future__ import annotations

import time
from datetime import date, datetime

from sqlalchemy import func, select

from connectors.base import LOCAL_TZ
from lienthong import fees_cli, registry, reports, standins
from lienthong.pipeline import sync
from lienthong.settings import Settings
from warehouse import schema
from warehouse.db import make_engine, upgrade
from warehouse.reconciliation import reconcile
from warehouse.reports.periods import Period, parse_period

SCENARIO = "langson-2019h1"
# The scenario's history starts in October 2018 so that dossiers carried over into 2019 exist;
# its clock stands at 1 July 2019, when the H1 report is compiled.
SINCE = datetime(2018, 10, 1, tzinfo=LOCAL_TZ)
UNTIL = datetime(2019, 7, 1, tzinfo=LOCAL_TZ)
PERIOD = (date(2019, 1, 1), date(2019, 6, 30))


def run_demo(settings: Settings, seed: int = 2019) -> int:
    started = time.monotonic()
    stand = standins.load()  # before anything is created: without the stand-ins, no demo
    engine = make_engine(settings.warehouse_url)
    upgrade(engine)
    print(f"warehouse: {engine.url.render_as_string(hide_password=True)}")
    with stand.serve(stand.stand_ins(seed=seed, scenario=SCENARIO)) as base_url:
        print(f"stand-ins: {base_url} (scenario {SCENARIO}, seed {seed})")
        for key in registry.SOURCES:
            print(f"syncing {key} {SINCE.date()} .. {UNTIL.date()}")
            for result in sync(
                key,
                settings,
                since=SINCE,
                until=UNTIL,
                engine=engine,
                connection=stand.stand_in_connection(base_url, key),
                run_id="demo",
            ):
                print(f"  {result.summary()}")
    print()
    print(_links_summary(engine))
    print()
    half = Period(*PERIOD)
    built = reports.build(engine, half, reports.defaults(["phu-luc-01", "satisfaction"]))
    print(reports.REPORTS["phu-luc-01"].table(built["phu-luc-01"]))
    print()
    print(reports.REPORTS["satisfaction"].table(built["satisfaction"]).split("\n\n")[0])
    print()
    result = reconcile(engine, *PERIOD)
    print(fees_cli.reconciliation_table(result))
    print()
    out = settings.reports_dir
    written = [
        reports.save_xlsx(
            {"phu-luc-01": built["phu-luc-01"]},
            None,
            out / f"phu-luc-01_{PERIOD[0]}_{PERIOD[1]}.xlsx",
        ),
        fees_cli.exceptions_xlsx(result, out / f"reconciliation_{PERIOD[0]}_{PERIOD[1]}.xlsx"),
        # Every official report of the half year, as one workbook and one HTML page.
        *reports.write_reports(engine, parse_period("2019-H1"), out),
    ]
    for path in written:
        print(f"wrote {path}")
    print(f"demo finished in {time.monotonic() - started:.1f}s")
    return 0


def _links_summary(engine) -> str:
    """How many counter records were recognised as ministry dossiers (counted once)."""
    d = schema.dossiers
    with engine.connect() as conn:
        rows = conn.execute(
            select(d.c.link_rule, func.count())
            .where(d.c.linked_to.is_not(None))
            .group_by(d.c.link_rule)
            .order_by(d.c.link_rule)
        ).all()
    detail = ", ".join(f"{n:,} by {rule.replace('_', ' ')}" for rule, n in rows) or "none"
    return f"one count per real dossier: one-stop records linked to ministry records: {detail}"
