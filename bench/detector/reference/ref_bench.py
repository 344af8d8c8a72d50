#!/usr/bin/python3
"""Reference side of side_by_side.sh: times the reference PyTorch YOLACT (github.com/dbolya/yolact)
on CPU, on the same inputs and weights that our detector_side_bench reads.

  ref_bench.py prepare --yolact DIR --net r50|tiny --out DIR
      builds the reference net (random init, seed 0), writes DIR/weights.pt (plain dict, the
      state dict) and DIR/inputs.pt (plain dict: "images" [B,3,S,S], per image i "boxes.i"
      [G,4] point form relative, "labels.i" [G] int64 0-based, "masks.i" [G,S,S] float 0/1),
      and DIR/net.json (what was built).
  ref_bench.py run --yolact DIR --net r50|tiny --data DIR --mode train|infer --iters N
      [--threads 2] [--profile TRACE.json]  prints one JSON line: seconds per iteration (median
      after one warm-up), images/s, for train the phase medians (forward, loss, backward,
      optimizer), for infer the detections per image.

The reference is imported from DIR as it is (the caller may patch its import-time CUDA call, nothing
else). Debian 12 has no pycocotools: data/coco.py only imports its mask module, so a stub module
stands in for it. The reference net is built through its own config mechanism: r50 =
yolact_resnet50_config with freeze_bn; tiny = the layout of ../shared/yolact-vectors/v1_tiny_s1
(Bottleneck [1,1,1,1], base width 16, FPN 32, 8 prototypes, 5 classes, 128 px) with BN trained,
as our tiny preset does (the reference ResNetBackbone hard-codes width 64, so a subclass changes
only the width, as the vectors' generator did).
"""
import argparse
import contextlib
import json
import os
import statistics
import sys
import time
import types

import torch

NETS = {
    # name: (batch, image size, objects per image)
    "r50": (2, 550, 6),
    "tiny": (8, 128, 3),
}


def import_reference(yolact_dir):
    try:
        import pycocotools  # noqa: F401
    except ImportError:
        stub = types.ModuleType("pycocotools")
        stub.mask = types.ModuleType("pycocotools.mask")
        sys.modules["pycocotools"] = stub
        sys.modules["pycocotools.mask"] = stub.mask
    sys.path.insert(0, os.path.abspath(yolact_dir))


