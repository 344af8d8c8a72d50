#!/usr/bin/env python3
"""A training script whose COCO AP curve is a known function of its config, for early stopping
with real processes (tests/early_stop_e2e_test, bench/early_stop/compare.py; the sweep is
sweeps/curves-asha.yaml). Standard library only; it trains nothing, it takes time.

Usage (trainer.output: summaries): curve_trainer.py --steps 27 --eval-every 3
Config (ABLATE_TRIAL_CONFIG): lr, warmup, step_seconds (the wall time one step takes).

The curves (printed as pycocotools' summarize() prints them, 3 decimals):
  segm AP at step s = peak * s / (s + half)
      peak = 0.40 - 0.06 * |log2(lr / 0.001)|     (the best lr is 0.001)
      half = 0.003 / lr + warmup                   (a higher lr learns faster; warmup delays it)
  bbox AP = 0.45 - segm AP: the reverse ranking, so a rule that read the bbox table instead of
  the segm one would stop other trials.

Every step it prints a log line (iter, loss = 1 - segm AP, lr) and appends the step to
steps.txt in the trial folder (so the compute a sweep spent can be counted); every
--eval-every steps it saves weights/NAME.pdparams, prints "Saving weights/NAME.pdparams" and
the bbox and segm tables of that checkpoint.

Being stopped: the worker ends a trial that early stopping (or `ablate cancel`) stopped with
SIGTERM to its process group, and SIGKILL 5 s later. This script notes the step it had reached
in stopped.txt and exits at once. With ABLATE_RESUME_FROM (a retry) it starts after that
checkpoint's step.
"""
import argparse
import json
import math
import os
import re
import signal
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from coco_summary import summarize  # noqa: E402 (this folder: sys.path[0])

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, required=True)
parser.add_argument("--eval-every", type=int, required=True)
args = parser.parse_args()

with open(os.environ["ABLATE_TRIAL_CONFIG"]) as f:
    config = json.load(f)
lr = float(config["lr"])
warmup = float(config.get("warmup", 0))
step_seconds = float(config.get("step_seconds", 0.2))
peak = 0.40 - 0.06 * abs(math.log2(lr / 0.001))
half = 0.003 / lr + warmup

resume = os.environ.get("ABLATE_RESUME_FROM")
start = int(re.search(r"step(\d+)", os.path.basename(resume)).group(1)) if resume else 0
step = start


def on_sigterm(signum, frame):
    with open("stopped.txt", "a") as f:  # relative: the trial folder is the working directory
        f.write("%d\n" % step)
    print("stopped by the worker at step %d" % step, file=sys.stderr, flush=True)
    sys.exit(128 + signum)


signal.signal(signal.SIGTERM, on_sigterm)


def summarize_as(iou_type, ap):
    print("Evaluate annotation type *%s*" % iou_type)
    summarize(ap)


os.makedirs("weights", exist_ok=True)
while step < args.steps:
    time.sleep(step_seconds)
    step += 1
    segm_ap = peak * step / (step + half)
    loss = 1.0 - segm_ap
    with open("steps.txt", "a") as f:
        f.write("%d\n" % step)
    print("[train] iter: %d/%d loss: %.4f lr: %g" % (step, args.steps, loss, lr), flush=True)
    if step % args.eval_every == 0 or step == args.steps:
        name = "step%07d-ep%03d-loss%.3f" % (step, step // args.eval_every, loss)
        with open(os.path.join("weights", name + ".pdparams"), "wb") as f:
            f.write(b"weights at step %d" % step)
        print("Saving weights/%s.pdparams" % name, flush=True)
        summarize_as("bbox", 0.45 - segm_ap)
        summarize_as("segm", segm_ap)
print("done", flush=True)
