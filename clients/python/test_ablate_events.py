"""Tests of ablate_events.py with python3 alone (pycocotools is not a Debian package): a COCOeval
stand-in with the attributes the module reads (stats, params, eval["precision"], cocoGt)."""

import hashlib
import io
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ablate_events as ae  # noqa: E402


class Params:
    def __init__(self, iou_type):
        self.iouType = iou_type
        self.maxDets = [1, 10, 100]
        self.catIds = [1, 3]


class Gt:
    def loadCats(self, ids):
        return [{"id": i, "name": {1: "circle", 3: "triangle"}[i]} for i in ids]


class FakeCocoEval:
    """Two IoU thresholds x two recall points x two categories x 1 area x 1 maxDets."""

    def __init__(self, iou_type="segm"):
        self.params = Params(iou_type)
        self.stats = [0.5, 0.7, 0.4, 0.1, 0.2, 0.3, 0.25, 0.45, 0.55, 0.15, 0.35, 0.6]
        self.cocoGt = Gt()
        # precision[t][r][k][a][m]; category 3 has no ground truth (-1 everywhere).
        self.eval = {"precision": [[[[[0.2]], [[-1.0]]], [[[0.4]], [[-1.0]]]],
                                   [[[[0.6]], [[-1.0]]], [[[0.8]], [[-1.0]]]]]}


def lines(buffer):
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


class AblateEventsTest(unittest.TestCase):
    def test_started_carries_the_protocol_version(self):
        out = io.StringIO()
        ae.started(step=300, total_steps=900, restored_weights=True, out=out)
        self.assertEqual(lines(out), [{"event": "started", "protocol": 1, "step": 300,
                                       "total_steps": 900,
                                       "restored": {"weights": True, "optimizer": False,
                                                    "schedule": False}}])

    def test_metrics_refuse_non_finite_values(self):
        out = io.StringIO()
        ae.metrics(12, loss=4.5, lr=0.001, out=out)
        self.assertEqual(lines(out), [{"event": "metrics", "step": 12,
                                       "values": {"loss": 4.5, "lr": 0.001}}])
        with self.assertRaisesRegex(ValueError, "metric 'loss' is not finite"):
            ae.metrics(13, loss=float("nan"), out=out)

    def test_checkpoint_hashes_the_file(self):
        with tempfile.TemporaryDirectory() as d:
            name = ae.checkpoint_name(200, 2, 4.1234)
            self.assertEqual(name, "step0000200-ep002-loss4.123")
            path = os.path.join(d, name + ".pdparams")
            with open(path, "wb") as f:
                f.write(b"weights!")
            out = io.StringIO()
            ae.checkpoint(name, path, step=200, epoch=2, loss=4.1234, out=out)
            event = lines(out)[0]
            self.assertEqual(event["path"], path)
            self.assertEqual(event["bytes"], 8)
            self.assertEqual(event["sha256"], hashlib.sha256(b"weights!").hexdigest())
            self.assertEqual((event["step"], event["epoch"], event["loss"]), (200, 2, 4.1234))

    def test_evaluation_from_cocoeval(self):
        with tempfile.TemporaryDirectory() as d:
            ann = os.path.join(d, "val.json")
            with open(ann, "w") as f:
                f.write('{"images": []}')
            out = io.StringIO()
            ae.evaluation_from_cocoeval(FakeCocoEval(), "step0000200-ep002-loss4.123",
                                        annotation_file=ann, score_threshold=0.01, out=out)
            event = lines(out)[0]
        self.assertEqual(event["iou_type"], "segm")
        self.assertEqual(event["stats"]["AP"], 0.5)
        self.assertEqual(event["stats"]["AR1"], 0.25)
        self.assertEqual(event["stats"]["ARl"], 0.6)
        self.assertEqual(event["dataset_fingerprint"],
                         "sha256:" + hashlib.sha256(b'{"images": []}').hexdigest())
        self.assertEqual(event["settings"], {"score_threshold": 0.01, "top_k": 100,
                                             "nms_iou": 0.5, "max_dets": 100})
        self.assertEqual(event["per_category"], [{"id": 1, "name": "circle", "ap": 0.5},
                                                 {"id": 3, "name": "triangle", "ap": -1.0}])

    def test_evaluation_needs_a_dataset_and_a_known_iou_type(self):
        with self.assertRaisesRegex(ValueError, "name the evaluated dataset"):
            ae.evaluation_from_cocoeval(FakeCocoEval(), "c", out=io.StringIO())
        with self.assertRaisesRegex(ValueError, "iou_type must be bbox or segm"):
            ae.evaluation_from_cocoeval(FakeCocoEval("keypoints"), "c", dataset_fingerprint="x",
                                        out=io.StringIO())

    def test_finished_and_diverged(self):
        out = io.StringIO()
        ae.diverged(40, "loss is nan", last_checkpoint="step0000030", out=out)
        ae.finished(status="diverged", checkpoint="step0000030", out=out)
        self.assertEqual(lines(out), [
            {"event": "diverged", "step": 40, "reason": "loss is nan",
             "last_checkpoint": "step0000030"},
            {"event": "finished", "status": "diverged", "checkpoint": "step0000030"}])
        with self.assertRaisesRegex(ValueError, "status must be succeeded or diverged"):
            ae.finished(status="done", out=out)


if __name__ == "__main__":
    unittest.main()
