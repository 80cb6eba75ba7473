"""Names and reference data the one-stop stand-in draws from: Lạng Sơn's departments, their
fields and procedure templates, applicants' names and identity numbers, and the holidays of
the simulated calendar."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

# Procedure names are "<verb> <object><qualifier>"; a field says which verb list suits its objects.
DOC_VERBS = ("Cấp", "Cấp lại", "Cấp đổi", "Điều chỉnh", "Gia hạn", "Thu hồi")
ACT_VERBS = ("Đăng ký", "Thẩm định", "Phê duyệt", "Xác nhận", "Thông báo", "Chấp thuận")
QUALIFIERS = ("", " đối với tổ chức", " đối với cá nhân", " (cấp tỉnh)")


@dataclass(frozen=True)
class Field:
    """A field (lĩnh vực) and the objects its procedures are about."""

    name: str
    verbs: tuple[str, ...]
    objects: tuple[str, ...]


@dataclass(frozen=True)
class Agency:
    code: str  # mã định danh, H22 = Lạng Sơn
    name: str
    abbr: str
    procedures: int  # how many procedures it owns in the seed report (1,303 in all)
    h1_received: int  # dossiers it received in H1 2019 in the seed-like scenario
    applicants: tuple[float, float, float, float]  # shares of LoaiDoiTuong 1..4
    fields: tuple[Field, ...]
    # Its records come from an older module that sends the status as an integer and empty
    # dates as null: both allowed by the contract, so a client must cope with them.
    legacy_format: bool = False


def _f(name: str, verbs: tuple[str, ...], *objects: str) -> Field:
    return Field(name, verbs, objects)


D, A = DOC_VERBS, ACT_VERBS
CITIZENS = (0.92, 0.05, 0.01, 0.02)
BUSINESSES = (0.25, 0.70, 0.02, 0.03)
MIXED = (0.60, 0.30, 0.05, 0.05)

AGENCIES: tuple[Agency, ...] = (
    Agency("000.00.12.H22", "Sở Tư pháp", "STP", 122, 9200, CITIZENS, (
        _f("Lý lịch tư pháp", D, "Phiếu lý lịch tư pháp số 1", "Phiếu lý lịch tư pháp số 2"),
        _f("Hộ tịch", A, "khai sinh có yếu tố nước ngoài", "kết hôn có yếu tố nước ngoài",
           "khai tử có yếu tố nước ngoài", "thay đổi, cải chính hộ tịch"),
        _f("Công chứng", D, "thẻ công chứng viên", "giấy đăng ký hoạt động văn phòng công chứng"),
        _f("Luật sư", D, "giấy đăng ký hoạt động của tổ chức hành nghề luật sư",
           "giấy đăng ký hoạt động chi nhánh công ty luật nước ngoài"),
        _f("Quốc tịch", A, "thôi quốc tịch Việt Nam", "nhập quốc tịch Việt Nam",
           "có quốc tịch Việt Nam"),
        _f("Giám định tư pháp", D, "thẻ giám định viên tư pháp"),
    )),
    Agency("000.00.05.H22", "Sở Giao thông vận tải", "GTVT", 104, 7600, CITIZENS, (
        _f("Đường bộ", D, "giấy phép lái xe", "giấy phép lái xe quốc tế",
           "giấy phép kinh doanh vận tải bằng xe ô tô", "phù hiệu xe ô tô kinh doanh vận tải",
           "giấy phép liên vận Việt - Trung"),
        _f("Đăng kiểm", D, "giấy chứng nhận cải tạo phương tiện giao thông cơ giới đường bộ"),
        _f("Đường thủy nội địa", D, "giấy chứng nhận khả năng chuyên môn thuyền trưởng",
           "giấy đăng ký phương tiện thủy nội địa"),
        _f("Quản lý kết cấu hạ tầng", A, "đấu nối đường nhánh vào quốc lộ",
           "thi công công trình trên đường bộ đang khai thác"),
    )),
    Agency("000.00.03.H22", "Sở Kế hoạch và Đầu tư", "KHDT", 100, 4300, BUSINESSES, (
        _f("Thành lập và hoạt động doanh nghiệp", A, "thành lập doanh nghiệp tư nhân",
           "thành lập công ty TNHH một thành viên", "thành lập công ty cổ phần",
           "thay đổi nội dung đăng ký doanh nghiệp", "tạm ngừng kinh doanh",
           "giải thể doanh nghiệp", "hoạt động chi nhánh, văn phòng đại diện"),
        _f("Đầu tư tại Việt Nam", D, "giấy chứng nhận đăng ký đầu tư",
           "quyết định chủ trương đầu tư"),
        _f("Hợp tác xã", A, "thành lập liên hiệp hợp tác xã", "thay đổi tên liên hiệp hợp tác xã"),
    )),
    Agency("000.00.11.H22", "Sở Lao động - Thương binh và Xã hội", "LDTBXH", 82, 1900, CITIZENS, (
        _f("Người có công", A, "hưởng trợ cấp ưu đãi người có công",
           "di chuyển hồ sơ người có công", "hưởng chế độ thờ cúng liệt sĩ"),
        _f("Việc làm", D, "giấy phép lao động cho người nước ngoài",
           "giấy phép hoạt động dịch vụ việc làm"),
        _f("Giáo dục nghề nghiệp", D, "giấy chứng nhận đăng ký hoạt động giáo dục nghề nghiệp"),
        _f("Bảo trợ xã hội", A, "thành lập cơ sở trợ giúp xã hội",
           "tiếp nhận đối tượng vào cơ sở bảo trợ xã hội"),
    )),
    Agency("000.00.09.H22", "Sở Y tế", "SYT", 134, 1650, MIXED, (
        _f("Khám bệnh, chữa bệnh", D, "chứng chỉ hành nghề khám bệnh, chữa bệnh",
           "giấy phép hoạt động phòng khám đa khoa", "giấy phép hoạt động phòng khám chuyên khoa"),
        _f("Dược phẩm", D, "chứng chỉ hành nghề dược",
           "giấy chứng nhận đủ điều kiện kinh doanh dược",
           "giấy xác nhận nội dung quảng cáo thuốc"),
        _f("An toàn thực phẩm", D, "giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm",
           "giấy xác nhận nội dung quảng cáo thực phẩm"),
        _f("Trang thiết bị y tế", A, "công bố đủ điều kiện mua bán trang thiết bị y tế",
           "số lưu hành trang thiết bị y tế loại A"),
        _f("Giám định y khoa", A, "khám giám định thương tật lần đầu",
           "khám giám định mức độ khuyết tật"),
    )),
    Agency("000.00.08.H22", "Sở Tài nguyên và Môi trường", "TNMT", 88, 1400, MIXED, (
        _f("Đất đai", D, "giấy chứng nhận quyền sử dụng đất cho tổ chức",
           "giấy chứng nhận quyền sở hữu tài sản gắn liền với đất"),
        _f("Đất đai", A, "biến động quyền sử dụng đất", "giao đất, cho thuê đất",
           "chuyển mục đích sử dụng đất"),
        _f("Môi trường", A, "báo cáo đánh giá tác động môi trường", "kế hoạch bảo vệ môi trường"),
        _f("Tài nguyên nước", D, "giấy phép khai thác nước dưới đất",
           "giấy phép xả nước thải vào nguồn nước"),
        _f("Địa chất và khoáng sản", D, "giấy phép thăm dò khoáng sản",
           "giấy phép khai thác khoáng sản"),
    )),
    Agency("000.00.06.H22", "Sở Công Thương", "SCT", 112, 1100, BUSINESSES, (
        _f("Lưu thông hàng hóa trong nước", D, "giấy phép bán lẻ sản phẩm thuốc lá",
           "giấy phép bán buôn rượu", "giấy chứng nhận đủ điều kiện cửa hàng bán lẻ xăng dầu",
           "giấy phép kinh doanh bán lẻ sản phẩm rượu"),
        _f("Hóa chất", D, "giấy chứng nhận đủ điều kiện sản xuất hóa chất"),
        _f("Điện", D, "giấy phép hoạt động điện lực"),
        _f("Xúc tiến thương mại", A, "thực hiện khuyến mại",
           "tổ chức hội chợ, triển lãm thương mại"),
        _f("Thương mại quốc tế", D,
           "giấy phép thành lập văn phòng đại diện thương nhân nước ngoài"),
    )),
    Agency("000.00.18.H22", "Công an tỉnh", "CA", 41, 640, CITIZENS, (
        _f("Xuất nhập cảnh", D, "hộ chiếu phổ thông",
           "giấy thông hành biên giới Việt Nam - Trung Quốc",
           "thẻ tạm trú cho người nước ngoài"),
        _f("Phòng cháy, chữa cháy", A, "thiết kế về phòng cháy và chữa cháy",
           "nghiệm thu về phòng cháy và chữa cháy"),
        _f("Quản lý ngành nghề kinh doanh có điều kiện", D,
           "giấy chứng nhận đủ điều kiện về an ninh, trật tự"),
    ), legacy_format=True),
    Agency("000.00.07.H22", "Sở Nông nghiệp và Phát triển nông thôn", "NN", 96, 520, MIXED, (
        _f("Thú y", D, "giấy chứng nhận kiểm dịch động vật vận chuyển ra khỏi tỉnh",
           "chứng chỉ hành nghề thú y", "giấy chứng nhận cơ sở an toàn dịch bệnh động vật"),
        _f("Trồng trọt và bảo vệ thực vật", D, "giấy chứng nhận đủ điều kiện buôn bán phân bón",
           "giấy chứng nhận đủ điều kiện buôn bán thuốc bảo vệ thực vật"),
        _f("Lâm nghiệp", A, "khai thác gỗ rừng trồng", "chuyển loại rừng"),
        _f("Thủy lợi", D, "giấy phép hoạt động trong phạm vi bảo vệ công trình thủy lợi"),
    )),
    Agency("000.00.04.H22", "Sở Xây dựng", "SXD", 50, 820, MIXED, (
        _f("Hoạt động xây dựng", D, "giấy phép xây dựng công trình",
           "chứng chỉ hành nghề kiến trúc sư",
           "chứng chỉ năng lực hoạt động xây dựng"),
        _f("Hoạt động xây dựng", A, "báo cáo nghiên cứu khả thi đầu tư xây dựng",
           "thiết kế cơ sở công trình"),
        _f("Nhà ở", A, "mua nhà ở xã hội", "bán nhà ở thuộc sở hữu nhà nước"),
    )),
    Agency("000.00.10.H22", "Sở Giáo dục và Đào tạo", "GDDT", 72, 410, CITIZENS, (
        _f("Văn bằng, chứng chỉ", D, "bản sao văn bằng, chứng chỉ từ sổ gốc",
           "giấy chứng nhận tốt nghiệp tạm thời"),
        _f("Giáo dục và đào tạo", A, "thành lập trường trung học phổ thông tư thục",
           "hoạt động giáo dục của trung tâm ngoại ngữ, tin học", "chuyển trường đối với học sinh"),
        _f("Quy chế thi, tuyển sinh", A, "phúc khảo bài thi trung học phổ thông quốc gia"),
    )),
    Agency("000.00.13.H22", "Sở Văn hóa, Thể thao và Du lịch", "VHTTDL", 106, 230, MIXED, (
        _f("Du lịch", D, "thẻ hướng dẫn viên du lịch nội địa",
           "giấy phép kinh doanh dịch vụ lữ hành",
           "quyết định công nhận hạng cơ sở lưu trú du lịch"),
        _f("Văn hóa", D, "giấy phép tổ chức biểu diễn nghệ thuật", "giấy phép kinh doanh karaoke",
           "giấy phép tổ chức lễ hội"),
        _f("Thể dục thể thao", D, "giấy chứng nhận đủ điều kiện kinh doanh hoạt động thể thao"),
        _f("Gia đình", A, "hoạt động cơ sở tư vấn về phòng, chống bạo lực gia đình"),
    )),
    Agency("000.00.02.H22", "Sở Nội vụ", "SNV", 70, 96, MIXED, (
        _f("Tổ chức - biên chế", A, "thành lập tổ chức hành chính",
           "tổ chức lại đơn vị sự nghiệp công lập", "giải thể đơn vị sự nghiệp công lập"),
        _f("Thi đua - khen thưởng", A, "tặng Bằng khen của Chủ tịch UBND tỉnh",
           "tặng Cờ thi đua của UBND tỉnh", "tặng danh hiệu Tập thể lao động xuất sắc"),
        _f("Tôn giáo", A, "tổ chức cuộc lễ ngoài cơ sở tôn giáo",
           "mở lớp bồi dưỡng về tôn giáo", "thuyên chuyển chức sắc, nhà tu hành"),
        _f("Văn thư và lưu trữ", D, "chứng chỉ hành nghề lưu trữ"),
    )),
    Agency("000.00.14.H22", "Sở Thông tin và Truyền thông", "TTTT", 36, 48, BUSINESSES, (
        _f("Báo chí", D, "giấy phép xuất bản bản tin",
           "giấy phép xuất bản tài liệu không kinh doanh"),
        _f("Phát thanh, truyền hình và thông tin điện tử", D,
           "giấy phép thiết lập trang thông tin điện tử tổng hợp"),
        _f("Bưu chính", D, "giấy phép bưu chính"),
    )),
    Agency("000.00.16.H22", "Sở Tài chính", "STC", 20, 17, BUSINESSES, (
        _f("Quản lý giá", A, "hiệp thương giá", "đăng ký giá"),
        _f("Tin học - thống kê", D, "mã số đơn vị có quan hệ với ngân sách"),
    )),
    Agency("000.00.15.H22", "Sở Khoa học và Công nghệ", "KHCN", 44, 11, BUSINESSES, (
        _f("Hoạt động khoa học và công nghệ", D,
           "giấy chứng nhận đăng ký hoạt động khoa học và công nghệ"),
        _f("Năng lượng nguyên tử, an toàn bức xạ và hạt nhân", D,
           "giấy phép tiến hành công việc bức xạ", "chứng chỉ nhân viên bức xạ"),
        _f("Tiêu chuẩn đo lường chất lượng", A, "công bố hợp chuẩn", "công bố hợp quy"),
    )),
    Agency("000.00.17.H22", "Ban Quản lý Khu kinh tế cửa khẩu Đồng Đăng - Lạng Sơn", "BQLKKT", 26,
           7, BUSINESSES, (
        _f("Đầu tư tại khu kinh tế", D, "giấy chứng nhận đăng ký đầu tư trong khu kinh tế",
           "giấy chứng nhận xuất xứ hàng hóa"),
        _f("Lao động tại khu kinh tế", A, "nội quy lao động của doanh nghiệp",
           "thỏa ước lao động tập thể"),
    )),
)

# Other procedure parameters, as (value, weight).
DAY_DURATIONS = ((1, 4), (2, 4), (3, 12), (5, 16), (7, 10), (10, 18), (12, 5), (15, 15),
                 (20, 9), (30, 7))
HOUR_DURATIONS = (4, 8, 24)  # "a few in hours"
ONLINE_LEVELS = (("2", 58), ("3", 32), ("4", 10))  # mức độ dịch vụ công trực tuyến in 2019
FEES = ((0, 58), (20000, 6), (50000, 10), (100000, 10), (150000, 3), (200000, 5), (500000, 4),
        (1000000, 3), (2000000, 1))

# Applicant names. Tày and Nùng family names are common in Lạng Sơn beside the national ones.
FAMILY_NAMES = ("Nguyễn", "Hoàng", "Vi", "Lương", "Nông", "Trần", "Lê", "Phạm", "Hà", "Lộc",
                "Triệu", "Mông", "Chu", "Lăng", "Đàm", "Hứa", "Vũ", "Đinh", "Bế", "Hoàng")
MIDDLE_NAMES = ("Văn", "Thị", "Đức", "Minh", "Thu", "Ngọc", "Hữu", "Quang", "Thanh", "Hồng",
                "Kim", "Mạnh", "Xuân", "Thị Thu", "Văn Minh")
GIVEN_NAMES = ("An", "Bình", "Chiến", "Dũng", "Dung", "Đạt", "Giang", "Hà", "Hải", "Hạnh", "Hiền",
               "Hòa", "Hùng", "Hương", "Khánh", "Lan", "Linh", "Long", "Mai", "Nam", "Nga",
               "Ngân", "Phong", "Phương", "Quân", "Quỳnh", "Sơn", "Tâm", "Thảo", "Thắng",
               "Thủy", "Trang", "Trung", "Tú", "Tuấn", "Vân", "Việt", "Yến")
BUSINESS_FORMS = ("Công ty TNHH", "Công ty TNHH", "Công ty cổ phần", "Doanh nghiệp tư nhân")
BUSINESS_TRADES = ("Thương mại", "Xuất nhập khẩu", "Vận tải", "Xây dựng", "Dịch vụ",
                   "Thương mại và Dịch vụ", "Nông sản", "Du lịch", "Đầu tư và Phát triển")
PLACES = ("Đồng Đăng", "Tân Thanh", "Hữu Nghị", "Kỳ Lừa", "Mẫu Sơn", "Xứ Lạng", "Chi Lăng",
          "Bắc Sơn", "Cao Lộc", "Hữu Lũng", "Tràng Định", "Văn Quan", "Bình Gia", "Lộc Bình",
          "Đình Lập", "Văn Lãng", "Na Sầm", "Chi Ma")
STATE_BODIES = ("UBND xã", "Trường THCS", "Trường Tiểu học", "Trạm Y tế xã", "UBND thị trấn")
OTHER_BODIES = ("Hợp tác xã", "Hội Nông dân xã", "Hội Cựu chiến binh xã", "Chi hội Doanh nhân")

# Days off besides weekends over the simulated span. Approximate: the real calendar also swaps
# Saturdays, which the stand-in does not need.
HOLIDAYS = frozenset({
    date(2018, 1, 1), date(2018, 2, 14), date(2018, 2, 15), date(2018, 2, 16), date(2018, 2, 19),
    date(2018, 2, 20), date(2018, 4, 25), date(2018, 4, 30), date(2018, 5, 1), date(2018, 9, 3),
    date(2018, 12, 31), date(2019, 1, 1), date(2019, 2, 4), date(2019, 2, 5), date(2019, 2, 6),
    date(2019, 2, 7), date(2019, 2, 8), date(2019, 4, 15), date(2019, 4, 29), date(2019, 4, 30),
    date(2019, 5, 1), date(2019, 9, 2), date(2020, 1, 1), date(2020, 1, 23), date(2020, 1, 24),
    date(2020, 1, 27), date(2020, 1, 28), date(2020, 1, 29), date(2020, 4, 2), date(2020, 4, 30),
    date(2020, 5, 1), date(2020, 9, 2),
})

STEP_TEXT = {
    "1": "Nộp hồ sơ trực tuyến",
    "2": "Tiếp nhận hồ sơ",
    "3": "Từ chối tiếp nhận: hồ sơ không đủ thành phần theo quy định",
    "4": "Chuyển phòng chuyên môn xử lý",
    "5": "Yêu cầu bổ sung giấy tờ",
    "7": "Công dân yêu cầu rút hồ sơ",
    "8": "Dừng xử lý: hồ sơ không đủ điều kiện giải quyết",
    "9": "Đã xử lý xong, chờ trả kết quả",
    "10": "Đã trả kết quả",
}
RESUMED_TEXT = "Đã nhận giấy tờ bổ sung, tiếp tục xử lý"
APOLOGY_TEXT = "Gửi phiếu xin lỗi và hẹn lại ngày trả kết quả"


def applicant(rng: random.Random, kind: int) -> tuple[str, str]:
    """Name and identity number (CCCD / CMND for citizens, MST otherwise)."""
    if kind == 1:
        name = (f"{rng.choice(FAMILY_NAMES)} {rng.choice(MIDDLE_NAMES)} "
                f"{rng.choice(GIVEN_NAMES)}")
        if rng.random() < 0.55:
            return name, f"08{rng.randrange(10**7):07d}"  # CMND issued in Lạng Sơn
        born = rng.randint(1940, 2005)
        century = (0 if born < 2000 else 2) + rng.randrange(2)  # + sex
        return name, f"020{century}{born % 100:02d}{rng.randrange(10**6):06d}"  # 020 = Lạng Sơn
    if kind == 2:
        name = (f"{rng.choice(BUSINESS_FORMS)} {rng.choice(BUSINESS_TRADES)} "
                f"{rng.choice(PLACES)}")
    else:
        bodies = STATE_BODIES if kind == 3 else OTHER_BODIES
        name = f"{rng.choice(bodies)} {rng.choice(PLACES)}"
    return name, tax_code(rng)


def tax_code(rng: random.Random) -> str:
    """A 10-digit MST of a Lạng Sơn taxpayer (prefix 49) with a valid check digit."""
    while True:
        body = f"49{rng.randrange(1, 10**7):07d}"
        check = 10 - sum(w * int(d) for w, d in zip((31, 29, 23, 19, 17, 13, 7, 5, 3), body,
                                                    strict=True)) % 11
        if check < 10:
            return f"{body}{check}"
