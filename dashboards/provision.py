"""Push the folder, the datasource and the dashboards to a running Grafana. Shell module.

Through grafana-client, idempotently: a second push changes nothing but the
dashboards' version. Every step first reads what exists (by uid) and then
creates or updates it:

- folder ``floorwatch``: GET /api/folders/<uid>, then POST /api/folders or PUT;
- datasource: GET /api/datasources/uid/<uid>, then POST /api/datasources or
  PUT /api/datasources/uid/<uid>;
- dashboards: POST /api/dashboards/db with ``overwrite: true`` into the folder
  (GET /api/search first, to report created vs updated).

Failures become one ``ProvisionError`` with a sentence an operator can act on
(bad URL, unreachable, refused token, missing permission).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import niquests
import structlog
from grafana_client.api import GrafanaApi
from grafana_client.client import (
    GrafanaClientError,
    GrafanaException,
    GrafanaServerError,
    GrafanaTimeoutError,
    GrafanaUnauthorizedError,
)

from dashboards.common import DATASOURCE_UID, FOLDER_TITLE, FOLDER_UID

log = structlog.get_logger(__name__)
T = TypeVar("T")


class ProvisionError(Exception):
    """Grafana could not be provisioned; the message says why and what to check."""


@dataclass
class PushReport:
    folder: str = ""  # "created" or "updated"
    datasource: str = ""
    dashboards: dict[str, str] = field(default_factory=dict)  # uid -> "created"/"updated"


def check_url(url: str) -> str:
    """``http(s)://host[:port][/prefix]``, without a trailing slash; anything else is refused."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProvisionError(f"not a Grafana URL: {url!r} (expected http://host:3000)")
    if parts.username or parts.password:
        raise ProvisionError("put no credentials in the URL: use --token-file or the environment")
    return url.rstrip("/")


# grafana-client's methods carry no annotations: its API object is handled as Any here.
def connect(url: str, token: str, timeout_s: float = 10.0) -> Any:
    return GrafanaApi.from_url(url=check_url(url), credential=token, timeout=timeout_s)


def _readable(what: str, url: str, exc: GrafanaException) -> ProvisionError:
    if isinstance(exc, GrafanaUnauthorizedError):
        return ProvisionError(
            f"Grafana at {url} refused the token while {what} (HTTP 401): check the"
            " service-account token"
        )
    if isinstance(exc, GrafanaTimeoutError):
        return ProvisionError(f"Grafana at {url} did not answer in time while {what}")
    if isinstance(exc, GrafanaServerError):
        return ProvisionError(
            f"Grafana at {url} failed while {what} (HTTP {exc.status_code}): {exc.message}"
        )
    if isinstance(exc, GrafanaClientError):
        hint = " (the token's role must be Editor or Admin)" if exc.status_code == 403 else ""
        return ProvisionError(
            f"Grafana at {url} refused {what} (HTTP {exc.status_code}): {exc.message}{hint}"
        )
    return ProvisionError(f"cannot reach Grafana at {url} while {what}: {exc.message}")


def _unreachable(what: str, url: str, exc: Exception) -> ProvisionError:
    reason = str(exc).split("Caused by ")[-1].rstrip(")")
    return ProvisionError(f"cannot reach Grafana at {url} while {what}: {reason}")


def _call(what: str, url: str, fn: Callable[[], T]) -> T:
    try:
        return fn()
    except GrafanaException as exc:
        raise _readable(what, url, exc) from exc
    except niquests.exceptions.RequestException as exc:
        raise _unreachable(what, url, exc) from exc


def _exists(what: str, url: str, fn: Callable[[], object]) -> bool:
    """True if the GET finds it, False on 404; any other failure is a ProvisionError."""
    try:
        fn()
    except GrafanaClientError as exc:
        if exc.status_code == 404:
            return False
        raise _readable(what, url, exc) from exc
    except GrafanaException as exc:
        raise _readable(what, url, exc) from exc
    except niquests.exceptions.RequestException as exc:
        raise _unreachable(what, url, exc) from exc
    return True


def _save(api: Any, url: str, uid: str, body: dict[str, Any]) -> None:
    _call(f"saving dashboard {uid}", url, lambda: api.dashboard.update_dashboard(body))


def push(
    api: Any,
    url: str,
    datasource: dict[str, Any],
    dashboards: Sequence[dict[str, Any]],
) -> PushReport:
    """Create or update the folder, the datasource and the dashboards."""
    report = PushReport()
    if _exists("reading the folder", url, lambda: api.folder.get_folder(FOLDER_UID)):
        _call(
            "updating the folder",
            url,
            lambda: api.folder.update_folder(FOLDER_UID, title=FOLDER_TITLE, overwrite=True),
        )
        report.folder = "updated"
    else:
        _call(
            "creating the folder",
            url,
            lambda: api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID),
        )
        report.folder = "created"
    log.info("grafana.folder_provisioned", uid=FOLDER_UID, action=report.folder)

    ds_uid = str(datasource.get("uid") or DATASOURCE_UID)
    ds_path = lambda: api.datasource.get_datasource_by_uid(ds_uid)  # noqa: E731
    if _exists("reading the datasource", url, ds_path):
        _call(
            "updating the datasource",
            url,
            lambda: api.datasource.update_datasource_by_uid(ds_uid, datasource),
        )
        report.datasource = "updated"
    else:
        _call("creating the datasource", url, lambda: api.datasource.create_datasource(datasource))
        report.datasource = "created"
    log.info("grafana.datasource_provisioned", uid=ds_uid, action=report.datasource)

    found = _call(
        "searching the dashboards",
        url,
        lambda: api.search.search_dashboards(type_="dash-db", folder_uids=[FOLDER_UID]),
    )
    existing = {item.get("uid") for item in found or []}
    for board in dashboards:
        body = {"dashboard": {**board, "id": None}, "folderUid": FOLDER_UID, "overwrite": True}
        body["message"] = "floorwatch dashboards push"
        _save(api, url, board["uid"], body)
        action = "updated" if board["uid"] in existing else "created"
        report.dashboards[board["uid"]] = action
        log.info("grafana.dashboard_provisioned", uid=board["uid"], action=action)
    return report
