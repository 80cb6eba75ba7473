"""Applicants of the GPLX stand-in: Vietnamese names, ID numbers, birth dates, residence codes,
licence classes and the licences they already hold (illustrative data, Lạng Sơn flavoured)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from simulators.one_stop.catalogue import FAMILY_NAMES, GIVEN_NAMES, MIDDLE_NAMES

# Licence classes as (class, weight): most licences renewed are cars (B2) and motorbikes (A1).
CLASSES = (("B2", 45), ("A1", 18), ("C", 14), ("B1", 5), ("A2", 4), ("D", 6), ("E", 4), ("FC", 4))
# Years a licence of the class is valid; None = no expiry (motorbike licences).
VALIDITY = {"A1": None, "A2": None, "B1": 10, "B2": 10, "C": 5, "D": 5, "E": 5, "FC": 5}
# lyDoDoiGplx by procedure (docs/driving_licence_api.md), as (code, weight).
REASONS = {
    "1.002804": (("01", 60), ("03", 15), ("04", 25)),  # đổi: expired, damaged, paper to PET
    "1.002835": (("02", 1),),  # cấp lại: lost
    "1.001777": (("", 1),),  # GPLX quốc tế: no reason code
}
# Lạng Sơn's districts in the national administrative unit codes (province 20).
DISTRICTS = ("178", "180", "181", "182", "183", "184", "185", "186", "187", "188", "189")


@dataclass(frozen=True)
class Person:
    name: str
    id_number: str  # CMND (9 digits) or CCCD (12 digits)
    born: date
    residence: str  # dvhcNoiCuTru: province (2) + district (3) + commune (5)


def pick(rng: random.Random, pairs: tuple[tuple[Any, int], ...]) -> Any:
    return rng.choices([v for v, _ in pairs], weights=[w for _, w in pairs])[0]


def person(rng: random.Random, on: date) -> Person:
    """A driver old enough to hold a licence on ``on``."""
    name = f"{rng.choice(FAMILY_NAMES)} {rng.choice(MIDDLE_NAMES)} {rng.choice(GIVEN_NAMES)}"
    born = date(on.year - rng.randint(19, 68), rng.randint(1, 12), rng.randint(1, 28))
    if rng.random() < 0.5:
        id_number = f"08{rng.randrange(10**7):07d}"  # CMND issued in Lạng Sơn
    else:
        century = (0 if born.year < 2000 else 2) + rng.randrange(2)  # + sex
        id_number = f"020{century}{born.year % 100:02d}{rng.randrange(10**6):06d}"  # 020 = LS
    residence = f"20{rng.choice(DISTRICTS)}{rng.randint(5900, 6400):05d}"
    return Person(name, id_number, born, residence)


def licences_held(
    rng: random.Random, licence_class: str, reason: str, on: date
) -> list[dict[str, str]]:
    """gplxDaCap: the licence being renewed, replaced or translated, as the system lists it."""
    years = VALIDITY[licence_class]
    if reason == "01" and years:  # expired, or about to: renewed around its expiry date
        expires = on + timedelta(days=rng.randint(-90, 30))
        issued = expires - timedelta(days=365 * years + years // 4)
    else:
        issued = on - timedelta(days=rng.randint(200, 8 * 365))
        expires = issued + timedelta(days=365 * years + years // 4) if years else None
    return [
        {
            "sogplx": f"20{rng.randrange(10**10):010d}",
            "hanggplx": licence_class,
            "ngaycapgplx": issued.isoformat(),
            "ngayhethangplx": expires.isoformat() if expires else "",
        }
    ]
