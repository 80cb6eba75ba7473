"""The source registry: each source named once. The CLI, the DAGs, the stand-ins and the
generic contract tests are all derived from it.

Connectors, mappings and stand-ins are named by dotted path and imported on use, so that
reading the registry (e.g. when Airflow parses the DAG files) imports no protocol stack.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any


@dataclass(frozen=True)
class Stream:
    """One kind of record a source serves."""

    name: str  # as the connector calls it
    mapping: str  # "module:function" raw record -> canonical record | Rejection
    # False: a catalogue fetched whole on every sync. Declared here only: the connector and
    # the pipeline both read it from the registry (connectors.base.windowed_streams).
    windowed: bool = True
    redact: str | None = None  # "module:function" applied to raw records before quarantine


@dataclass(frozen=True)
class Source:
    key: str
    title: str
    protocol: str  # REST | SOAP
    connector: str  # "module:Class", constructed with a Connection
    streams: tuple[Stream, ...]
    simulator: str  # "module:function" (seed, scenario, faults) -> WSGI app
    lookback: timedelta = timedelta(hours=2)  # overlap with the previous window

    @property
    def conn_id(self) -> str:
        return f"lienthong_{self.key}"

    @property
    def env_var(self) -> str:
        """The variable that holds the connection, in Airflow's form."""
        return f"AIRFLOW_CONN_{self.conn_id.upper()}"


def load_object(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


SOURCES: dict[str, Source] = {
    s.key: s
    for s in (
        Source(
            key="one_stop",
            title="Một cửa điện tử / Dịch vụ công trực tuyến (province)",
            protocol="REST",
            connector="connectors.one_stop:OneStopConnector",
            streams=(
                Stream("agencies", "mappings.one_stop:map_agency", windowed=False),
                Stream("procedures", "mappings.one_stop:map_procedure", windowed=False),
                Stream(
                    "dossiers",
                    "mappings.one_stop:map_dossier",
                    redact="mappings.one_stop:redact_dossier",
                ),
                Stream("ratings", "mappings.one_stop:map_rating"),
            ),
            simulator="simulators.one_stop:make_stand_in",
        ),
        Source(
            key="business_registration",
            title="Hệ thống thông tin quốc gia về đăng ký doanh nghiệp (national)",
            protocol="SOAP",
            connector="connectors.business_registration:BusinessRegistrationConnector",
            streams=(
                Stream(
                    "dossiers",
                    "mappings.business_registration:map_dossier",
                    redact="mappings.business_registration:redact_dossier",
                ),
            ),
            simulator="simulators.business_registration:make_stand_in",
        ),
        Source(
            key="criminal_record",
            title="Lý lịch tư pháp — Bộ Tư pháp (LLTP)",
            protocol="SOAP",
            connector="connectors.criminal_record:CriminalRecordConnector",
            streams=(
                Stream(
                    "dossiers",
                    "mappings.criminal_record:map_dossier",
                    redact="mappings.criminal_record:redact_dossier",
                ),
            ),
            simulator="simulators.criminal_record:make_stand_in",
        ),
        Source(
            key="driving_licence",
            title="Hệ thống quản lý giấy phép lái xe — GPLX (national)",
            protocol="REST",
            connector="connectors.driving_licence:DrivingLicenceConnector",
            streams=(
                Stream(
                    "dossiers",
                    "mappings.driving_licence:map_dossier",
                    redact="mappings.driving_licence:redact_dossier",
                ),
            ),
            simulator="simulators.driving_licence:make_stand_in",
            # Overlap for changes committed late. The connector's own 60-day look-back over
            # receive dates finds dossiers received long ago that changed in the window.
            lookback=timedelta(days=1),
        ),
        Source(
            key="vietinbank",
            title="Cổng thanh toán phí, lệ phí Vietinbank",
            protocol="REST",
            connector="connectors.vietinbank:VietinbankConnector",
            streams=(
                Stream(
                    "transactions",
                    "mappings.vietinbank:map_transaction",
                    redact="mappings.vietinbank:redact_transaction",
                ),
                Stream("statements", "mappings.vietinbank:map_statement"),
            ),
            simulator="simulators.vietinbank:make_stand_in",
        ),
    )
}


def get(key: str) -> Source:
    try:
        return SOURCES[key]
    except KeyError:
        raise KeyError(f"unknown source {key!r}; known: {', '.join(SOURCES)}") from None
