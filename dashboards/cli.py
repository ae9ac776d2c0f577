"""``floorwatch dashboards export DIR`` and ``floorwatch dashboards push``. Shell module."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from dashboards.build import (
    DatasourceSpec,
    build_dashboards,
    build_province,
    dashboard_json,
    datasource_body,
    province_files,
)
from dashboards.build import provisioning_files as export_files
from dashboards.province import STORES, ProvinceView, Store
from dashboards.provision import ProvisionError, connect, push
from dashboards.texts import LANGS, Lang
from gateway.cli_support import exit_invalid, settings_or_exit
from gateway.config_loader import ConfigError
from gateway.fleet.central_config import CentralConfig, load_central

TOKEN_ENV = "FLOORWATCH_GRAFANA_TOKEN"  # noqa: S105 (a variable name)
INFLUX_SECRET_ENV = "FLOORWATCH_INFLUX_TOKEN"  # noqa: S105 (a variable name)

dashboards_app = typer.Typer(
    help="Grafana dashboards as code: export provisioning files, or push to a Grafana.",
    no_args_is_help=True,
)

# Required: a default (the demo site) would export or push another center's zones.
ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="site file (YAML) of the center (required)")
]
InfluxUrl = Annotated[
    str, typer.Option("--influx-url", help="InfluxDB URL as Grafana's server reaches it")
]
Flavour = Annotated[
    str, typer.Option("--influx-version", help="v2: InfluxDB 2.x/3.x (token); v1: 1.x")
]
Database = Annotated[str, typer.Option("--database", help="InfluxQL database (DBRP on 2.x)")]
LangOption = Annotated[
    str, typer.Option("--lang", help="language of the dashboards: vi (Vietnamese) or en")
]


def _lang(value: str) -> Lang:
    if value == "vi":
        return "vi"
    if value == "en":
        return "en"
    typer.echo(f"--lang must be one of {', '.join(LANGS)}, not {value!r}", err=True)
    raise typer.Exit(2)


def _spec(url: str, flavour: str, database: str, user: str | None) -> DatasourceSpec:
    if flavour not in ("v1", "v2"):
        typer.echo(f"--influx-version must be v1 or v2, not {flavour!r}", err=True)
        raise typer.Exit(2)
    kind: Literal["v1", "v2"] = "v1" if flavour == "v1" else "v2"
    return DatasourceSpec(
        url=url, database=database, flavour=kind, user=user, secret_env=INFLUX_SECRET_ENV
    )


@dashboards_app.command("export")
def export(
    directory: Annotated[Path, typer.Argument(help="where to write (e.g. deploy/grafana)")],
    config: ConfigOption,
    influx_url: InfluxUrl = "http://influxdb:8086",
    influx_version: Flavour = "v2",
    database: Database = "floorwatch",
    influx_user: Annotated[str | None, typer.Option(help="v1: InfluxDB user")] = None,
    lang: LangOption = "vi",
) -> None:
    """Write the dashboards' JSON and Grafana's provisioning YAML (no secrets: $ENV references)."""
    spec = _spec(influx_url, influx_version, database, influx_user)
    language = _lang(lang)
    settings = settings_or_exit(config)
    typer.echo(f"site {settings.site.id} ({settings.site.name}) from {config}")
    typer.echo(f"language {language} ({'Vietnamese' if language == 'vi' else 'English'})")
    files = export_files(settings, spec, language)
    for relative, text in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        typer.echo(f"wrote {path}")


def _write(directory: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        typer.echo(f"wrote {path}")


def province_view(central: CentralConfig, store: Store | None = None) -> ProvinceView:
    """The part of the central file the province dashboard needs (``store``: instead of
    the file's ``overview.store``)."""
    provinces = tuple(dict.fromkeys(s.province for s in central.sites))
    return ProvinceView(
        timezone=central.overview.timezone,
        provinces=provinces,
        site_names=tuple((s.id, s.name) for s in central.sites),
        store=store or central.overview.store,
    )


CentralOption = Annotated[
    Path, typer.Option("--config", "-c", help="the central file (YAML) of fleet run/serve")
]
StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="the central store: influxql or victoriametrics (default: overview.store)",
    ),
]
StoreUrl = Annotated[
    str | None,
    typer.Option(
        "--influx-url",
        help="the central store's URL as Grafana's server reaches it"
        " (default http://influxdb:8086, or http://victoriametrics:8428)",
    ),
]
StoreUser = Annotated[
    str | None, typer.Option(help="InfluxDB 1.x user, or VictoriaMetrics basic-auth user")
]
DEFAULT_URLS = {
    "influxql": "http://influxdb:8086",
    "victoriametrics": "http://victoriametrics:8428",
}


