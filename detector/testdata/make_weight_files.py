#!/usr/bin/python3
"""Writes the weight-file fixtures of detector/weights_file_test.cc with Debian's python3-torch
(1.13) and python3-torchvision. Run from the repository root: /usr/bin/python3
detector/testdata/make_weight_files.py. Every expected value the test checks (key order, shapes,
dtypes, sums, first/last elements) comes from PyTorch here, into weight_files.json.

Files (all tiny, < 200 KB together):
  resnet_w2_zip.pth     torchvision-layout ResNet (BasicBlock [1,1,1,1], stem width 2, fc 10)
                        state dict (an OrderedDict with _metadata), zip format (torch >= 1.6)
  resnet_w2_legacy.pth  the same tensors, legacy format (_use_new_zipfile_serialization=False)
  yolact_81_legacy.pth  a YOLACT++-layout state dict with 81 classes (conf head, semantic-seg
                        head and mask-IoU head sized for 81) for a width-2 Basic backbone,
                        FPN 4, 2 prototypes, 3 priors per location, legacy format
"""
import collections
import json
import os

import torch
import torch.nn as nn
import torchvision

OUT = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(12)


class BasicBlock(nn.Module):  # torchvision.models.resnet.BasicBlock's layout
    expansion = 1

    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes))


def make_layer(inplanes, planes, blocks, stride):
    layers = [BasicBlock(inplanes, planes, stride)]
    layers += [BasicBlock(planes, planes, 1) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


class TorchvisionResNet(nn.Module):  # torchvision.models.resnet.ResNet's names, any width
    def __init__(self, width, layers, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.layer1 = make_layer(width, width, layers[0], 1)
        self.layer2 = make_layer(width, width * 2, layers[1], 2)
        self.layer3 = make_layer(width * 2, width * 4, layers[2], 2)
        self.layer4 = make_layer(width * 4, width * 8, layers[3], 2)
        self.fc = nn.Linear(width * 8, num_classes)


class ReferenceBackbone(nn.Module):  # dbolya/yolact backbone.ResNetBackbone's names
    def __init__(self, width, layers):
        super().__init__()
        self.layers = nn.ModuleList()
        inplanes = width
        for i, n in enumerate(layers):
            planes = width * 2 ** i
            self.layers.append(make_layer(inplanes, planes, n, 1 if i == 0 else 2))
            inplanes = planes
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)


class Fpn(nn.Module):
    def __init__(self, in_channels, features):
        super().__init__()
        self.lat_layers = nn.ModuleList([nn.Conv2d(c, features, 1) for c in reversed(in_channels)])
        self.pred_layers = nn.ModuleList(
            [nn.Conv2d(features, features, 3, padding=1) for _ in in_channels])
        self.downsample_layers = nn.ModuleList(
            [nn.Conv2d(features, features, 3, padding=1, stride=2) for _ in range(2)])


class PredictionModule(nn.Module):
    def __init__(self, features, priors, classes, prototypes):
        super().__init__()
        self.upfeature = nn.Sequential(nn.Conv2d(features, features, 3, padding=1), nn.ReLU())
        self.bbox_layer = nn.Conv2d(features, priors * 4, 3, padding=1)
        self.conf_layer = nn.Conv2d(features, priors * classes, 3, padding=1)
        self.mask_layer = nn.Conv2d(features, priors * prototypes, 3, padding=1)


class MaskIou(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.maskiou_net = nn.Sequential(nn.Conv2d(1, 2, 3, stride=2), nn.ReLU(),
                                         nn.Conv2d(2, 4, 3, stride=2), nn.ReLU(),
                                         nn.Conv2d(4, classes - 1, 1), nn.ReLU())


class Yolact(nn.Module):  # dbolya/yolact yolact.Yolact's names (registration order too)
    def __init__(self, classes, width=2, fpn=4, prototypes=2, priors=3):
        super().__init__()
        self.backbone = ReferenceBackbone(width, [1, 1, 1, 1])
        self.proto_net = nn.Sequential(
            nn.Conv2d(fpn, fpn, 3, padding=1), nn.ReLU(), nn.Conv2d(fpn, fpn, 3, padding=1),
            nn.ReLU(), nn.Conv2d(fpn, fpn, 3, padding=1), nn.ReLU(), nn.Identity(), nn.ReLU(),
            nn.Conv2d(fpn, fpn, 3, padding=1), nn.ReLU(), nn.Conv2d(fpn, prototypes, 1))
        self.maskiou_net = MaskIou(classes)
        self.fpn = Fpn([width * 2, width * 4, width * 8], fpn)
        self.prediction_layers = nn.ModuleList([PredictionModule(fpn, priors, classes, prototypes)])
        self.semantic_seg_conv = nn.Conv2d(fpn, classes - 1, 1)


def randomise(model):
    # Distinct, non-default values everywhere (BN statistics and counters included).
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.dtype == torch.int64:
                t.fill_(7 + len(name) % 5)
            elif name.endswith("running_var"):
                t.copy_(torch.rand_like(t) + 0.5)
            else:
                t.copy_(torch.randn_like(t))
    return model


def describe(state_dict):
    out = []
    for name, t in state_dict.items():
        flat = t.reshape(-1)
        out.append({"name": name, "shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""),
                    "sum": flat.double().sum().item(), "first": flat[0].item(), "last": flat[-1].item()})
    return out


def save(state_dict, name, legacy):
    path = os.path.join(OUT, name)
    torch.save(state_dict, path, _use_new_zipfile_serialization=not legacy)
    back = torch.load(path)
    assert list(back.keys()) == list(state_dict.keys())
    return os.path.getsize(path)


def main():
    # The clone's names are torchvision's: compare with the real resnet18 at [2,2,2,2].
    ours = TorchvisionResNet(64, [2, 2, 2, 2], 1000).state_dict()
    real = torchvision.models.resnet18().state_dict()
    assert list(ours.keys()) == list(real.keys()), "TorchvisionResNet drifted from torchvision"
    assert all(ours[k].shape == real[k].shape for k in ours)

    # "tensors": per state dict, in file order: name, shape, dtype, float64 sum, first and last
    # element. Both ResNet files hold the same state dict.
    manifest = {"generator": "detector/testdata/make_weight_files.py",
                "torch": torch.__version__, "bytes": {}, "tensors": {}}
    resnet = randomise(TorchvisionResNet(2, [1, 1, 1, 1])).state_dict()
    assert isinstance(resnet, collections.OrderedDict) and hasattr(resnet, "_metadata")
    manifest["tensors"]["resnet_w2"] = describe(resnet)
    for name, legacy in (("resnet_w2_zip.pth", False), ("resnet_w2_legacy.pth", True)):
        manifest["bytes"][name] = save(resnet, name, legacy)
    yolact = randomise(Yolact(81)).state_dict()
    manifest["tensors"]["yolact_81"] = describe(yolact)
    manifest["bytes"]["yolact_81_legacy.pth"] = save(yolact, "yolact_81_legacy.pth", True)
    with open(os.path.join(OUT, "weight_files.json"), "w") as f:
        f.write(json.dumps(manifest, separators=(",", ":")).replace('},{"name"', '},\n{"name"'))
        f.write("\n")
    print(manifest["bytes"])


if __name__ == "__main__":
    main()
