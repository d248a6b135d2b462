#!/usr/bin/env python3
"""torch_check.py - checks that a vkdistill checkpoint is a PyTorch state_dict that means the
same network in PyTorch: it builds the CIFAR ResNet of the checkpoint in PyTorch (our own
definition, with RepDistiller's module names and topology), loads the checkpoint with
load_state_dict(strict=True) after dropping the optimizer state, runs the test images through
it in eval mode, and compares its logits with those `vkdistill eval --logits` wrote.

    python3 tools/torch_check.py CKPT LOGITS DATA_DIR

Needs PyTorch (Debian: python3-torch) and NumPy; reads safetensors files itself (8-byte length,
JSON header, raw data) so the safetensors package is not needed. Exit 0 when the logits agree
within 1e-3 relative to their scale and top-1 decisions match; 77 when PyTorch is missing.
"""
import gzip
import json
import struct
import sys

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # a skip, not a failure: PyTorch is optional
    print(f"skip: {e}")
    sys.exit(77)

DTYPES = {"F32": np.float32, "I64": np.int64, "F64": np.float64, "I32": np.int32,
          "U8": np.uint8}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, t in header.items():
        b, e = t["data_offsets"]
        arr = np.frombuffer(raw[base + b:base + e], dtype=DTYPES[t["dtype"]]).reshape(t["shape"])
        tensors[name] = torch.from_numpy(arr.copy())
    return tensors, meta


class BasicBlock(nn.Module):
    """Post-activation block: conv3x3-bn-relu-conv3x3-bn + shortcut, relu."""

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or cin != planes:
            self.downsample = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        res = x if self.downsample is None else self.downsample(x)
        return F.relu(out + res)


class CifarResNet(nn.Module):
    def __init__(self, depth, widths, in_c, classes):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_c, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        cin = widths[0]
        for s in range(3):
            blocks = []
            for i in range(n):
                stride = 2 if (i == 0 and s > 0) else 1
                blocks.append(BasicBlock(cin, widths[s + 1], stride))
                cin = widths[s + 1]
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


RESNETS = {f"resnet{d}": (d, [16, 16, 32, 64]) for d in (8, 14, 20, 32, 44, 56, 110)}
RESNETS.update({"resnet8x4": (8, [32, 64, 128, 256]), "resnet32x4": (32, [32, 64, 128, 256])})


def read_idx_images(path):
    with gzip.open(path) if path.endswith(".gz") else open(path, "rb") as f:
        raw = f.read()
    _, n, h, w = struct.unpack(">IIII", raw[:16])
    return np.frombuffer(raw[16:], dtype=np.uint8).reshape(n, 1, h, w)


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    ckpt, logits_path, data = sys.argv[1:]
    state, meta = read_safetensors(ckpt)
    arch = meta["arch"]
    if arch not in RESNETS:
        print(f"skip: {arch} has no PyTorch definition in this tool yet")
        return 77
    depth, widths = RESNETS[arch]
    model = CifarResNet(depth, widths, int(meta["in_channels"]), int(meta["classes"]))
    state = {k: v for k, v in state.items() if not k.startswith("optimizer.")}
    model.load_state_dict(state, strict=True)  # every key, every shape, nothing extra
    model.eval()

    ours, _ = read_safetensors(logits_path)
    want = ours["logits"].double()
    import os
    stem = "t10k-images-idx3-ubyte"
    path = os.path.join(data, stem + ".gz")
    if not os.path.exists(path):
        path = os.path.join(data, stem)
    images = read_idx_images(path)[:want.shape[0]]
    mean = torch.tensor([float(v) for v in meta["normalise_mean"].split(",")])[:1]
    std = torch.tensor([float(v) for v in meta["normalise_std"].split(",")])[:1]
    x = (torch.from_numpy(images.astype(np.float32)) / 255.0 - mean.view(1, -1, 1, 1)) \
        / std.view(1, -1, 1, 1)
    with torch.no_grad():
        got = torch.cat([model(x[i:i + 256]) for i in range(0, x.shape[0], 256)]).double()
    scale = want.abs().max().item()
    err = (got - want).abs().max().item()
    same = (got.argmax(1) == want.argmax(1)).double().mean().item()
    print(f"{arch}: {want.shape[0]} images, max |torch - vkdistill| logit {err:.3e} "
          f"(logits up to {scale:.2f}), top-1 decisions agree on {100 * same:.2f}%")
    ok = err <= 1e-3 * max(scale, 1.0) and same == 1.0
    print("ok" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
