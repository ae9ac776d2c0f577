"""Calibration of the density model recovers the parameters that made the samples."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cameras.calibration import Sample, fit, people


def forward(n: int, total: float, area: float, overlap: float) -> float:
    """Covered area U that the model expects for n people (inverse of ``people``)."""
    capacity = overlap * total
    return capacity * (1 - math.exp(-n * area / capacity))


def test_people_inverts_the_union_of_overlapping_silhouettes() -> None:
    for n in (0, 1, 5, 20, 60):
        u = forward(n, 12.0, 0.25, 0.6)
        assert people(u, 12.0, 0.25, 0.6) == pytest.approx(n, abs=1e-6)


def test_few_people_are_area_over_person_area() -> None:
    assert people(0.5, 100.0, 0.25, 1.0) == pytest.approx(2.0, rel=0.01)
    assert people(0.0, 10.0, 0.25, 1.0) == 0.0
    assert people(3.0, 0.0, 0.25, 1.0) == 0.0


@settings(max_examples=30, deadline=None)
@given(st.floats(0.1, 0.4), st.sampled_from([0.4, 0.6, 0.8, 1.0]))
def test_fit_recovers_person_area_and_overlap(area: float, overlap: float) -> None:
    samples = [Sample(forward(n, 15.0, area, overlap), 15.0, n) for n in range(0, 61, 3)]
    # beyond MAX_FILL the model clips (a view full of people): such frames carry no count
    samples = [s for s in samples if s.covered < 0.95 * overlap * s.total]
    cal = fit(samples, overlaps=[0.2, 0.4, 0.6, 0.8, 1.0, 1.2])
    assert cal.overlap == pytest.approx(overlap)
    assert cal.person_area == pytest.approx(area, rel=1e-6)
    assert cal.mae < 1e-6


def test_fit_needs_people() -> None:
    with pytest.raises(ValueError, match="people"):
        fit([Sample(0.0, 10.0, 0), Sample(0.1, 10.0, 0)])
    with pytest.raises(ValueError, match="foreground"):
        fit([Sample(0.0, 10.0, 3)])
