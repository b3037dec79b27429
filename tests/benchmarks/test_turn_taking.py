"""The turn-taking benchmark's pure parts: the goals and the side-by-side table."""

from __future__ import annotations

from benchmarks.turn_taking import goals, table
from replay.evaluation.labels import Moment
from replay.evaluation.metrics import ModelTurn, score


def _doc(latency_turn: int) -> dict[str, object]:
    model = [ModelTurn(k, "LISTEN", float("-inf")) for k in range(latency_turn)] + [
        ModelTurn(latency_turn, "SPEAK", -26.0)
    ]
    return score([(0, 1000)], model, 3000, [Moment("turn_end", 1000, 3000), Moment("pause", 400, 500)]).as_dict()


def test_goals_follow_the_issue_thresholds() -> None:
    fast = goals(_doc(5))  # heard at 1200 ms: 0.2 s
    assert fast["smooth_latency_below_0.40_s"] is True
    assert fast["pause_takeover_at_most_0.2"] is True
    assert fast["interruption_latency_below_0.3_s"] is None  # nothing to measure
    assert goals(_doc(7))["smooth_latency_below_0.40_s"] is False  # 0.4 s is not below 0.40


def test_the_table_has_a_row_per_model() -> None:
    text = table({"tiny-v2": _doc(5), "harness": _doc(8)})
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["model", "pause", "TOR"]
    assert lines[2].startswith("tiny-v2") and "0.200 s" in lines[2]
    assert lines[3].startswith("harness") and "0.800 s" in lines[3]  # heard at 1800 ms
