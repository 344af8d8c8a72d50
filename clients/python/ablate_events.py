"""Write Ablate's trial event protocol from a Python training script.

A sweep whose trainer says ``output: events`` reads the program's stdout as JSON lines, one event
per line (docs/worker-protocol.md; the normative definition is protocol/trial_events.h). This
module writes those lines. Standard library only: copy it next to your script or put this folder
on PYTHONPATH.

    import ablate_events as ae
    ae.started(step=0, total_steps=9000)
    ae.metrics(100, loss=5.2, lr=1e-3)
    ae.checkpoint(name, "weights/" + name + ".pdparams", step=100, epoch=1, loss=5.2)
    ae.evaluation_from_cocoeval(coco_eval, checkpoint=name, annotation_file="val.json")
    ae.finished(checkpoint=name)

Everything else the program prints should go to stderr (the worker keeps it in trial.log); a
stdout line that is not an event is logged by the worker and skipped. Every function takes
``out=`` (default ``sys.stdout``) and flushes after each line.
"""

import hashlib
import json
import math
import os
import sys

PROTOCOL_VERSION = 1
STAT_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl",
              "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")


def _emit(event, out=None):
    stream = out if out is not None else sys.stdout
    stream.write(json.dumps(event, separators=(",", ":"), allow_nan=False) + "\n")
    stream.flush()


def _sha256_of_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checkpoint_name(step, epoch, loss):
    """The name Ablate (and the diary) use: step%07d-ep%03d-loss%.3f."""
    return "step%07d-ep%03d-loss%.3f" % (step, epoch, loss)


def started(step=0, total_steps=0, restored_weights=False, restored_optimizer=False,
            restored_schedule=False, out=None):
    """First event: where this attempt starts (a resumed run: the checkpoint's step)."""
    _emit({"event": "started", "protocol": PROTOCOL_VERSION, "step": int(step),
           "total_steps": int(total_steps),
           "restored": {"weights": bool(restored_weights), "optimizer": bool(restored_optimizer),
                        "schedule": bool(restored_schedule)}}, out)


def metrics(step, out=None, **values):
    """Metric points at ``step``: metrics(1200, loss=4.1, lr=1e-3). Values must be finite."""
    clean = {}
    for key, value in values.items():
        value = float(value)
        if not math.isfinite(value):
            raise ValueError("metric %r is not finite: %r" % (key, value))
        clean[key] = value
    _emit({"event": "metrics", "step": int(step), "values": clean}, out)


def checkpoint(name, path, step, epoch, loss, out=None):
    """Registers a checkpoint file (written completely before this call): its absolute path,
    sha256 and size are sent, so forks and retries can start from it (ABLATE_RESUME_FROM)."""
    path = os.path.abspath(path)
    _emit({"event": "checkpoint", "name": name, "path": path, "step": int(step),
           "epoch": int(epoch), "loss": float(loss), "sha256": _sha256_of_file(path),
           "bytes": os.path.getsize(path)}, out)


def _per_category(cocoeval):
    """[{"id", "name", "ap"}] from a COCOeval after accumulate(): AP@[.5:.95], area all, the
    last maxDets, -1 for a category without ground truth (as pycocotools). [] when unavailable."""
    try:
        precision = cocoeval.eval["precision"]  # [T][R][K][A][M]
        cat_ids = list(cocoeval.params.catIds)
    except (AttributeError, KeyError, TypeError):
        return []
    names = {}
    try:
        for cat in cocoeval.cocoGt.loadCats(cat_ids):
            names[cat["id"]] = cat["name"]
    except (AttributeError, KeyError, TypeError):
        pass
    out = []
    for k, cat_id in enumerate(cat_ids):
        values = [float(precision[t][r][k][0][-1])
                  for t in range(len(precision)) for r in range(len(precision[t]))]
        valid = [v for v in values if v > -1]
        out.append({"id": int(cat_id), "name": names.get(cat_id, ""),
                    "ap": sum(valid) / len(valid) if valid else -1.0})
    return out


def evaluation_from_cocoeval(cocoeval, checkpoint, annotation_file=None, dataset_fingerprint=None,
                             iou_type=None, score_threshold=0.05, top_k=100, nms_iou=0.5,
                             per_category=True, out=None):
    """One evaluation event from a pycocotools COCOeval after evaluate/accumulate/summarize.

    checkpoint: the name of a checkpoint sent before (the evaluated weights).
    annotation_file or dataset_fingerprint: what was evaluated on; with annotation_file the
      fingerprint is "sha256:<hex of the file>", the same ablate-train reports, so evaluations of
      both are comparable. One of the two is required.
    iou_type: "bbox" or "segm"; default cocoeval.params.iouType.
    score_threshold, top_k, nms_iou: your detector's settings, recorded with the numbers.
    """
    stats = [float(x) for x in cocoeval.stats]
    if len(stats) != len(STAT_NAMES):
        raise ValueError("cocoeval.stats has %d values, expected 12 (call summarize() first)"
                         % len(stats))
    if iou_type is None:
        iou_type = cocoeval.params.iouType
    if iou_type not in ("bbox", "segm"):
        raise ValueError("iou_type must be bbox or segm, got %r" % (iou_type,))
    if dataset_fingerprint is None:
        if annotation_file is None:
            raise ValueError("name the evaluated dataset: annotation_file=... or "
                             "dataset_fingerprint=...")
        dataset_fingerprint = "sha256:" + _sha256_of_file(annotation_file)
    max_dets = int(list(cocoeval.params.maxDets)[-1])
    _emit({"event": "evaluation", "checkpoint": checkpoint, "iou_type": iou_type,
           "stats": dict(zip(STAT_NAMES, stats)),
           "per_category": _per_category(cocoeval) if per_category else [],
           "dataset_fingerprint": dataset_fingerprint,
           "settings": {"score_threshold": float(score_threshold), "top_k": int(top_k),
                        "nms_iou": float(nms_iou), "max_dets": max_dets}}, out)


def diverged(step, reason, last_checkpoint=None, out=None):
    """The loss became non-finite: the run is marked diverged and not retried."""
    _emit({"event": "diverged", "step": int(step), "reason": str(reason),
           "last_checkpoint": last_checkpoint}, out)


def finished(status="succeeded", checkpoint=None, out=None):
    """Last event. status: "succeeded" or "diverged"; checkpoint: the final one, if any.
    Without it a clean exit is reported as "ended without a 'finished' event"."""
    if status not in ("succeeded", "diverged"):
        raise ValueError("status must be succeeded or diverged, got %r" % (status,))
    _emit({"event": "finished", "status": status, "checkpoint": checkpoint}, out)
