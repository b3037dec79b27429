"""Training the tiny interaction model on synthetic sessions (turn-taking, delegation, answering
background results), and the shipped checkpoint's provenance.

    python -m inference.training --out PATH --steps N --seed S

The shipped `inference/checkpoints/tiny-v1.pt` (version tiny-22abdba98bf1) came from

    python -m inference.training --out inference/checkpoints/tiny-v1.pt --steps 1700 --seed 0 \
        --report inference/training/tiny-v1.report.json

(one CPU thread, about 230 s of CPU; the report holds its held-out accuracy through `step`). The
run is deterministic: the same command on the same machine and torch build gives the same digest.

`inference/checkpoints/tiny-v2.pt` (version tiny-0f6cd0862fff) is tiny-v1 fine-tuned on the spoken
corpus (`speech.py`, espeak-ng dialogues at telephone quality, 60 % of each batch) plus the
synthetic sessions (40 %):

    python -m inference.training \
        --out inference/checkpoints/tiny-v2.pt --steps 1200 --seed 0 --lr 0.002 \
        --init inference/checkpoints/tiny-v1.pt --speech-dir .microturn/corpus --speech-train 120 \
        --speech-heldout 24 --speech-share 0.6 --report inference/training/tiny-v2.report.json

(one CPU thread, 215 s of CPU, 343 s wall on a shared 2-core machine; the 144 dialogues of
`--speech-dir` are generated on first use, about a minute). Its spoken labels
(`speech.turn_labels`): LISTEN while the caller speaks, SPEAK from the first quiet turn after a
turn end for 4 turns, one BACKCHANNEL at a backchannel opportunity, LISTEN through mid-turn
pauses. Turn-taking figures on the held-out dialogues: docs/evaluation.md. The served model stays
tiny-v1 (see there why).

- `data.py`: the deterministic session generator and the labelling rules (read its docstring for
  what the model is taught);
- `synth.py`: speech-like audio, other loud sounds, line noise, video scenes;
- `forward.py`: the teacher-forced, batched forward through the network's own modules,
  equivalent to `InteractionNetwork.step` (tested against it);
- `warmstart.py`: attention heads that start out looking 1-4 turns back (what turn-taking reads);
- `train.py`: losses and the training loop; `evaluate.py`: held-out evaluation through `step`;
- `speech.py`: the spoken turn-taking corpus (generator, labels) and its training sessions.

Nothing here is imported by the serving path; `inference.network` is unchanged by training.
"""
