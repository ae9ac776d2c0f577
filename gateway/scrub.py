"""Credentials out of text: ``rtsp://user:pass@cam/`` -> ``rtsp://***:***@cam/``. Pure module.

The one rule for URLs with credentials in them, used by the log processor
(``gateway.logs``) and by whatever shows a device's detail text (the API's
device health, the camera CLI), so a password in a camera URL is hidden the
same way everywhere.
"""

from __future__ import annotations

import re

URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s:]+:[^/@\s]*@")


def scrub_text(text: str) -> str:
    """rtsp://user:pass@cam/ -> rtsp://***:***@cam/."""
    return URL_CREDENTIALS.sub(r"\g<scheme>***:***@", text)
