"""``fleet run``'s garbage-collector settings (gateway.fleet.central_run.collect_less).

Run in a child interpreter: the settings are process-wide and the test process
keeps its own.
"""

from __future__ import annotations

import json
import subprocess
import sys

from gateway.fleet.central_run import GC_THRESHOLDS

CHILD = """
import gc, json
from gateway.fleet.central_run import collect_less
before = (gc.get_threshold(), gc.get_freeze_count())
collect_less()
print(json.dumps({"before": before, "after": (gc.get_threshold(), gc.get_freeze_count())}))
"""


def test_collect_less_freezes_what_exists_and_collects_after_10000_new_objects() -> None:
    out = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True
    ).stdout
    got = json.loads(out)
    (thresholds_before, frozen_before), (thresholds_after, frozen_after) = (
        got["before"],
        got["after"],
    )
    assert thresholds_before != list(GC_THRESHOLDS)  # the interpreter's own (700 in 3.11)
    assert thresholds_after == list(GC_THRESHOLDS) == [10_000, 10, 10]
    assert frozen_before == 0
    assert frozen_after > 10_000  # the modules and objects of the start, frozen
