"""The floorwatch Grafana dashboards, datasource and provisioning files, as values. Pure module.

Built with grafana-foundation-sdk's typed builders (Grafana 10.1 types) and
our InfluxQL target (``dashboards.influxql``). Nothing here talks to Grafana
or writes files: ``dashboards.provision`` pushes, ``dashboards.cli`` writes.

- ``build_dashboards(settings, lang)``: the three dashboards as SDK models, in
  Vietnamese (``"vi"``, the default) or English (``"en"``): ``dashboards.texts``.
- ``build_province(view, lang)``: the province dashboard (``dashboards.province``)
  from the central file (``dashboards.cli.province_view``), over the central store.
- ``dashboard_json`` / ``parse_dashboard``: model <-> Grafana's JSON.
- ``datasource_body(spec, secret)``: the InfluxDB (InfluxQL) datasource as the
  Grafana HTTP API takes it, or for a VictoriaMetrics central store
  (``spec.store``) a Prometheus datasource.
- ``provisioning_files(settings, spec, lang)``: what ``floorwatch dashboards export``
  writes: Grafana's provisioning YAML (datasource, dashboard provider) and one
  JSON file per dashboard; secrets there are ``$ENV`` references that Grafana
  expands when it reads the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from dashboards import province_promql
from dashboards.common import (
    DATASOURCE_NAME,
    DATASOURCE_UID,
    FOLDER_TITLE,
    FOLDER_UID,
    site_view,
)
from dashboards.control_room import control_room
from dashboards.facility import facility
from dashboards.influxql import INFLUXDB_TYPE, register_plugins
from dashboards.managers import managers
from dashboards.province import ProvinceView, Store, province
from dashboards.texts import Lang, texts
from gateway.settings import Settings

Flavour = Literal["v1", "v2"]
#: Where the provider file tells Grafana to find the dashboards (the compose mount).
GRAFANA_DASHBOARDS_PATH = "/var/lib/grafana/dashboards/floorwatch"
#: The shortest ``$__interval``: sensors report every 30-60 s.
MIN_INTERVAL = "30s"


@dataclass(frozen=True, slots=True)
class DatasourceSpec:
    """How Grafana reaches InfluxDB; always InfluxQL (1.x, 2.x with a DBRP mapping, 3.x).

    ``v1``: InfluxDB 1.x, optional user and password. ``v2``: InfluxDB 2.x or
    3.x, a token sent as ``Authorization: Token ...`` (InfluxQL needs a DBRP
    mapping of ``database`` to the bucket on 2.x).

    ``store="victoriametrics"`` (the province dashboard only): a Prometheus
    datasource on VictoriaMetrics (``flavour`` and ``database`` unused); the
    secret goes as a bearer token (vmauth), or with ``user`` as basic
    authentication's password.
    """

    url: str = "http://influxdb:8086"
    database: str = "floorwatch"
    flavour: Flavour = "v2"
    user: str | None = None
    # for provisioning files: the variable Grafana expands (a name, not a secret)
    secret_env: str = "FLOORWATCH_INFLUX_TOKEN"  # noqa: S105
    store: Store = "influxql"


def build_dashboards(settings: Settings, lang: Lang = "vi") -> list[Dashboard]:
    """Control room, managers, facility: SDK models, in that order, in ``lang``."""
    view = site_view(settings)
    t = texts(lang)
    boards = (control_room(view, t), managers(view, t), facility(view, t))
    return [_numbered(b.build()) for b in boards]


def build_province(view: ProvinceView, lang: Lang = "vi") -> Dashboard:
    """The province dashboard as an SDK model, in ``lang``."""
    return _numbered(province(view, texts(lang)).build())


def _numbered(model: Dashboard) -> Dashboard:
    """Panel ids 1, 2, ... in layout order (stable links like ``?viewPanel=3``)."""
    for number, panel in enumerate(model.panels or [], start=1):
        panel.id_val = number
    return model


def dashboard_json(model: Dashboard) -> dict[str, Any]:
    """Grafana's dashboard JSON (plain dicts and lists)."""
    data: dict[str, Any] = json.loads(json.dumps(model, cls=JSONEncoder))
    return data


def parse_dashboard(data: dict[str, Any]) -> Dashboard:
    """Grafana's dashboard JSON -> SDK model (InfluxQL targets become ``InfluxQLQuery``)."""
    register_plugins()
    return Dashboard.from_json(data)


