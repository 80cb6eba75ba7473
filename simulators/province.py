"""The whole province as stand-ins: every registered source's data set for one scenario, with
the overlaps real life has — ministry dossiers also entered in the one-stop software at the
counter ("counter copies"), so that counting each real dossier once can be tested end to end.

A stand-in module named by the registry (`simulators.<x>:make_stand_in`) also exposes
`build_dataset(scenario, seed)` and `make_app(dataset, faults)`; this module builds them all.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from lienthong.registry import SOURCES
from simulators.one_stop.scenario import Dataset, DossierTruth

INTAKE = "one_stop"
STAMP = "%Y%m%d%H%M%S"


@dataclass(frozen=True)
class CopyRule:
    """How a ministry source's dossiers show up in the one-stop software."""

    share: float  # of its accepted dossiers, entered at the counter too
    id_field: str  # the wire field holding the applicant's ID number or tax code
    applicant_type: str
    # The one-stop number the ministry record names (link by number), or None: the counter
    # gave a number of its own (link by procedure + applicant + receive date).
    intake_number: Callable[[dict[str, Any], DossierTruth], str | None]


COPY_RULES: dict[str, CopyRule] = {
    "business_registration": CopyRule(
        0.5, "MaSoDoanhNghiep", "2", lambda wire, truth: wire.get("MaHoSoMotCua")
    ),
    "criminal_record": CopyRule(0.6, "nycSoGiayTo", "1", lambda wire, truth: truth.number),
    "driving_licence": CopyRule(0.4, "soCmnd", "1", lambda wire, truth: None),
}


def simulator_module(key: str):
    return importlib.import_module(SOURCES[key].simulator.partition(":")[0])


@cache
def datasets(scenario: str, seed: int) -> dict[str, Any]:
    """Every registered source's data set; the one-stop one holds the counter copies."""
    built = {key: simulator_module(key).build_dataset(scenario, seed) for key in SOURCES}
    if INTAKE in built:
        built[INTAKE] = with_counter_copies(built[INTAKE], built, seed)
    return built


def with_counter_copies(one_stop: Dataset, ministries: dict[str, Any], seed: int) -> Dataset:
    rng = random.Random(f"counter-copies:{one_stop.scenario}:{seed}")  # noqa: S311 - test data
    rows = list(zip(one_stop.dossiers, one_stop.truth, strict=True))
    serial = 9000
    for key, rule in COPY_RULES.items():
        data = ministries.get(key)
        if data is None:
            continue
        for wire, truth in zip(_wire_records(data), data.truth, strict=True):
            if truth.malformed_reason or truth.received_at is None or rng.random() >= rule.share:
                continue
            number = rule.intake_number(wire, truth)
            if number is None:
                serial += 1
                number = f"{truth.agency_code}-{truth.received_at:%y%m%d}-{serial}"
            rows.append(_copy(wire, truth, rule, number, rng))
    rows.sort(key=lambda row: (row[0]["NgayCapNhat"], row[0]["MaHoSo"]))
    return replace(one_stop, dossiers=[r[0] for r in rows], truth=[r[1] for r in rows])


def _wire_records(data: Any) -> list[dict[str, Any]]:
    return data.dossiers


def _copy(
    wire: dict[str, Any], truth: DossierTruth, rule: CopyRule, number: str, rng: random.Random
) -> tuple[dict[str, Any], DossierTruth]:
    """The counter's record: accepted, then handed to the ministry system and never updated."""
    received: datetime = truth.received_at
    handed_over = received + timedelta(minutes=rng.randint(5, 50))
    # The counter knows how the dossier came in; the ministry system sometimes does not (a
    # dossier sent by public post is keyed in at the counter as if direct).
    channel = 3 if truth.channel == 1 and rng.random() < 0.2 else truth.channel
    record = {
        "MaHoSo": number,
        "MaTTHC": truth.procedure_code,
        "DonViXuLy": truth.agency_code,
        "ChuHoSo": "[counter copy]",
        "LoaiDoiTuong": rule.applicant_type,
        "SoGiayToChuHoSo": str(wire.get(rule.id_field) or ""),
        "KenhThucHien": str(channel),
        "HinhThuc": "0",
        "NgayNopHoSo": received.strftime(STAMP),
        "NgayTiepNhan": received.strftime(STAMP),
        "NgayHenTra": truth.due_at.strftime(STAMP) if truth.due_at else "",
        "NgayKetThucXuLy": "",
        "NgayTra": "",
        "NgayTuChoi": "",
        "TrangThaiHoSo": "4",
        "DuocThanhToanTrucTuyen": "0",
        "TaiCho": "0",
        "DanhSachLePhi": [],
        "DanhSachHoSoBoSung": [],
        "QuaTrinhXuLy": [
            {
                "TrangThai": "2",
                "ThoiDiemXuLy": received.strftime(STAMP),
                "NoiDungXuLy": "Tiếp nhận",
            },
            {
                "TrangThai": "4",
                "ThoiDiemXuLy": handed_over.strftime(STAMP),
                "NoiDungXuLy": "Chuyển hệ thống chuyên ngành xử lý",
            },
        ],
        "NgayCapNhat": handed_over.strftime(STAMP),
    }
    copy_truth = DossierTruth(
        number,
        truth.agency_code,
        truth.procedure_code,
        channel,
        received,
        truth.due_at,
        None,
        4,
        handed_over,
        twin_of=truth.number,
    )
    return record, copy_truth


def counted_truth(built: dict[str, Any]) -> list[DossierTruth]:
    """The real dossiers of the province: ministry records with their counter's channel, and the
    one-stop software's own dossiers — each once. What an independent count should count."""
    intake_channel = {t.twin_of: t.channel for t in built[INTAKE].truth if t.twin_of}
    real = [t for t in built[INTAKE].truth if not t.twin_of]
    for key, data in built.items():
        if key == INTAKE:
            continue
        real += [
            replace(t, channel=intake_channel.get(t.number, t.channel))
            for t in data.truth
            if isinstance(t, DossierTruth)  # payments are not dossiers
        ]
    return real


def stand_ins(scenario: str, seed: int, faults: Any) -> dict[str, Any]:
    """WSGI apps of every source over the province's data sets, keyed by source."""
    return {
        key: simulator_module(key).make_app(data, faults)
        for key, data in datasets(scenario, seed).items()
    }
