#!/usr/bin/env python3
"""A user's training script for tests/trainer_e2e_test (trainer.output: events), reporting with
clients/python/ablate_events.py. Its numbers: loss at step s = 6 - s/100; the evaluation's AP =
pos_threshold / 2 (from a COCOeval stand-in: pycocotools is not a Debian package)."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients",
                                "python"))
import ablate_events as ae  # noqa: E402

with open(os.environ["ABLATE_TRIAL_CONFIG"]) as f:
    config = json.load(f)
pos = float(config["pos_threshold"])


class Params:
    iouType = "bbox"
    maxDets = [1, 10, 100]
    catIds = []


class CocoEval:
    params = Params()
    stats = [pos / 2] + [0.5] * 11
    eval = {}


ae.started(step=0, total_steps=200)
name = None
for step in (100, 200):
    loss = 6.0 - step / 100.0
    ae.metrics(step, loss=loss, lr=0.001)
    name = ae.checkpoint_name(step, step // 100, loss)
    path = os.path.join(os.environ["ABLATE_TRIAL_DIR"], name + ".pdparams")
    with open(path, "wb") as f:
        f.write(b"weights %d" % step)
    ae.checkpoint(name, path, step=step, epoch=step // 100, loss=loss)
print("this goes to stderr, as the protocol asks", file=sys.stderr)
ae.evaluation_from_cocoeval(CocoEval(), name, dataset_fingerprint="sha256:e2e-val",
                            score_threshold=0.05)
ae.finished(checkpoint=name)
