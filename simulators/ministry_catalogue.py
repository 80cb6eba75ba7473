"""Procedures processed in ministry systems, shared by their stand-ins and the one-stop catalogue.

The province's procedure catalogue lists these procedures like any other; their dossiers are
processed in the ministry's software. Codes follow the national procedure database's format;
names, durations and fees are those commonly published for them (illustrative data).
"""

from __future__ import annotations

from dataclasses import dataclass

PLANNING_AND_INVESTMENT = "000.00.03.H22"  # Sở Kế hoạch và Đầu tư (business registration office)
TRANSPORT = "000.00.05.H22"  # Sở Giao thông vận tải
JUSTICE = "000.00.12.H22"  # Sở Tư pháp


@dataclass(frozen=True)
class MinistryProcedure:
    source: str  # registry key of the system that processes it
    code: str
    name: str
    field_code: str
    field_name: str
    agency_code: str
    duration: int  # working days
    fee: int  # VND
    online_level: str  # "2" / "3" / "4" (2019 levels)


PROCEDURES: tuple[MinistryProcedure, ...] = (
    MinistryProcedure(
        "business_registration",
        "2.001610",
        "Đăng ký thành lập doanh nghiệp tư nhân",
        "DKKD",
        "Thành lập và hoạt động doanh nghiệp",
        PLANNING_AND_INVESTMENT,
        3,
        50000,
        "4",
    ),
    MinistryProcedure(
        "business_registration",
        "2.002004",
        "Đăng ký thành lập công ty TNHH một thành viên",
        "DKKD",
        "Thành lập và hoạt động doanh nghiệp",
        PLANNING_AND_INVESTMENT,
        3,
        50000,
        "4",
    ),
    MinistryProcedure(
        "business_registration",
        "2.001893",
        "Đăng ký thành lập công ty cổ phần",
        "DKKD",
        "Thành lập và hoạt động doanh nghiệp",
        PLANNING_AND_INVESTMENT,
        3,
        50000,
        "4",
    ),
    MinistryProcedure(
        "business_registration",
        "1.005167",
        "Đăng ký thay đổi nội dung đăng ký doanh nghiệp",
        "DKKD",
        "Thành lập và hoạt động doanh nghiệp",
        PLANNING_AND_INVESTMENT,
        3,
        50000,
        "4",
    ),
    MinistryProcedure(
        "business_registration",
        "2.002013",
        "Thông báo tạm ngừng kinh doanh",
        "DKKD",
        "Thành lập và hoạt động doanh nghiệp",
        PLANNING_AND_INVESTMENT,
        3,
        0,
        "4",
    ),
    MinistryProcedure(
        "business_registration",
        "1.010026",
        "Giải thể doanh nghiệp",
        "DKKD",
        "Thành lập và hoạt động doanh nghiệp",
        PLANNING_AND_INVESTMENT,
        5,
        0,
        "3",
    ),
    MinistryProcedure(
        "driving_licence",
        "1.002804",
        "Đổi giấy phép lái xe do ngành Giao thông vận tải cấp",
        "GPLX",
        "Đường bộ — giấy phép lái xe",
        TRANSPORT,
        5,
        135000,
        "3",
    ),
    MinistryProcedure(
        "driving_licence",
        "1.002835",
        "Cấp lại giấy phép lái xe",
        "GPLX",
        "Đường bộ — giấy phép lái xe",
        TRANSPORT,
        10,
        135000,
        "3",
    ),
    MinistryProcedure(
        "driving_licence",
        "1.001777",
        "Cấp giấy phép lái xe quốc tế",
        "GPLX",
        "Đường bộ — giấy phép lái xe",
        TRANSPORT,
        5,
        135000,
        "3",
    ),
    MinistryProcedure(
        "criminal_record",
        "2.000505",
        "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam, người nước ngoài đang cư "
        "trú tại Việt Nam",
        "LLTP",
        "Lý lịch tư pháp",
        JUSTICE,
        10,
        200000,
        "3",
    ),
    MinistryProcedure(
        "criminal_record",
        "2.000488",
        "Cấp Phiếu lý lịch tư pháp cho cơ quan nhà nước, cơ quan tiến hành tố tụng",
        "LLTP",
        "Lý lịch tư pháp",
        JUSTICE,
        10,
        0,
        "2",
    ),
)


def procedures_of(source: str) -> tuple[MinistryProcedure, ...]:
    return tuple(p for p in PROCEDURES if p.source == source)
