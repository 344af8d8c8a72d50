#!/usr/bin/env python3
"""A user's training script for tests/trainer_e2e_test (trainer.output: summaries).

It prints what a PaddlePaddle YOLACT port prints: log lines with iter/loss/lr, the checkpoint it
saves, and pycocotools' summarize() tables (bbox, then segm). Its numbers are simple functions of
the trial's config so the test can check what was stored:
  loss at step s: 6 - s/100; bbox AP = pos_threshold / 2; segm AP = pos_threshold / 3.
Config key `mode`: ok | no_table (prints no table) | crash_once (the first attempt dies with
exit code 3 right after saving step 100; a retry resumes from ABLATE_RESUME_FROM).
Every attempt appends what it was given to attempts.jsonl in the trial folder.
"""
import json
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from coco_summary import summarize  # noqa: E402 (this folder: sys.path[0])

config_path = os.environ["ABLATE_TRIAL_CONFIG"]
with open(config_path) as f:
    config = json.load(f)
trial_dir = os.environ["ABLATE_TRIAL_DIR"]
resume = os.environ.get("ABLATE_RESUME_FROM")
with open("attempts.jsonl", "a") as f:  # relative: the trial folder is the working directory
    f.write(json.dumps({"argv": sys.argv[1:], "config": config, "cwd": os.getcwd(),
                        "trial_dir": trial_dir, "run": os.environ["ABLATE_RUN"],
                        "device": os.environ["ABLATE_DEVICE"], "resume_from": resume}) + "\n")

mode = config.get("mode", "ok")
pos = float(config["pos_threshold"])
start = int(re.search(r"step(\d+)", os.path.basename(resume)).group(1)) if resume else 0
if resume:
    print("resuming from " + resume, file=sys.stderr)

os.makedirs("weights", exist_ok=True)
for step in (100, 200):
    if step <= start:
        continue
    loss = 6.0 - step / 100.0
    print("[train] epoch {} iter: {}/200 loss: {:.3f} lr: 0.001".format(step // 100, step, loss),
          flush=True)
    name = "step%07d-ep%03d-loss%.3f" % (step, step // 100, loss)
    with open(os.path.join("weights", name + ".pdparams"), "wb") as f:
        f.write(b"paddle weights at step %d" % step)
    print("Saving weights/" + name + ".pdparams", flush=True)
    if mode == "crash_once" and not resume:
        print("Traceback: simulated CUDA error: out of memory", file=sys.stderr)
        sys.exit(3)
if mode != "no_table":
    print("Evaluate annotation type *bbox*")
    summarize(pos / 2)
    print("Evaluate annotation type *segm*")
    summarize(pos / 3)
print("done", flush=True)
