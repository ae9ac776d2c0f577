"""The fleet demo's province: its centers, their areas and sizes, their site files.

The demo plays Huế (a centrally governed city run, since 1 July 2025, as a
city and its 40 wards and communes): the city's own public administrative
service center (23 counters, a waiting area and a counters' hall) and the
wards' and communes' centers (3 to 6 counters, one hall each), named after
the wards and communes and grouped by the area of the former district they
lie in, which is what the province page filters by. The sizes of the
commune centers, their cameras and sensors come from the seed.

Each center's site file is written by ``gateway.site_template`` (the layout
``floorwatch init`` writes), so the simulator (sensors.simulator) can play
it: a visitor population sized by its counters, on a busy day.

No I/O of its own, but not a pure module: the site files are validated by
``gateway.config_loader``, which may read a sensor's profile file.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from gateway.config_loader import parse_settings
from gateway.settings import Settings
from gateway.site_template import SiteAnswers, site_yaml

PROVINCE = "hue"

#: (ward or commune, the area it is grouped under on the page)
WARDS: tuple[tuple[str, str], ...] = (
    ("phường Thuận Hóa", "Thuận Hóa"),
    ("phường Phú Xuân", "Phú Xuân"),
    ("phường An Cựu", "Thuận Hóa"),
    ("phường Kim Long", "Phú Xuân"),
    ("xã Phú Vang", "Phú Vang"),
    ("phường Hương Thủy", "Hương Thủy"),
    ("xã Phú Lộc", "Phú Lộc"),
    ("phường Phong Điền", "Phong Điền"),
    ("phường Vỹ Dạ", "Thuận Hóa"),
    ("phường Hương Trà", "Hương Trà"),
    ("xã Quảng Điền", "Quảng Điền"),
    ("xã A Lưới 2", "A Lưới"),
    ("phường Thủy Xuân", "Thuận Hóa"),
    ("phường Hương An", "Phú Xuân"),
    ("phường Phú Bài", "Hương Thủy"),
    ("phường Thanh Thủy", "Hương Thủy"),
    ("phường Kim Trà", "Hương Trà"),
    ("phường Thuận An", "Phú Vang"),
    ("phường Mỹ Thượng", "Phú Vang"),
    ("phường Dương Nỗ", "Phú Xuân"),
    ("phường Hóa Châu", "Phú Xuân"),
    ("phường Phong Thái", "Phong Điền"),
    ("phường Phong Dinh", "Phong Điền"),
    ("phường Phong Phú", "Phong Điền"),
    ("phường Phong Quảng", "Phong Điền"),
    ("xã Đan Điền", "Quảng Điền"),
    ("xã Phú Vinh", "Phú Vang"),
    ("xã Phú Hồ", "Phú Vang"),
    ("xã Vinh Lộc", "Phú Lộc"),
    ("xã Hưng Lộc", "Phú Lộc"),
    ("xã Lộc An", "Phú Lộc"),
    ("xã Chân Mây - Lăng Cô", "Phú Lộc"),
    ("xã Bình Điền", "Hương Trà"),
    ("xã Long Quảng", "Nam Đông"),
    ("xã Nam Đông", "Nam Đông"),
    ("xã Khe Tre", "Nam Đông"),
    ("xã A Lưới 1", "A Lưới"),
    ("xã A Lưới 3", "A Lưới"),
    ("xã A Lưới 4", "A Lưới"),
    ("xã A Lưới 5", "A Lưới"),
)
CITY_COUNTERS = 23
CITY_SERVICES = (
    "Công an",
    "Đất đai",
    "Tư pháp",
    "Kinh doanh",
    "Thuế",
    "Lao động",
    "Xây dựng",
    "Giao thông vận tải",
)
COMMUNE_SERVICES = ("Tư pháp – Hộ tịch", "Đất đai – Xây dựng", "Kinh doanh – Thuế")


@dataclass(frozen=True, slots=True)
class DemoCenter:
    """One center of the demo: who it is on the page and how big it is."""

    province: str
    site_id: str
    name: str
    area: str
    counters: int
    cameras: int
    seed: int

    @property
    def key(self) -> str:
        return f"{self.province}.{self.site_id}"


def _slug(text: str) -> str:
    from gateway.site_template import service_id

    return service_id(text)


def demo_centers(n: int, seed: int, province: str = PROVINCE) -> list[DemoCenter]:
    """The city's own center first, then ``n - 1`` ward and commune centers (seeded sizes).

    Beyond the 40 wards and communes the names repeat with a number (a
    bigger demo than the city has centers).
    """
    if n < 1:
        raise ValueError("the fleet demo needs at least one center")
    rng = random.Random(f"{seed}:fleet-demo")  # noqa: S311 - a scene, not secrets
    out = [
        DemoCenter(
            province,
            "thanh-pho-hue",
            "Trung tâm Phục vụ hành chính công thành phố Huế",
            "Thuận Hóa",
            CITY_COUNTERS,
            3,
            seed,
        )
    ]
    for i in range(n - 1):
        ward, area = WARDS[i % len(WARDS)]
        lap = i // len(WARDS)
        suffix = f" ({lap + 1})" if lap else ""
        site_id = _slug(ward) + (f"-{lap + 1}" if lap else "")
        out.append(
            DemoCenter(
                province,
                site_id,
                f"Trung tâm Phục vụ hành chính công {ward}{suffix}",
                area,
                rng.randint(3, 6),
                rng.randint(0, 2),
                seed + i + 1,
            )
        )
    return out


def center_answers(c: DemoCenter) -> SiteAnswers:
    """``floorwatch init``'s answers for the center: one hall, or the city's two zones."""
    city = c.counters > len(COMMUNE_SERVICES) * 2
    services = CITY_SERVICES if city else COMMUNE_SERVICES[: min(3, c.counters)]
    width, depth = (36.0, 22.0) if city else (12.0 + 2 * c.counters, 9.0)
    return SiteAnswers(
        site_id=c.site_id,
        name=c.name,
        width_m=width,
        depth_m=depth,
        counters=c.counters,
        waiting_seats=c.counters * (5 if city else 6),
        services=services,
        cameras=tuple(f"192.0.2.{10 + i}" for i in range(c.cameras)),
        door_counter=True,
        climate_sensors=1,
        tickets=True,
    )


def center_settings(c: DemoCenter) -> Settings:
    """The center's site file, as ``floorwatch init`` writes it, loaded."""
    return parse_settings(
        site_yaml(center_answers(c)), {}, source=f"<{c.site_id}>", need_secrets=False
    ).settings
