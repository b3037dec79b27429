"""The session timeline as a PNG: both speakers' activity and the model's actions over session time.

Three lanes over the session clock: the caller (speech segments, with the audio energy drawn in),
the model (its speech segments and backchannels; overlaps with the caller shaded red; response
latencies as arrows from where the caller stopped), and the model's action at every turn (a
colored strip), with each delegation drawn until its result arrived.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, never a display

import matplotlib.pyplot as plt

from replay.analytics.report import Activity
from schemas.clock import TURN_MS

_CALLER, _MODEL, _ACTIONS = 2.0, 1.0, 0.0
_COLORS = {
    "caller": "#1f77b4",
    "model": "#ff7f0e",
    "overlap": "#d62728",
    "backchannel": "#2ca02c",
    "delegate": "#9467bd",
}
_ACTION_COLORS = {
    "LISTEN": "#d9d9d9",
    "SPEAK": _COLORS["model"],
    "BACKCHANNEL": _COLORS["backchannel"],
    "DELEGATE": _COLORS["delegate"],
}


def _bars(segments: list[list[int]] | list[tuple[int, int]]) -> list[tuple[float, float]]:
    return [(start / 1000, (end - start) / 1000) for start, end in segments]


def render(doc: dict[str, Any], act: Activity, path: Path) -> Path:
    """Draw the report `doc` of one session (with its per-turn `act`) to the PNG `path`."""
    seconds = max(doc["duration_ms"], len(act.turns) * TURN_MS, TURN_MS) / 1000
    fig, ax = plt.subplots(figsize=(min(24.0, max(10.0, seconds / 4)), 4.6), dpi=110)
    try:
        ax.broken_barh(_bars(doc["caller"]["segments"]), (_CALLER - 0.3, 0.6), color=_COLORS["caller"], alpha=0.35)
        if act.turns:
            peak = max(*act.caller_rms, 1e-6)
            xs = [t * TURN_MS / 1000 for t in act.turns] + [(act.turns[-1] + 1) * TURN_MS / 1000]
            ys = [_CALLER - 0.3 + 0.6 * r / peak for r in act.caller_rms]
            ax.stairs(ys, xs, baseline=_CALLER - 0.3, color=_COLORS["caller"], linewidth=1.0, label="caller energy")
        ax.broken_barh(_bars(doc["model"]["segments"]), (_MODEL - 0.3, 0.6), color=_COLORS["model"], alpha=0.8)
        for start, width in _bars(doc["overlaps"]["segments"]):
            ax.axvspan(start, start + width, ymin=0.33, ymax=0.97, color=_COLORS["overlap"], alpha=0.18, lw=0)
        for r in doc["responses"]:
            if r["latency_ms"] is None:
                continue
            x0, x1 = r["stopped_at_ms"] / 1000, r["response_turn"] * TURN_MS / 1000
            ax.annotate(
                "",
                xy=(x1, _MODEL + 0.35),
                xytext=(x0, _CALLER - 0.35),
                arrowprops={"arrowstyle": "->", "color": "0.3", "lw": 0.8},
            )
            ax.text((x0 + x1) / 2, 1.5, f"{r['latency_ms']:.0f} ms", fontsize=7, ha="center", color="0.25")
        for action, color in _ACTION_COLORS.items():  # one strip: the model's action at every turn
            bars = [
                (t * TURN_MS / 1000, TURN_MS / 1000) for t, a in zip(act.turns, act.actions, strict=True) if a == action
            ]
            ax.broken_barh(bars, (_ACTIONS + 0.05, 0.25), color=color, label=action.lower())
        bc = [b["at_ms"] / 1000 + 0.1 for b in doc["backchannels"]]
        ax.scatter(bc, [_MODEL] * len(bc), marker="o", s=26, color=_COLORS["backchannel"], zorder=3)
        for d in doc["delegations"]:
            x = d["at_ms"] / 1000 + 0.1
            if d["result_ms"] is not None:
                ax.plot([x, x + d["result_ms"] / 1000], [_ACTIONS - 0.15] * 2, color=_COLORS["delegate"], lw=2)
                ax.scatter([x + d["result_ms"] / 1000], [_ACTIONS - 0.15], marker="|", s=60, color=_COLORS["delegate"])
            ax.text(x, _ACTIONS - 0.45, str(d["task"])[:30], fontsize=7, color=_COLORS["delegate"])
        ax.plot([], [], color=_COLORS["delegate"], lw=2, label="delegation until result")
        ax.fill_between([], [], color=_COLORS["overlap"], alpha=0.18, label="overlap")
        ax.set_yticks([_ACTIONS, _MODEL, _CALLER], ["model actions", "model speech", "caller speech"])
        ax.set_ylim(-0.6, 2.5)
        ax.set_xlim(0, seconds)
        ax.set_xlabel("session time (s)")
        ax.grid(axis="x", alpha=0.3)
        lat, ov = doc["response_latency_ms"], doc["overlaps"]
        p50 = "-" if lat["p50"] is None else f"{lat['p50']:.0f} ms"
        ratio = "-" if ov["talk_over_ratio"] is None else f"{ov['talk_over_ratio']:.2f}"
        ax.set_title(
            f"{doc['session_id']}: {seconds:.1f} s, {doc['turns']} turns; response latency p50 {p50}; "
            f"talk-over ratio {ratio}",
            fontsize=10,
        )
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=8, ncol=8, frameon=False)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path
