"""HTTP JPEG snapshots (the ONVIF GetSnapshotUri kind of endpoint) with Basic or Digest auth. Shell.

The capture's fallback when a camera has no usable stream. The client answers
the server's challenge with the scheme it asks for (Digest or Basic), so one
setting fits both kinds of cameras.
"""

from __future__ import annotations

from collections.abc import Generator
from types import TracebackType

import cv2
import httpx
import numpy as np
from numpy.typing import NDArray

Image = NDArray[np.uint8]


class SnapshotError(Exception):
    """A snapshot could not be had; the message says why, without the URL's secrets."""


class ChallengeAuth(httpx.Auth):
    """Send nothing first; answer a 401 with Digest or Basic, whichever the server asks for."""

    def __init__(self, username: str, password: str) -> None:
        self._basic = httpx.BasicAuth(username, password)
        self._digest = httpx.DigestAuth(username, password)
        self._scheme: str | None = None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._scheme == "digest":
            yield from self._digest.auth_flow(request)
            return
        if self._scheme == "basic":
            yield from self._basic.auth_flow(request)
            return
        response = yield request
        if response.status_code != 401:
            return
        challenge = response.headers.get("www-authenticate", "").lower()
        if challenge.startswith("digest"):
            self._scheme = "digest"
            yield from self._digest.auth_flow(request)
        elif challenge.startswith("basic"):
            self._scheme = "basic"
            yield from self._basic.auth_flow(request)


class SnapshotClient:
    """Fetches and decodes one JPEG per ``fetch()``; use as a context manager."""

    def __init__(
        self, url: str, username: str | None, password: str | None, *, timeout_s: float
    ) -> None:
        self._url = url
        auth = ChallengeAuth(username, password or "") if username else None
        self._client = httpx.Client(auth=auth, timeout=timeout_s, follow_redirects=True)

    def fetch(self) -> Image:
        try:
            response = self._client.get(self._url)
        except httpx.HTTPError as exc:
            raise SnapshotError(f"request failed: {type(exc).__name__}") from None
        if response.status_code == 401:
            raise SnapshotError("refused: wrong user name or password (HTTP 401)")
        if response.status_code != 200:
            raise SnapshotError(f"HTTP {response.status_code}")
        data = np.frombuffer(response.content, dtype=np.uint8)
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
        if image is None:
            raise SnapshotError("the answer is not a decodable image")
        return np.asarray(image, dtype=np.uint8)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> SnapshotClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
