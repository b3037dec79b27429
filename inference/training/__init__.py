"""Training the tiny interaction model on synthetic sessions (turn-taking, delegation, answering
background results), and the shipped checkpoint's provenance.

    python -m inference.training --out PATH --steps N --seed S

The shipped `inference/checkpoints/tiny-v1.pt` (version tiny-22abdba98bf1) came from

    python -m inference.training --out inference/checkpoints/tiny-v1.pt --steps 1700 --seed 0 \
        --report inference/training/tiny-v1.report.json

(one CPU thread, about 230 s of CPU; the report holds its held-out accuracy through `step`). The
run is deterministic: the same command on the same machine and torch build gives the same digest.

- `data.py`: the deterministic session generator and the labelling rules (read its docstring for
  what the model is taught);
- `synth.py`: speech-like audio, other loud sounds, line noise, video scenes;
- `forward.py`: the teacher-forced, batched forward through the network's own modules,
  equivalent to `InteractionNetwork.step` (tested against it);
- `warmstart.py`: attention heads that start out looking 1-4 turns back (what turn-taking reads);
- `train.py`: losses and the training loop; `evaluate.py`: held-out evaluation through `step`.

Nothing here is imported by the serving path; `inference.network` is unchanged by training.
"""
