"""Figures as Vietnamese writes them, for the gateway's own sentences. Pure module.

The alert messages and the HVAC advice are written in Vietnamese, the language
of the centers' staff: a decimal comma and a point between thousands
(``29,2 °C``, ``1.250 ppm``), as ``Intl.NumberFormat('vi-VN')`` writes them on
the control-room page.
"""

from __future__ import annotations


def number(value: float, digits: int = 0) -> str:
    """``number(29.25, 1)`` -> ``"29,2"``; ``number(1250)`` -> ``"1.250"``; ``-0`` is ``"0"``."""
    text = f"{value:,.{digits}f}"
    if text.lstrip("-").strip("0,.") == "":
        text = text.lstrip("-")
    return text.translate(str.maketrans(",.", ".,"))


def setting(value: float) -> str:
    """A setting (a band's edge, a limit): whole numbers bare, others with one decimal."""
    return number(value, 0 if float(value).is_integer() else 1)