def _province(config: Path, store: str | None) -> ProvinceView:
    chosen = next((s for s in STORES if s == store), None)
    if store is not None and chosen is None:
        typer.echo(f"--store must be one of {', '.join(STORES)}, not {store!r}", err=True)
        raise typer.Exit(2)
    try:
        central = load_central(config)
    except ConfigError as exc:
        exit_invalid(exc)
    view = province_view(central, chosen)
    typer.echo(f"{len(view.site_names)} registered centers from {config} ({view.store})")
    return view


def _province_spec(
    view: ProvinceView, url: str | None, flavour: str, database: str, user: str | None
) -> DatasourceSpec:
    spec = _spec(url or DEFAULT_URLS[view.store], flavour, database, user)
    return dataclasses.replace(spec, store=view.store)


@dashboards_app.command("province")
def export_province(
    directory: Annotated[
        Path, typer.Argument(help="where to write (e.g. deploy/grafana-province)")
    ],
    config: CentralOption,
    store: StoreOption = None,
    influx_url: StoreUrl = None,
    influx_version: Flavour = "v1",
    database: Database = "province",
    influx_user: StoreUser = None,
    lang: LangOption = "vi",
) -> None:
    """Write the province dashboard (every center, from the central store) and its provisioning."""
    language = _lang(lang)
    view = _province(config, store)
    spec = _province_spec(view, influx_url, influx_version, database, influx_user)
    _write(directory, province_files(view, spec, language))


def _read_secret(file: Path | None, env: str, what: str) -> str | None:
    if file is not None:
        try:
            return file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            typer.echo(f"cannot read the {what} file {file}: {exc.strerror}", err=True)
            raise typer.Exit(2) from exc
    return os.environ.get(env) or None


@dashboards_app.command("push")
def push_command(
    url: Annotated[str, typer.Option("--url", help="Grafana URL, e.g. http://grafana:3000")],
    config: ConfigOption,
    token_file: Annotated[
        Path | None, typer.Option(help=f"file holding the service-account token (or ${TOKEN_ENV})")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(help=f"the token itself (visible to other users: prefer ${TOKEN_ENV})"),
    ] = None,
    influx_url: InfluxUrl = "http://influxdb:8086",
    influx_version: Flavour = "v2",
    database: Database = "floorwatch",
    influx_user: Annotated[str | None, typer.Option(help="v1: InfluxDB user")] = None,
    influx_secret_file: Annotated[
        Path | None,
        typer.Option(help=f"InfluxDB token (v2) or password (v1) file (or ${INFLUX_SECRET_ENV})"),
    ] = None,
    lang: LangOption = "vi",
) -> None:
    """Create or update the floorwatch folder, datasource and dashboards in a Grafana."""
    grafana_token = _grafana_token(token, token_file)
    spec = _spec(influx_url, influx_version, database, influx_user)
    language = _lang(lang)
    secret = _read_secret(influx_secret_file, INFLUX_SECRET_ENV, "InfluxDB secret")
    settings = settings_or_exit(config)
    boards = [dashboard_json(m) for m in build_dashboards(settings, language)]
    _push(url, grafana_token, datasource_body(spec, secret), boards)


def _grafana_token(token: str | None, token_file: Path | None) -> str:
    grafana_token = token or _read_secret(token_file, TOKEN_ENV, "token")
    if not grafana_token:
        typer.echo(f"no Grafana token: give --token-file or set ${TOKEN_ENV}", err=True)
        raise typer.Exit(2)
    return grafana_token


def _push(
    url: str, grafana_token: str, datasource: dict[str, Any], boards: list[dict[str, Any]]
) -> None:
    try:
        report = push(connect(url, grafana_token), url, datasource, boards)
    except ProvisionError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"folder {report.folder}; datasource {report.datasource}")
    for uid, action in report.dashboards.items():
        typer.echo(f"dashboard {uid} {action}")


@dashboards_app.command("province-push")
def push_province(
    url: Annotated[str, typer.Option("--url", help="Grafana URL, e.g. http://grafana:3000")],
    config: CentralOption,
    token_file: Annotated[
        Path | None, typer.Option(help=f"file holding the service-account token (or ${TOKEN_ENV})")
    ] = None,
    store: StoreOption = None,
    influx_url: StoreUrl = None,
    influx_version: Flavour = "v1",
    database: Database = "province",
    influx_user: StoreUser = None,
    influx_secret_file: Annotated[
        Path | None,
        typer.Option(help=f"the central store's token or password file (or ${INFLUX_SECRET_ENV})"),
    ] = None,
    lang: LangOption = "vi",
) -> None:
    """Create or update the floorwatch folder, the central store's datasource and the province
    dashboard in a Grafana (same uids: a second push overwrites)."""
    grafana_token = _grafana_token(None, token_file)
    language = _lang(lang)
    view = _province(config, store)
    spec = _province_spec(view, influx_url, influx_version, database, influx_user)
    secret = _read_secret(influx_secret_file, INFLUX_SECRET_ENV, "central store secret")
    board = dashboard_json(build_province(view, language))
    _push(url, grafana_token, datasource_body(spec, secret), [board])