def datasource_body(spec: DatasourceSpec, secret: str | None) -> dict[str, Any]:
    """The datasource as POST/PUT /api/datasources take it (``secret``: token or password)."""
    if spec.store == "victoriametrics":
        return _victoria_body(spec, secret)
    json_data: dict[str, Any] = {
        "dbName": spec.database,
        "httpMode": "POST",
        "version": "InfluxQL",
        "timeInterval": MIN_INTERVAL,
    }
    secure: dict[str, str] = {}
    body: dict[str, Any] = {
        "uid": DATASOURCE_UID,
        "name": DATASOURCE_NAME,
        "type": INFLUXDB_TYPE,
        "access": "proxy",
        "url": spec.url,
        "isDefault": False,
        "jsonData": json_data,
    }
    if spec.flavour == "v2":
        json_data["httpHeaderName1"] = "Authorization"
        if secret is not None:
            secure["httpHeaderValue1"] = f"Token {secret}"
    else:
        if spec.user is not None:
            body["user"] = spec.user
        if secret is not None:
            secure["password"] = secret
    if secure:
        body["secureJsonData"] = secure
    return body


def _victoria_body(spec: DatasourceSpec, secret: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "uid": province_promql.DATASOURCE_UID,
        "name": province_promql.DATASOURCE_NAME,
        "type": province_promql.PROMETHEUS_TYPE,
        "access": "proxy",
        "url": spec.url,
        "isDefault": False,
        "jsonData": {"httpMethod": "POST", "timeInterval": MIN_INTERVAL},
    }
    if spec.user is not None:
        body["basicAuth"] = True
        body["basicAuthUser"] = spec.user
        if secret is not None:
            body["secureJsonData"] = {"basicAuthPassword": secret}
    elif secret is not None:
        body["jsonData"]["httpHeaderName1"] = "Authorization"
        body["secureJsonData"] = {"httpHeaderValue1": f"Bearer {secret}"}
    return body


def datasource_provisioning(spec: DatasourceSpec) -> str:
    """provisioning/datasources/floorwatch.yaml: the secret as ``${ENV}`` for Grafana to expand."""
    body = datasource_body(spec, "${" + spec.secret_env + "}")
    body = {"orgId": 1, "editable": False, **body}
    doc = {"apiVersion": 1, "datasources": [body]}
    header = (
        "# Generated by `floorwatch dashboards export`: do not edit, export again.\n"
        f"# Grafana replaces ${{{spec.secret_env}}} from its environment when it reads this.\n"
    )
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def dashboard_provisioning(path: str = GRAFANA_DASHBOARDS_PATH) -> str:
    """provisioning/dashboards/floorwatch.yaml: a file provider for the JSON files."""
    doc = {
        "apiVersion": 1,
        "providers": [
            {
                "name": "floorwatch",
                "orgId": 1,
                "folder": FOLDER_TITLE,
                "folderUid": FOLDER_UID,
                "type": "file",
                "disableDeletion": False,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 60,
                "options": {"path": path, "foldersFromFilesStructure": False},
            }
        ],
    }
    header = "# Generated by `floorwatch dashboards export`: do not edit, export again.\n"
    return header + yaml.safe_dump(doc, sort_keys=False)


def provisioning_files(
    settings: Settings, spec: DatasourceSpec, lang: Lang = "vi"
) -> dict[str, str]:
    """Relative path -> file text, for ``floorwatch dashboards export DIR [--lang en]``."""
    files = {
        "provisioning/datasources/floorwatch.yaml": datasource_provisioning(spec),
        "provisioning/dashboards/floorwatch.yaml": dashboard_provisioning(),
    }
    for model in build_dashboards(settings, lang):
        text = json.dumps(dashboard_json(model), indent=2, ensure_ascii=False, sort_keys=True)
        files[f"dashboards/{model.uid}.json"] = text + "\n"
    return files


def province_files(view: ProvinceView, spec: DatasourceSpec, lang: Lang = "vi") -> dict[str, str]:
    """Relative path -> file text, for ``floorwatch dashboards province DIR -c central.yaml``:
    the datasource (the central store) and provider YAML, and the province dashboard's JSON."""
    model = build_province(view, lang)
    text = json.dumps(dashboard_json(model), indent=2, ensure_ascii=False, sort_keys=True)
    return {
        "provisioning/datasources/floorwatch.yaml": datasource_provisioning(spec),
        "provisioning/dashboards/floorwatch.yaml": dashboard_provisioning(),
        f"dashboards/{model.uid}.json": text + "\n",
    }
