"""Credentials out of text: URLs with a password, and HTTP authorization values. Pure module.

The one rule for hiding credentials in free text, used by the log processor
(``gateway.logs``) and by whatever shows a device's detail text (the API's
device health, the camera CLI), so a secret is hidden the same way everywhere:

- ``rtsp://user:pass@cam/`` -> ``rtsp://***:***@cam/``;
- ``Bearer <token>``, ``Token <token>`` (InfluxDB), ``Basic <base64>`` ->
  ``Bearer ***``: servers echo the credential they refused in their error
  ("cannot find the provided auth token \\"Bearer ...\\""), and a refused token
  is often a near miss of the real one.
"""

from __future__ import annotations

import re

URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s:]+:[^/@\s]*@")
AUTHORIZATION = re.compile(r"\b(?P<scheme>Bearer|Token|Basic) +[^\s\"',;]+")


def scrub_text(text: str) -> str:
    """rtsp://user:pass@cam/ -> rtsp://***:***@cam/; Bearer abc -> Bearer ***."""
    text = URL_CREDENTIALS.sub(r"\g<scheme>***:***@", text)
    return AUTHORIZATION.sub(r"\g<scheme> ***", text)
