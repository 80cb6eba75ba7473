"""The peer: dlt's REST client (POST paging, session login) into dlt's sqlalchemy destination."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import requests

from simulators.standins import DSTCODE, PASSWORD, USERNAME


def login(http: requests.Session, base_url: str) -> str:
    """A session token of the one-stop stand-in (the API's POST /api/login)."""
    reply = http.post(
        f"{base_url}/one_stop/api/login",
        json={"username": USERNAME, "password": PASSWORD},
        headers={"dstcode": DSTCODE},
        timeout=30,
    ).json()
    return reply["session"]


def load_with_dlt(base_url: str, db_url: str, pipelines_dir: str) -> int:
    """Load every dossier page into ``db_url`` with dlt; returns the records loaded.

    dlt is given the easier job: `append` into an empty table (no upsert, no history, no
    mapping), and its default normalisation of nested lists into child tables.
    """
    import os

    # One load job at a time: SQLite takes one writer, and dlt's default of parallel load jobs
    # only meets "database is locked" and retries (its best setting for this destination).
    os.environ.setdefault("LOAD__WORKERS", "1")

    import dlt
    from dlt.sources.helpers.rest_client import RESTClient
    from dlt.sources.helpers.rest_client.paginators import PageNumberPaginator

    with requests.Session() as http:
        session = login(http, base_url)
    client = RESTClient(base_url=f"{base_url}/one_stop/")
    body = {
        "session": session,
        "madonvi": DSTCODE,
        "service": "LayDanhSachHoSo",
        "TuNgay": "20180101070000",
        "DenNgay": "20191231070000",
        "SoBanGhi": 1000,
    }

    @dlt.resource(name="dossiers", write_disposition="append", primary_key="MaHoSo")
    def dossiers() -> Iterator[list[dict[str, Any]]]:
        paginator = PageNumberPaginator(
            base_page=1, page_body_path="Trang", total_path="TongSoTrang"
        )
        yield from client.paginate(
            "api/service", method="POST", json=body, paginator=paginator, data_selector="data"
        )

    pipeline = dlt.pipeline(
        pipeline_name="lienthong_bench",
        pipelines_dir=pipelines_dir,
        destination=dlt.destinations.sqlalchemy(credentials=db_url),
        dataset_name="bench",
        progress=None,
    )
    info = pipeline.run(dossiers())
    info.raise_on_failed_jobs()
    counts = pipeline.last_trace.last_normalize_info.row_counts
    return int(counts.get("dossiers", 0))
