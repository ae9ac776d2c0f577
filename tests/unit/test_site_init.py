"""``floorwatch init`` and its templates: answers in, a site file that passes config check out."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from gateway.cli import app
from gateway.config_loader import load_settings, parse_settings
from gateway.site_template import (
    SiteAnswers,
    answer_errors,
    parse_sessions,
    service_id,
    site_yaml,
)

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()

COMMUNE = SiteAnswers(
    site_id="xa-mau",
    name="Trung tâm Phục vụ hành chính công xã (mẫu)",
    width_m=15,
    depth_m=8,
    counters=4,
    waiting_seats=20,
    services=("Tư pháp – Hộ tịch", "Đất đai – Xây dựng", "Chứng thực", "Chính sách xã hội"),
    cameras=("192.168.1.64",),
    door_counter=True,
    climate_sensors=1,
)
CITY = SiteAnswers(
    site_id="tp-mau",
    name="Trung tâm Phục vụ hành chính công thành phố (mẫu)",
    width_m=25,
    depth_m=12,
    counters=15,
    waiting_seats=40,
    services=(
        "Đất đai",
        "Tư pháp – Hộ tịch",
        "Xây dựng",
        "Đăng ký kinh doanh",
        "Lao động – Thương binh và Xã hội",
        "Thuế",
        "Trả kết quả",
    ),
    cameras=("192.168.1.64",),
    door_counter=True,
    climate_sensors=2,
)


@pytest.mark.parametrize(
    ("template", "answers"), [("commune-center.yaml", COMMUNE), ("city-center.yaml", CITY)]
)
def test_templates_are_what_init_writes_and_pass_config_check(
    template: str, answers: SiteAnswers
) -> None:
    path = ROOT / "config" / template
    assert path.read_text(encoding="utf-8") == site_yaml(answers), "regenerate with init"
    loaded = load_settings(path, {})
    assert loaded.warnings == []
    s = loaded.settings
    assert sum(len(svc.counters) for svc in s.services) == answers.counters
    assert len(s.services) == len(answers.services)
    assert sum(z.area_m2 for z in s.zones) == answers.width_m * answers.depth_m
    result = runner.invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "ok: configuration is valid" in result.output


def test_commune_center_is_one_hall_counted_by_camera_doors_and_tickets() -> None:
    s = load_settings(ROOT / "config" / "commune-center.yaml", {}).settings
    [hall] = s.zones
    assert (hall.id, hall.kind.value, hall.seats) == ("f1-hall", "waiting", 20 + 2 * 4)
    assert hall.door_balance, "one hall: the door counter's balance is the hall's count"


def test_city_center_open_plan_door_counter_feeds_no_zone() -> None:
    s = load_settings(ROOT / "config" / "city-center.yaml", {}).settings
    assert [z.id for z in s.zones] == ["f1-waiting", "f1-counters"]
    assert not s.zone("f1-waiting").door_balance
    assert s.zone("f1-waiting").seats == 40


def test_init_with_flags_writes_a_file_that_passes_config_check(tmp_path: Path) -> None:
    out = tmp_path / "site.yaml"
    args = [
        "init",
        str(out),
        "--no-input",
        "--id",
        "phuong-1",
        "--name",
        "Trung tâm Phục vụ hành chính công phường 1",
        "--floors",
        "2",
        "--width",
        "20",
        "--depth",
        "10",
        "--counters",
        "10",
        "--seats",
        "60",
        "--services",
        "Tư pháp,Đất đai,Xây dựng",
        "--saturday",
        "closed",
        "--camera",
        "10.0.0.21",
        "--camera",
        "10.0.0.22",
        "--camera-user",
        "floorwatch",
        "--climate",
        "2",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "next: set CAM_1_PASSWORD, CAM_2_PASSWORD" in result.output
    env = {"CAM_1_PASSWORD": "p1", "CAM_2_PASSWORD": "p2"}
    s = load_settings(out, env).settings
    assert [f.id for f in s.floors] == ["f1", "f2"]
    assert len(s.site.opening_hours) == 1, "closed on Saturday"
    assert [c.onvif.username for c in s.cameras] == ["floorwatch", "floorwatch"]
    # each floor's waiting zone holds the tickets of the groups served on that floor
    assert s.zone("f1-hall").services == ["tu-phap", "dat-dai"]
    assert s.zone("f2-hall").services == ["dat-dai", "xay-dung"]
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "give --force" in again.output


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--id", "Xa An Binh"], "site id 'Xa An Binh': lower-case letters"),
        (["--services", "a,b,c,d,e"], "service groups: 5 groups need at least as many counters"),
        (["--weekday", "07:30-11:30,11:00-17:00"], "weekday hours 11:00-17:00: sessions in order"),
        (["--weekday", "sáng"], "weekday hours sáng-: write HH:MM-HH:MM"),
        (["--services", "Đất đai,dat dai"], "two names give the same id"),
    ],
)
def test_init_refuses_answers_that_do_not_fit(
    tmp_path: Path, flags: list[str], expected: str
) -> None:
    base = {
        "--id": "xa-1",
        "--name": "X",
        "--width": "10",
        "--depth": "8",
        "--counters": "4",
        "--seats": "10",
        "--services": "A",
    }
    for k, v in zip(flags[::2], flags[1::2], strict=True):
        base[k] = v
    args = ["init", str(tmp_path / "s.yaml"), "--no-input", *[x for kv in base.items() for x in kv]]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert expected in result.output
    assert not (tmp_path / "s.yaml").exists()


def test_init_without_input_names_the_missing_answer(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "s.yaml"), "--no-input", "--id", "x"])
    assert result.exit_code == 2
    assert "missing answer (--no-input): Tên trung tâm / Center name" in result.output


def test_sessions_and_ids() -> None:
    assert parse_sessions("7h30-11h30, 13:30-17:00") == (("07:30", "11:30"), ("13:30", "17:00"))
    assert parse_sessions("closed") == ()
    assert service_id("Tư pháp – Hộ tịch") == "tu-phap-ho-tich"
    assert service_id("Đất đai") == "dat-dai"


names = st.text(alphabet="ĐđấảạơưAaBb Tư", min_size=1, max_size=12).filter(
    lambda t: service_id(t) != ""
)


@settings(max_examples=40, deadline=None)
@given(
    floors=st.integers(1, 3),
    width=st.floats(3, 80),
    depth=st.floats(3, 60),
    counters=st.integers(1, 30),
    seats=st.integers(0, 300),
    services=st.lists(names, min_size=1, max_size=6, unique_by=service_id),
    cameras=st.integers(0, 4),
    door=st.booleans(),
    climate=st.integers(0, 5),
    tickets=st.booleans(),
)
def test_any_consistent_answers_give_a_valid_file(
    floors: int,
    width: float,
    depth: float,
    counters: int,
    seats: int,
    services: list[str],
    cameras: int,
    door: bool,
    climate: int,
    tickets: bool,
) -> None:
    answers = SiteAnswers(
        site_id="site-1",
        name="Trung tâm",
        width_m=round(width, 1),
        depth_m=round(depth, 1),
        counters=counters,
        waiting_seats=seats,
        services=tuple(services),
        floors=floors,
        cameras=tuple(f"10.0.0.{i + 1}" for i in range(cameras)),
        door_counter=door,
        climate_sensors=climate,
        tickets=tickets,
    )
    if answer_errors(answers):
        return
    loaded = parse_settings(site_yaml(answers), {})
    s = loaded.settings
    assert sum(len(svc.counters) for svc in s.services) == counters
    # the only warnings a generated file may carry: zones nobody counts (no devices given)
    for w in loaded.warnings:
        assert "has no people source" in w.message or "only from waiting tickets" in w.message