def configure(net, manifest_path):
    import torch.nn as nn
    import backbone
    from data.config import cfg, yolact_resnet50_config

    if net == "r50":
        cfg.replace(yolact_resnet50_config.copy({"freeze_bn": True}))
        return cfg
    with open(manifest_path) as f:
        m = json.load(f)["config"]

    class ScaledResNetBackbone(backbone.ResNetBackbone):
        """The reference ResNetBackbone with stage planes base_width * (1, 2, 4, 8)."""

        def __init__(self, layers, base_width):
            nn.Module.__init__(self)
            self.num_base_layers = len(layers)
            self.layers = nn.ModuleList()
            self.channels = []
            self.norm_layer = nn.BatchNorm2d
            self.dilation = 1
            self.atrous_layers = []
            self.inplanes = base_width
            self.conv1 = nn.Conv2d(3, base_width, kernel_size=7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(base_width)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            for i, n in enumerate(layers):
                self._make_layer(backbone.Bottleneck, base_width * 2**i, n, stride=1 if i == 0 else 2)
            self.backbone_modules = [x for x in self.modules() if isinstance(x, nn.Conv2d)]

    levels = m["anchors"]["levels"]
    bb = yolact_resnet50_config.backbone.copy({
        "type": ScaledResNetBackbone,
        "args": (m["backbone"]["layers"], m["backbone"]["base_width"]),
        "pred_scales": [lvl["scales"] for lvl in levels],
        "pred_aspect_ratios": [lvl["aspect_ratios"] for lvl in levels],
    })
    cfg.replace(yolact_resnet50_config.copy({
        "num_classes": m["num_classes"],
        "max_size": m["image_size"],
        "backbone": bb,
        "fpn": yolact_resnet50_config.fpn.copy({"num_features": m["fpn"]["num_features"]}),
        "mask_proto_net": [tuple(x) for x in m["proto"]["net"]],
        "extra_head_net": [tuple(x) for x in m["head"]["extra_head_net"]],
        "freeze_bn": False,
    }))
    return cfg


def build_net(cfg):
    from yolact import Yolact
    torch.manual_seed(0)
    net = Yolact()
    net.backbone.init_backbone = lambda path: None  # random init: no pretrained download
    net.init_weights(backbone_path=None)
    net.train()
    return net


def synthetic_inputs(batch, size, objects, num_classes, seed=1):
    """Smooth-noise images and `objects` ellipses per image (boxes = the ellipse's bounds)."""
    g = torch.Generator().manual_seed(seed)
    low = torch.randn(batch, 3, size // 16, size // 16, generator=g)
    images = torch.nn.functional.interpolate(low, size=(size, size), mode="bilinear",
                                             align_corners=False)
    images = images + 0.5 * torch.randn(batch, 3, size, size, generator=g)
    out = {"images": images.contiguous()}
    ys = (torch.arange(size, dtype=torch.float32) + 0.5) / size
    for i in range(batch):
        wh = 0.1 + 0.4 * torch.rand(objects, 2, generator=g)
        c = wh / 2 + (1 - wh) * torch.rand(objects, 2, generator=g)
        boxes = torch.cat([c - wh / 2, c + wh / 2], 1)
        dx = (ys[None, None, :] - c[:, 0, None, None]) / (wh[:, 0, None, None] / 2)
        dy = (ys[None, :, None] - c[:, 1, None, None]) / (wh[:, 1, None, None] / 2)
        out["boxes.%d" % i] = boxes
        out["labels.%d" % i] = torch.randint(0, num_classes - 1, (objects,), generator=g)
        out["masks.%d" % i] = (dx * dx + dy * dy <= 1).float()
    return out


class ProfileToFile:
    """torch.autograd.profiler over a block, its Chrome trace written to `path` at the end."""

    def __init__(self, path):
        self.path = path
        self.prof = torch.autograd.profiler.profile()

    def __enter__(self):
        self.prof.__enter__()

    def __exit__(self, *exc):
        self.prof.__exit__(*exc)
        self.prof.export_chrome_trace(self.path)


def prepare(args):
    import_reference(args.yolact)
    cfg = configure(args.net, args.manifest)
    net = build_net(cfg)
    os.makedirs(args.out, exist_ok=True)
    torch.save({k: v for k, v in net.state_dict().items()}, os.path.join(args.out, "weights.pt"))
    batch, size, objects = NETS[args.net]
    torch.save(synthetic_inputs(batch, size, objects, cfg.num_classes),
               os.path.join(args.out, "inputs.pt"))
    with open(os.path.join(args.out, "net.json"), "w") as f:
        json.dump({"net": args.net, "batch": batch, "image_size": size,
                   "objects_per_image": objects, "num_classes": cfg.num_classes,
                   "freeze_bn": cfg.freeze_bn,
                   "parameters": sum(p.numel() for p in net.parameters())}, f)


def run(args):
    torch.set_num_threads(args.threads)
    import_reference(args.yolact)
    cfg = configure(args.net, args.manifest)
    net = build_net(cfg)
    net.load_state_dict(torch.load(os.path.join(args.data, "weights.pt")))
    inputs = torch.load(os.path.join(args.data, "inputs.pt"))
    images = inputs["images"]
    batch, size = images.size(0), images.size(2)
    times, cpu_times, detections, phases = [], [], [], {}
    # One more iteration under the autograd profiler when asked for (not timed); its Chrome
    # trace has the same format as ours (profile_summary.py).
    total_iters = args.iters + 1 + (1 if args.profile else 0)

    def profiler_for(it):
        if it <= args.iters:
            return contextlib.nullcontext()
        return ProfileToFile(args.profile)
    if args.mode == "train":
        from layers.modules import MultiBoxLoss
        criterion = MultiBoxLoss(num_classes=cfg.num_classes,
                                 pos_threshold=cfg.positive_iou_threshold,
                                 neg_threshold=cfg.negative_iou_threshold,
                                 negpos_ratio=cfg.ohem_negpos_ratio)
        optimizer = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                                    weight_decay=cfg.decay)
        targets = [torch.cat([inputs["boxes.%d" % i], inputs["labels.%d" % i][:, None].float()], 1)
                   for i in range(batch)]
        masks = [inputs["masks.%d" % i] for i in range(batch)]
        num_crowds = [0] * batch
        net.train()
        for it in range(total_iters):
            with profiler_for(it):
                c0 = time.process_time()
                t0 = time.perf_counter()
                optimizer.zero_grad()
                preds = net(images)
                t1 = time.perf_counter()
                losses = criterion(net, preds, targets, masks, num_crowds)
                loss = sum(losses[k] for k in losses)
                t2 = time.perf_counter()
                loss.backward()
                t3 = time.perf_counter()
                optimizer.step()
            if 0 < it <= args.iters:
                times.append(time.perf_counter() - t0)
                cpu_times.append(time.process_time() - c0)
                for name, v in (("forward", t1 - t0), ("loss", t2 - t1), ("backward", t3 - t2),
                                ("optimizer", time.perf_counter() - t3)):
                    phases.setdefault(name, []).append(v)
    else:
        from layers.output_utils import postprocess
        net.eval()
        net.detect.use_fast_nms = True  # eval.py's default
        net.detect.use_cross_class_nms = False
        cfg.mask_proto_debug = False  # eval.py sets it from its --mask_proto_debug flag
        with torch.no_grad():
            for it in range(total_iters):
                with profiler_for(it):
                    c0 = time.process_time()
                    t0 = time.perf_counter()
                    dets = net(images)
                    n = 0
                    for i in range(batch):
                        classes, scores, boxes, masks = postprocess(dets, size, size, batch_idx=i,
                                                                    score_threshold=0)
                        n += int(classes.size(0))
                if 0 < it <= args.iters:
                    times.append(time.perf_counter() - t0)
                    cpu_times.append(time.process_time() - c0)
                    detections.append(n / batch)
    step_s = statistics.median(times)
    out = {"side": "reference", "net": args.net, "mode": args.mode, "batch": batch,
           "image_size": size, "threads": torch.get_num_threads(), "iters": len(times),
           "seconds_per_iter_median": step_s,
           "cpu_seconds_per_iter_median": statistics.median(cpu_times),
           "images_per_s": batch / step_s}
    if detections:
        out["detections_per_image"] = statistics.median(detections)
    if phases:
        out["phase_s"] = {k: statistics.median(v) for k, v in phases.items()}
    print(json.dumps(out), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("command", choices=["prepare", "run"])
    p.add_argument("--yolact", required=True, help="a checkout of github.com/dbolya/yolact")
    p.add_argument("--net", choices=sorted(NETS), required=True)
    p.add_argument("--manifest", default="../shared/yolact-vectors/v1_tiny_s1/manifest.json",
                   help="the tiny net's layout (yolact-vectors manifest)")
    p.add_argument("--out", help="prepare: output folder")
    p.add_argument("--data", help="run: a folder written by prepare")
    p.add_argument("--mode", choices=["train", "infer"], default="train")
    p.add_argument("--iters", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--profile", help="run: write a Chrome trace of one more iteration here")
    args = p.parse_args()
    prepare(args) if args.command == "prepare" else run(args)


if __name__ == "__main__":
    main()
