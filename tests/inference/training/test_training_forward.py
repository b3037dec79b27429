"""The teacher-forced training forward equals the streaming path, the generator is deterministic
and labels follow the documented rules, and a short training run learns."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from inference.network import CONFIGS, Action, InteractionNetwork, load_checkpoint
from inference.training.__main__ import main
from inference.training.data import (
    BACKCHANNEL_TEXT,
    Session,
    audio_labels,
    demo_session,
    generate_session,
    generate_sessions,
)
from inference.training.forward import build_batch, hidden_states
from inference.training.train import TrainSettings, losses, train

TINY = CONFIGS["tiny"]


def _streaming_logits(net: InteractionNetwork, session: Session) -> tuple[torch.Tensor, torch.Tensor]:
    """Action logits of every turn and byte logits of every teacher-forced decode token, computed
    the way `InteractionNetwork.step` does: turn by turn against the KV cache, decode tokens as
    scratch dropped after the turn."""
    cfg, emb, cache = net.config, net.embedder, net.new_state().cache
    actions, decoded = [], []
    with torch.inference_mode():
        for labeled in session.turns:
            item, time = labeled.input, emb.time(labeled.input.turn)
            tokens = emb.turn_tokens(item, time)
            cache.reserve(tokens.shape[0], scratch=cfg.max_decode_tokens)
            context = cache.length + tokens.shape[0]
            actions.append(net.action.forward(net.decoder.forward(tokens, cache)[-1]))
            if labeled.action is not Action.LISTEN:
                delegate = labeled.action is Action.DELEGATE
                head = net.responder.delegate if delegate else net.responder.text
                cap = cfg.max_delegate_out if delegate else cfg.max_text_out
                hidden = net.decoder.forward(emb.action_token(labeled.action, time), cache)[-1]
                decoded.append(head.forward(hidden))
                target = labeled.target[:cap]
                for position in range(1, min(len(target), cap - 1) + 1):
                    token = emb.output_byte(target[position - 1], position, time)
                    decoded.append(head.forward(net.decoder.forward(token, cache)[-1]))
            cache.truncate(context)
    return torch.stack(actions), torch.stack(decoded)


def _varied_sessions() -> list[Session]:
    """Sessions covering audio, video, text-only, typed text, background results, late start turns."""
    pool = generate_sessions(TINY, 7, 0, 40)
    picks = [
        next(s for s in pool if s.turns[0].input.video is not None and s.turns[0].input.audio is not None),
        next(s for s in pool if s.turns[0].input.audio is None),
        next(s for s in pool if s.turns[0].input.turn > 0),
        next(s for s in pool if any(t.input.background for t in s.turns)),
    ]
    return [demo_session(TINY), *picks]


def test_teacher_forcing_equals_the_streaming_path() -> None:
    net = InteractionNetwork.seeded(TINY, 3)
    sessions = _varied_sessions()
    batch = build_batch(net, sessions)
    with torch.no_grad():
        hidden = hidden_states(net, batch)
        actions = net.action.forward(hidden[batch.act_of_turn])
        decode = hidden[batch.decode_tokens]
        rows = batch.decode_delegate.unsqueeze(1)
        decoded = torch.where(rows, net.responder.delegate.forward(decode), net.responder.text.forward(decode))
    streamed = [_streaming_logits(net, session) for session in sessions]
    want_actions = torch.cat([a for a, _ in streamed])
    want_decoded = torch.cat([d for _, d in streamed])
    assert actions.shape == want_actions.shape and decoded.shape == want_decoded.shape
    assert decoded.shape[0] > 20  # SPEAK, BACKCHANNEL and DELEGATE decodes are all in there
    torch.testing.assert_close(actions, want_actions, rtol=0, atol=1e-4)
    torch.testing.assert_close(decoded, want_decoded, rtol=0, atol=1e-4)


def test_teacher_forcing_matches_the_cache_window_once_tokens_are_evicted() -> None:
    """With a 64-token window every session here overflows the KV cache: the training mask must
    keep exactly the sinks and the window that `KVCache.reserve` keeps."""
    config = dataclasses.replace(TINY, window_tokens=64)
    net = InteractionNetwork.seeded(config, 5)
    sessions = [demo_session(config), *generate_sessions(config, 8, 0, 3)]
    batch = build_batch(net, sessions)
    with torch.no_grad():
        actions = net.action.forward(hidden_states(net, batch)[batch.act_of_turn])
    want = torch.cat([_streaming_logits(net, session)[0] for session in sessions])
    torch.testing.assert_close(actions, want, rtol=0, atol=1e-4)
    assert net.new_state().cache.limit < sum(net.embedder.token_count(t.input) for t in sessions[0].turns)


def test_sessions_are_a_pure_function_of_seed_and_index() -> None:
    a, b = generate_session(TINY, 3, 5), generate_session(TINY, 3, 5)
    assert [t.input.turn for t in a.turns] == [t.input.turn for t in b.turns]
    for x, y in zip(a.turns, b.turns, strict=True):
        assert (x.action, x.target, x.input.text, x.input.background) == (
            y.action,
            y.target,
            y.input.text,
            y.input.background,
        )
        if x.input.audio is None or y.input.audio is None:
            assert x.input.audio is None and y.input.audio is None
        else:
            assert np.array_equal(x.input.audio, y.input.audio)
    other = generate_session(TINY, 4, 5)
    assert [t.action for t in other.turns] != [t.action for t in a.turns] or len(other.turns) != len(a.turns)


def test_audio_labels_follow_the_turn_taking_rules() -> None:
    loud = [c == "L" for c in "..LLL.LL.LLLL....L..LL..."]
    got = "".join("LSBD"[int(action)] for action, _, _ in audio_labels(loud))
    # pause after 3 loud turns: backchannel; stop after a long run: backchannel, answer;
    # silence after a short run, and long silence: listen
    assert got == "LLLLLBLLLLLLLBSLLLLLLLLLL"
    assert audio_labels(loud)[5][1] == BACKCHANNEL_TEXT


def test_loud_turns_are_loud_and_quiet_turns_are_quiet() -> None:
    for session in generate_sessions(TINY, 11, 0, 12):
        for labeled in session.turns:
            if labeled.input.audio is None:
                continue
            rms = float(np.sqrt(np.mean(labeled.input.audio.astype(np.float64) ** 2)))
            assert (rms > 150) if labeled.loud else (rms < 600), (session.key, labeled.input.turn, rms)


def test_twenty_training_steps_reduce_the_loss() -> None:
    settings = TrainSettings(steps=20, seed=1, batch_sessions=4, lr=5e-3, warmup=2)
    fixed = build_batch(InteractionNetwork.seeded(TINY, settings.seed), generate_sessions(TINY, 999, 0, 6))

    def loss(net: InteractionNetwork) -> float:
        with torch.no_grad():
            terms = losses(net, fixed, settings, torch.Generator().manual_seed(0))
        return float(terms["action"] + terms["text"] + terms["delegate"])

    before = loss(InteractionNetwork.seeded(TINY, settings.seed))
    trained = train(settings)
    after = loss(trained)
    assert after < 0.6 * before, (before, after)
    assert trained.digest != InteractionNetwork.seeded(TINY, settings.seed).digest


def test_the_command_line_writes_a_loadable_checkpoint_and_a_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, report = tmp_path / "ckpt" / "tiny.pt", tmp_path / "report.json"
    assert (
        main(
            [
                "--out",
                str(out),
                "--steps",
                "2",
                "--seed",
                "4",
                "--batch",
                "2",
                "--eval-sessions",
                "1",
                "--long-sessions",
                "1",
                "--long-turns",
                "30",
                "--report",
                str(report),
                "--quiet",
            ]
        )
        == 0
    )
    doc = json.loads(report.read_text())
    net = load_checkpoint(out)
    assert doc["version"] == net.version and doc["digest"] == net.digest
    assert doc["held_out"]["turns"] > 0 and 0.0 <= doc["held_out"]["accuracy"]["overall"] <= 1.0
    assert doc["long_sessions"]["turns"] == 30 and len(doc["long_sessions"]["accuracy_per_100_turns"]) == 1
    assert json.loads(capsys.readouterr().out)["version"] == net.version
