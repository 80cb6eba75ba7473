"""Fake requesters and certificate contents for the LLTP stand-in.

Realistic in shape, fake in substance: every certificate text and conviction carries the marker
``CONTENT_MARKER`` and a per-record check code, so a test can prove none of it was stored.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

CONTENT_MARKER = "GIẢ LẬP LLTP"  # in every certificate text and conviction of the stand-in

FAMILY = (
    "Nguyễn",
    "Hoàng",
    "Vi",
    "Lương",
    "Nông",
    "Trần",
    "Lê",
    "Phạm",
    "Hà",
    "Lộc",
    "Hứa",
    "Triệu",
    "Chu",
    "Mã",
    "Đinh",
    "Lăng",
    "Bế",
    "La",
)
MIDDLE_MALE = ("Văn", "Đức", "Minh", "Hữu", "Quang", "Thanh", "Công", "Tiến", "Xuân")
MIDDLE_FEMALE = ("Thị", "Thu", "Ngọc", "Hồng", "Thanh", "Kim", "Phương", "Minh")
GIVEN_MALE = (
    "Bình",
    "Chiến",
    "Dũng",
    "Đạt",
    "Hải",
    "Hiếu",
    "Hùng",
    "Khánh",
    "Long",
    "Nam",
    "Phong",
    "Quân",
    "Sơn",
    "Thắng",
    "Tùng",
    "Vinh",
    "Cường",
    "Tuấn",
)
GIVEN_FEMALE = (
    "Anh",
    "Dung",
    "Giang",
    "Hạnh",
    "Hiền",
    "Hoa",
    "Huyền",
    "Lan",
    "Linh",
    "Mai",
    "Nhung",
    "Oanh",
    "Phượng",
    "Quyên",
    "Thảo",
    "Trang",
    "Vân",
    "Yến",
)
COMMUNES = (
    ("phường Chi Lăng", "thành phố Lạng Sơn"),
    ("phường Hoàng Văn Thụ", "thành phố Lạng Sơn"),
    ("phường Tam Thanh", "thành phố Lạng Sơn"),
    ("phường Vĩnh Trại", "thành phố Lạng Sơn"),
    ("thị trấn Đồng Đăng", "huyện Cao Lộc"),
    ("thị trấn Na Sầm", "huyện Văn Lãng"),
    ("thị trấn Thất Khê", "huyện Tràng Định"),
    ("thị trấn Hữu Lũng", "huyện Hữu Lũng"),
    ("xã Tân Thanh", "huyện Văn Lãng"),
    ("thị trấn Lộc Bình", "huyện Lộc Bình"),
    ("thị trấn Đồng Mỏ", "huyện Chi Lăng"),
    ("thị trấn Bình Gia", "huyện Bình Gia"),
)
STREETS = (
    "Trần Đăng Ninh",
    "Lê Lợi",
    "Bà Triệu",
    "Tam Thanh",
    "Bắc Sơn",
    "Văn Vỉ",
    "Hùng Vương",
    "Nhị Thanh",
    "Lý Thái Tổ",
    "Ngô Quyền",
)
BIRTH_PROVINCES = (
    "Lạng Sơn",
    "Lạng Sơn",
    "Lạng Sơn",
    "Cao Bằng",
    "Bắc Giang",
    "Hà Nội",
    "Thái Nguyên",
    "Bắc Kạn",
)
OFFENCES = (
    "Trộm cắp tài sản (Điều 173 BLHS)",
    "Đánh bạc (Điều 321 BLHS)",
    "Vi phạm quy định về tham gia giao thông đường bộ (Điều 260 BLHS)",
    "Cố ý gây thương tích (Điều 134 BLHS)",
    "Buôn lậu (Điều 188 BLHS)",
)
SENTENCES = (
    "06 tháng tù cho hưởng án treo",
    "01 năm tù",
    "Phạt tiền 20.000.000 đồng",
    "Cải tạo không giam giữ 01 năm",
    "09 tháng tù",
)
COURTS = (
    "Tòa án nhân dân thành phố Lạng Sơn",
    "Tòa án nhân dân huyện Cao Lộc",
    "Tòa án nhân dân tỉnh Lạng Sơn",
    "Tòa án nhân dân huyện Hữu Lũng",
)
SIGNERS = ("Phó Giám đốc Sở Tư pháp Hoàng Văn Khải", "Phó Giám đốc Sở Tư pháp Lã Thị Hương")


@dataclass(frozen=True)
class Requester:
    """The person a certificate is about (người yêu cầu cấp Phiếu), as the wire spells it."""

    fields: dict[str, str]

    @property
    def id_number(self) -> str:
        return self.fields["nycSoGiayTo"]


def requester(rng: random.Random, issued_year: int) -> Requester:
    """A fake Lạng Sơn resident aged 18 to 68, with a CCCD or an old CMND."""
    male = rng.random() < 0.55
    middle, given = (MIDDLE_MALE, GIVEN_MALE) if male else (MIDDLE_FEMALE, GIVEN_FEMALE)
    family = rng.choice(FAMILY)
    name = f"{family} {rng.choice(middle)} {rng.choice(given)}"
    born_year = rng.randint(issued_year - 68, issued_year - 18)
    born = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{born_year}"
    commune, district = rng.choice(COMMUNES)
    if rng.random() < 0.6:  # CCCD: province of birth registration (020 Lạng Sơn), sex+century
        century = (0 if born_year < 2000 else 2) + (0 if male else 1)
        paper, kind = f"020{century}{born_year % 100:02d}{rng.randrange(10**6):06d}", "CCCD"
        issuer = "Cục Cảnh sát quản lý hành chính về trật tự xã hội"
    else:
        paper, kind, issuer = f"08{rng.randrange(10**7):07d}", "CMND", "Công an tỉnh Lạng Sơn"
    issued = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(2008, 2018)}"
    return Requester(
        {
            "nycHoTen": name,
            "nycGioiTinh": "Nam" if male else "Nữ",
            "nycNgaySinh": born,
            "nycNoiSinh": rng.choice(BIRTH_PROVINCES),
            "nycQuocTich": "Việt Nam",
            "nycLoaiGiayTo": kind,
            "nycSoGiayTo": paper,
            "nycNgayCapGiayTo": issued,
            "nycNoiCapGiayTo": issuer,
            "nycDiaChi": f"Số {rng.randint(1, 199)}, đường {rng.choice(STREETS)}, {commune}, "
            f"{district}, tỉnh Lạng Sơn",
            "nycDienThoai": f"09{rng.randrange(10**8):08d}",
            "nycEmail": f"nyc{rng.randrange(10**6):06d}@thu-dien-tu.example",
            "nycHoTenCha": f"{family} {rng.choice(MIDDLE_MALE)} {rng.choice(GIVEN_MALE)}",
            "nycHoTenMe": f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_FEMALE)} "
            f"{rng.choice(GIVEN_FEMALE)}",
        }
    )


def certificate(
    rng: random.Random, *, number: str, issued: str, form: str, serial: int, convicted: bool
) -> dict[str, Any]:
    """The result block: certificate number, date and the content the warehouse must not keep."""
    check = f"ND-{serial:06d}"
    convictions = []
    if convicted:
        for n in range(1 if rng.random() < 0.8 else 2):
            convictions.append(
                {
                    "soBanAn": f"{rng.randint(10, 250)}/{rng.randint(2005, 2017)}/HSST"
                    f"-{check}-{n + 1}",
                    "ngayTuyenAn": f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/"
                    f"{rng.randint(2005, 2017)}",
                    "toaAnXetXu": rng.choice(COURTS),
                    "toiDanh": f"{rng.choice(OFFENCES)} — {CONTENT_MARKER} {check}",
                    "hinhPhat": rng.choice(SENTENCES),
                    "tinhTrangThiHanhAn": "Đã chấp hành xong hình phạt",
                }
            )
        content = (
            f"Phiếu lý lịch tư pháp số {form}. Án tích: Có án tích "
            f"({len(convictions)} bản án). [{CONTENT_MARKER} {check}]"
        )
    else:
        content = (
            f"Phiếu lý lịch tư pháp số {form}. Án tích: Không có án tích. "
            f"[{CONTENT_MARKER} {check}]"
        )
    return {
        "soPhieuLLTP": number,
        "ngayCapPhieu": issued,
        "nguoiKy": rng.choice(SIGNERS),
        "noiDungPhieu": content,
        "thongTinAnTich": convictions,
        "thongTinCamDamNhiemChucVu": (
            f"Không bị cấm đảm nhiệm chức vụ, thành lập, quản lý "
            f"doanh nghiệp. [{CONTENT_MARKER} {check}]"
        )
        if form == "1"
        else None,
    }


# Field names of the wire record that hold personal data or certificate content: what the
# privacy tests search the warehouse and the logs for.
PERSONAL_FIELDS = (
    "nycHoTen",
    "nycNgaySinh",
    "nycSoGiayTo",
    "nycDiaChi",
    "nycDienThoai",
    "nycEmail",
    "nycHoTenCha",
    "nycHoTenMe",
)
CONTENT_FIELDS = ("soPhieuLLTP", "noiDungPhieu", "thongTinCamDamNhiemChucVu")
CONVICTION_FIELDS = ("soBanAn", "toiDanh")


def sensitive_strings(record: dict[str, Any]) -> set[str]:
    """Every personal value and content string of one wire record."""
    found = {record[f] for f in PERSONAL_FIELDS if record.get(f)}
    result = record.get("ketQua") or {}
    found |= {result[f] for f in CONTENT_FIELDS if result.get(f)}
    for conviction in result.get("thongTinAnTich") or ():
        found |= {conviction[f] for f in CONVICTION_FIELDS if conviction.get(f)}
    return found
