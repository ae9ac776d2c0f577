"""Every word the dashboards show, in Vietnamese (the default) and English. Pure module.

A dashboard is built in one language: titles, descriptions, rows, variable
labels, series names, table columns and the texts of stored values (crowd
levels, alert states and rules, device states). Zone, door, service and site
names come from the site file as they are; a Vietnamese title is a name from the
site file and a Vietnamese phrase, never an English word beside it
("Khu chờ (118 ghế): nhiệt độ (26–28 °C)", not "…: temperature").

Terms are the control-room page's (``api/static/i18n.js``): *khu vực* (zone),
*quầy* (counter), *lượt* (visit), *phiếu thứ tự* (queue ticket), *cảnh báo*
(alert), *xác nhận* (acknowledged), *số liệu* (figures).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Lang = Literal["vi", "en"]
LANGS: tuple[Lang, ...] = ("vi", "en")

_VI: dict[str, str] = {
    # dashboards
    "board.control_room": "floorwatch: phòng điều hành",
    "board.control_room.desc": (
        "{site}: số người và mức độ đông theo khu vực, cảnh báo, tình trạng thiết bị,"
        " sự kiện camera, cảnh báo mới theo giờ."
    ),
    "board.managers": "floorwatch: quản lý",
    "board.managers.desc": (
        "{site}: lượt khách, mức độ đông theo giờ và thứ trong tuần, hàng chờ, bố trí quầy."
    ),
    "board.facility": "floorwatch: kỹ thuật tòa nhà",
    "board.facility.desc": (
        "{site}: nhiệt độ, độ ẩm và nồng độ CO₂ theo khu vực, so với số người và ngưỡng tiện nghi."
    ),
    # variables and rows
    "var.site": "Trung tâm",
    "var.zone": "Khu vực",
    "var.service": "Lĩnh vực",
    "row.now": "Hiện tại",
    "row.alerts": "Cảnh báo và thiết bị",
    "row.visitors": "Lượt khách",
    "row.waiting": "Hàng chờ và bố trí quầy",
    # control room
    "people_now": "Số người hiện tại",
    "people_now.desc": "Số người mới nhất của mỗi khu vực, tổng hợp từ các nguồn số liệu.",
    "fill_now": "Tỷ lệ số người so với sức chứa",
    "fill_now.desc": (
        "Số người / sức chứa (số ghế với khu vực ngồi chờ, sức chứa an toàn với khu vực khác)."
    ),
    "levels": "Mức độ đông theo khu vực",
    "levels.desc": (
        "Bình thường / khá đông / đông / quá tải: mức cao hơn giữa mật độ (mức phục vụ"
        " theo Fruin) và tỷ lệ số người / sức chứa, sau thời gian duy trì."
    ),
    "people_per_zone": "Số người theo khu vực",
    "alerts": "Cảnh báo (trạng thái mới nhất theo khu vực và loại cảnh báo)",
    "alerts.desc": (
        "Không hiện cảnh báo đã xử lý; xác nhận và xử lý cảnh báo trên trang phòng điều hành."
    ),
    "new_alerts": "Cảnh báo mới theo giờ",
    "new_alerts.desc": (
        "Số cảnh báo mới mỗi giờ của trung tâm, theo mức độ (cột chồng), kể cả những cảnh báo"
        " đã xác nhận hoặc đã xử lý sau đó."
    ),
    "devices": "Tình trạng thiết bị",
    "devices.desc": (
        "Báo cáo mới nhất của từng camera, cảm biến và gateway trong khoảng thời gian đã chọn."
    ),
    "camera_events": "Sự kiện camera",
    "camera_events.desc": (
        "Trạng thái ONVIF do camera báo trong khoảng thời gian đã chọn: chuyển động, bị phá"
        " (che khuất, xoay hướng, chiếu chói), mất hình. Bị phá và mất hình giữ nguyên cho"
        " đến khi camera báo đã hết."
    ),
    # table columns
    "col.time": "Thời điểm",
    "col.zone": "Khu vực",
    "col.device": "Thiết bị",
    "col.rule": "Loại cảnh báo",
    "col.severity": "Mức độ",
    "col.state": "Trạng thái",
    "col.message": "Nội dung",
    "col.value": "Giá trị",
    "col.threshold": "Ngưỡng",
    "col.kind": "Loại",
    "col.online": "Kết nối",
    "col.detail": "Chi tiết",
    "col.battery": "Pin",
    "col.latency_ms": "Độ trễ",
    "col.camera": "Camera",
    "col.event": "Sự kiện",
    "col.active": "Trạng thái",
    # stored values
    "level.calm": "Bình thường",
    "level.busy": "Khá đông",
    "level.crowded": "Đông",
    "level.critical": "Quá tải",
    "state.active": "MỚI",
    "state.acknowledged": "Đã xác nhận",
    "state.resolved": "Đã xử lý",
    "severity.info": "Thông tin",
    "severity.warning": "Cần chú ý",
    "severity.critical": "KHẨN CẤP",
    "online.true": "đang hoạt động",
    "online.false": "MẤT TÍN HIỆU",
    "event.true": "ĐANG XẢY RA",
    "event.false": "đã hết",
    "kind.camera": "Camera",
    "kind.sensor": "Cảm biến",
    "kind.gateway": "Gateway",
    "event.motion": "Chuyển động",
    "event.tamper": "Bị phá (che, xoay, chói)",
    "event.video_loss": "Mất hình",
    "rule.crowd_level": "Mật độ đông",
    "rule.capacity": "Vượt sức chứa",
    "rule.waiting_time": "Thời gian chờ vượt mục tiêu",
    "rule.temperature_high": "Nhiệt độ cao",
    "rule.temperature_low": "Nhiệt độ thấp",
    "rule.humidity_high": "Độ ẩm cao",
    "rule.humidity_low": "Độ ẩm thấp",
    "rule.co2_high": "Nồng độ CO₂ cao",
    "rule.camera_offline": "Camera mất tín hiệu",
    "rule.camera_degraded": "Camera mất luồng hình ảnh, đếm người từ ảnh chụp",
    "rule.camera_stalled": "Camera không truyền hình ảnh",
    "rule.camera_tampered": "Camera bị che khuất, xoay hướng hoặc chiếu chói",
    "rule.sensor_stale": "Cảm biến ngừng gửi số liệu",
    "rule.battery_low": "Cảm biến sắp hết pin",
    "rule.spool_backlog": "Chưa ghi được số liệu vào cơ sở dữ liệu",
    # managers
    "visitors": "Lượt khách mỗi ngày",
    "visitors.desc": "Số người vào qua các cửa thông ra ngoài ({doors}), theo từng ngày.",
    "tickets": "Số phiếu thứ tự đã phát mỗi ngày",
    "heatmap": "Mức độ đông theo giờ và thứ trong tuần",
    "heatmap.desc": (
        "Mỗi ô: tỷ lệ số người / sức chứa cao nhất của các khu vực đã chọn trong giờ làm việc"
        " đó của ngày đó (giờ địa phương). Bảng hiển thị 7 ngày gần nhất: mỗi cột một ngày."
    ),
    "heatmap.axis": "giờ địa phương",
    "waiting": "Hàng chờ: số phiếu đang chờ và thời gian chờ dự kiến",
    "waiting.desc": (
        "Số phiếu đang chờ ở mỗi khu vực chờ và thời gian chờ dự kiến (số phiếu đang chờ /"
        " tốc độ phục vụ của các quầy đang mở)."
    ),
    "series.waiting": "{zone}: số phiếu đang chờ",
    "series.expected_wait": "{zone}: thời gian chờ dự kiến",
    "staffing": "Số quầy: kế hoạch và thực tế",
    "staffing.desc": (
        "Thực tế: số quầy đã gọi phiếu trong giờ (theo hệ thống xếp hàng). Kế hoạch: số quầy"
        " mỗi giờ theo kế hoạch bố trí quầy."
    ),
    "series.actual": "thực tế",
    "series.plan": "kế hoạch",
    # facility
    "temperature": "{zone}: nhiệt độ ({low}–{high} °C)",
    "humidity": "{zone}: độ ẩm ({low}–{high}%)",
    "co2": "{zone}: nồng độ CO₂ (tối đa {max} ppm) và số người",
    "series.temperature": "nhiệt độ",
    "series.humidity": "độ ẩm",
    "series.co2": "CO₂",
    "series.people": "số người",
    # province (the central store: every center of a province)
    "board.province": "floorwatch: toàn tỉnh",
    "board.province.desc": (
        "Các trung tâm của tỉnh: số người, mức đầy, thời gian chờ, thiết bị hỏng, cảnh báo."
    ),
    "var.province": "Tỉnh",
    "p.row.time": "Theo thời gian",
    "p.row.month": "So sánh 30 ngày qua",
    "p.people_now": "Số người lúc này theo trung tâm",
    "p.people_now.desc": "Tổng số người mới nhất của các khu vực ở mỗi trung tâm.",
    "p.fill_now": "Khu vực đầy nhất lúc này (số người / sức chứa)",
    "p.fill_now.desc": "Tỷ lệ số người / sức chứa cao nhất trong các khu vực của mỗi trung tâm.",
    "p.wait_now": "Thời gian chờ dự kiến lâu nhất lúc này",
    "p.wait_now.desc": "Thời gian chờ dự kiến lâu nhất trong các khu vực của mỗi trung tâm.",
    "p.devices_down": "Thiết bị hỏng trong giờ gần nhất",
    "p.devices_down.desc": "Số camera và cảm biến mất kết nối trong giờ gần nhất (số liệu theo giờ).",
    "p.people": "Số người theo trung tâm",
    "p.people.desc": "Tổng số người trung bình của các khu vực ở mỗi trung tâm.",
    "p.wait": "Thời gian chờ dự kiến lâu nhất theo trung tâm",
    "p.wait.desc": "Thời gian chờ dự kiến lâu nhất trong các khu vực, theo từng khoảng thời gian.",
    "p.measured_wait": "Thời gian chờ thực tế theo giờ (mức 90%)",
    "p.measured_wait.desc": (
        "Mỗi giờ: mức 90% thời gian chờ của các phiếu thứ tự đã gọi, ở nhóm dịch vụ chờ lâu nhất."
    ),
    "p.alerts": "Cảnh báo mới theo giờ",
    "p.alerts.desc": (
        "Số cảnh báo mới mỗi giờ ở mỗi trung tâm (cột chồng) và tổng của các trung tâm đã chọn"
        " (đường: cả tỉnh khi chọn tất cả)."
    ),
    "p.alerts.total": "Cả tỉnh",
    "p.alerts_severity": "Cảnh báo mới theo giờ và mức độ",
    "p.alerts_severity.desc": "Số cảnh báo mới mỗi giờ của các trung tâm đã chọn, theo mức độ.",
    "p.league": "Bảng xếp hạng thời gian chờ (30 ngày)",
    "p.league.desc": (
        "Trung bình của mức 90% thời gian chờ thực tế mỗi giờ, trong 30 ngày qua, theo trung tâm."
    ),
}

_EN: dict[str, str] = {
    "board.control_room": "floorwatch: control room",
    "board.control_room.desc": (
        "{site}: people and crowd level per zone, alerts, device health, camera events,"
        " new alerts per hour."
    ),
    "board.managers": "floorwatch: managers",
    "board.managers.desc": "{site}: visitors, crowding by hour and weekday, waiting, staffing.",
    "board.facility": "floorwatch: facility",
    "board.facility.desc": (
        "{site}: temperature, humidity and CO2 per zone against occupancy and the comfort band."
    ),
    "var.site": "Site",
    "var.zone": "Zone",
    "var.service": "Service",
    "row.now": "Now",
    "row.alerts": "Alerts and devices",
    "row.visitors": "Visitors",
    "row.waiting": "Waiting and staffing",
    "people_now": "People now",
    "people_now.desc": "Latest fused count per zone.",
    "fill_now": "Occupancy of capacity",
    "fill_now.desc": ("People / capacity (seats for seated areas, the safety maximum otherwise)."),
    "levels": "Crowd level per zone",
    "levels.desc": (
        "Calm / busy / crowded / critical: the worse of density (Fruin level of service)"
        " and occupancy / capacity, after the dwell time."
    ),
    "people_per_zone": "People per zone",
    "alerts": "Alerts (latest state per zone and rule)",
    "alerts.desc": "Resolved alerts are hidden; acknowledge and resolve in the control-room page.",
    "new_alerts": "New alerts per hour",
    "new_alerts.desc": (
        "Alerts raised per hour at the center, by severity (stacked bars), also those"
        " acknowledged or resolved since."
    ),
    "devices": "Device health",
    "devices.desc": "Last report of every camera, sensor and gateway in the time range.",
    "camera_events": "Camera events",
    "camera_events.desc": (
        "The cameras' own ONVIF states in the time range: motion, tamper (covered,"
        " moved, blinded), video loss. Tamper and video loss hold until the camera"
        " clears them."
    ),
    "col.time": "Time",
    "col.zone": "Zone",
    "col.device": "Device",
    "col.rule": "Rule",
    "col.severity": "Severity",
    "col.state": "State",
    "col.message": "Message",
    "col.value": "Value",
    "col.threshold": "Threshold",
    "col.kind": "Kind",
    "col.online": "Online",
    "col.detail": "Detail",
    "col.battery": "Battery",
    "col.latency_ms": "Latency",
    "col.camera": "Camera",
    "col.event": "Event",
    "col.active": "State",
    "level.calm": "calm",
    "level.busy": "busy",
    "level.crowded": "crowded",
    "level.critical": "critical",
    "state.active": "ACTIVE",
    "state.acknowledged": "acknowledged",
    "state.resolved": "resolved",
    "severity.info": "info",
    "severity.warning": "warning",
    "severity.critical": "CRITICAL",
    "online.true": "online",
    "online.false": "OFFLINE",
    "event.true": "ACTIVE",
    "event.false": "cleared",
    "kind.camera": "camera",
    "kind.sensor": "sensor",
    "kind.gateway": "gateway",
    "event.motion": "motion",
    "event.tamper": "tamper",
    "event.video_loss": "video loss",
    "rule.crowd_level": "Crowded",
    "rule.capacity": "Over capacity",
    "rule.waiting_time": "Wait over target",
    "rule.temperature_high": "Temperature high",
    "rule.temperature_low": "Temperature low",
    "rule.humidity_high": "Humidity high",
    "rule.humidity_low": "Humidity low",
    "rule.co2_high": "CO2 high",
    "rule.camera_offline": "Camera offline",
    "rule.camera_degraded": "Camera stream down, counting from snapshots",
    "rule.camera_stalled": "Camera shows no picture",
    "rule.camera_tampered": "Camera covered, moved or blinded",
    "rule.sensor_stale": "Sensor silent",
    "rule.battery_low": "Battery low",
    "rule.spool_backlog": "Data not reaching the database",
    "visitors": "Visitors per day",
    "visitors.desc": "People entering through the doors that lead outside ({doors}), per local day.",
    "tickets": "Tickets issued per day",
    "heatmap": "Crowding by hour and weekday",
    "heatmap.desc": (
        "Each cell: the peak occupancy / capacity of the chosen zones in that opening hour"
        " of that day (local time). The panel shows the last 7 days: one column per weekday."
    ),
    "heatmap.axis": "local hour",
    "waiting": "Waiting: tickets and expected wait",
    "waiting.desc": (
        "Tickets waiting in each waiting zone and the engine's expected wait"
        " (waiting tickets / service rate of the open counters)."
    ),
    "series.waiting": "{zone}: tickets waiting",
    "series.expected_wait": "{zone}: expected wait",
    "staffing": "Counters: plan vs actual",
    "staffing.desc": (
        "Actual: distinct counters that called a ticket in the hour (queue system)."
        " Plan: the staffing plan's counters per hour."
    ),
    "series.actual": "actual",
    "series.plan": "plan",
    "temperature": "{zone}: temperature ({low}–{high} °C)",
    "humidity": "{zone}: humidity ({low}–{high} %)",
    "co2": "{zone}: CO2 (max {max} ppm) vs people",
    "series.temperature": "temperature",
    "series.humidity": "humidity",
    "series.co2": "CO2",
    "series.people": "people",
    "board.province": "floorwatch: province",
    "board.province.desc": ("The province's centers: people, fill, waiting, devices down, alerts."),
    "var.province": "Province",
    "p.row.time": "Over time",
    "p.row.month": "The last 30 days compared",
    "p.people_now": "People now per center",
    "p.people_now.desc": "The latest people count of the zones of each center, summed.",
    "p.fill_now": "Fullest zone now (people / capacity)",
    "p.fill_now.desc": "The highest people / capacity ratio among each center's zones.",
    "p.wait_now": "Longest expected wait now",
    "p.wait_now.desc": "The longest expected wait among each center's zones.",
    "p.devices_down": "Devices down in the last hour",
    "p.devices_down.desc": "Cameras and sensors offline in the last hour (hourly figures).",
    "p.people": "People per center",
    "p.people.desc": "The mean people count of each center's zones, summed.",
    "p.wait": "Longest expected wait per center",
    "p.wait.desc": "The longest expected wait among the zones, per interval.",
    "p.measured_wait": "Measured waiting time per hour (90th percentile)",
    "p.measured_wait.desc": (
        "Per hour: the 90th percentile wait of the called queue tickets, in the slowest service"
        " group."
    ),
    "p.alerts": "New alerts per hour",
    "p.alerts.desc": (
        "Alerts raised per hour at each center (stacked bars) and at the chosen centers together"
        " (line: the province when all are chosen)."
    ),
    "p.alerts.total": "Province",
    "p.alerts_severity": "New alerts per hour by severity",
    "p.alerts_severity.desc": "Alerts raised per hour at the chosen centers, by severity.",
    "p.league": "Waiting-time league (30 days)",
    "p.league.desc": (
        "The mean of each hour's 90th percentile measured wait over the last 30 days, per center."
    ),
}

_TEXTS: dict[Lang, dict[str, str]] = {"vi": _VI, "en": _EN}


@dataclass(frozen=True, slots=True)
class Texts:
    """The dashboards' words in one language: ``t("key", zone=...)``, ``t.number(26.5)``."""

    lang: Lang

    def __call__(self, key: str, **values: str) -> str:
        return _TEXTS[self.lang][key].format(**values)

    def number(self, value: float) -> str:
        """A setting in a title: 26 / 26.5 / 1000 in English; 26 / 26,5 / 1.000 in Vietnamese."""
        if self.lang == "en":
            return f"{value:g}"
        text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
        return text.translate(str.maketrans(",.", ".,"))


def texts(lang: Lang = "vi") -> Texts:
    if lang not in _TEXTS:
        raise ValueError(f"no dashboard texts in {lang!r}: choose one of {', '.join(LANGS)}")
    return Texts(lang)


def keys(lang: Lang) -> frozenset[str]:
    """Every text key of a language (both languages must have the same)."""
    return frozenset(_TEXTS[lang])
