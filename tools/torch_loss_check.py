#!/usr/bin/env python3
"""torch_loss_check.py - `vkdistill loss` against PyTorch. For each method configuration it draws
random inputs (features, logits, labels and the method's extras), writes them to a safetensors
file, runs `vkdistill loss` on the device and on the CPU reference, and compares every loss term
and every gradient with an independent PyTorch implementation of the method written from
../shared/methods.md (autograd gives the gradients).

    python3 tools/torch_loss_check.py VKDISTILL

Exit 0 when everything agrees within 1e-4 relative to each tensor's scale (the device computes
in fp32, PyTorch here in float64; a KL term's scale is the sum of its terms' magnitudes, see
SCALES), 1 on a mismatch, 77 when PyTorch is missing.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:  # a skip, not a failure: PyTorch is optional
    print(f"skip: {e}")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_check import read_safetensors  # noqa: E402

NP = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        a = np.ascontiguousarray(t.numpy())
        b = a.tobytes()
        header[name] = {"dtype": NP[a.dtype], "shape": list(a.shape),
                        "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


# The scale each loss term is compared at: the term itself, except for KL sums, whose terms
# p (log p - log q) have both signs. When student and teacher are close the sum is far smaller
# than its terms, and any fp32 evaluation is accurate only relative to sum |p (log p - log q)|
# (the sum's condition number; engine/cases/kd.c): that is the KL terms' scale.
SCALES = {}
# The same for gradients that are sums of terms of both signs: a bias feeding a training-mode
# BatchNorm (CORSD's relation head fc1) has the exact gradient 0 (BN removes a per-channel
# constant), yet any fp32 evaluation sums the BN input's gradient over the batch, so it is
# accurate only relative to that sum of magnitudes, sum_b |dh_b| (the largest over channels).
GRAD_SCALES = {}


def kd_terms(zs, zt, y, T, name="kl"):
    n = zs.shape[0]
    lq, lp = F.log_softmax(zs / T, 1), F.log_softmax(zt / T, 1)
    kl = F.kl_div(lq, lp.exp(), reduction="sum") * T * T / n
    SCALES[name] = ((lp.exp() * (lp - lq)).abs().sum() * T * T / n).item()
    return F.cross_entropy(zs, y), kl


def cells(x, gh, gw):
    """(N, C, H, W) -> (N * gh * gw, C, P): the grid's cells, pixels row-major in a cell."""
    n, c, h, w = x.shape
    x = x.reshape(n, c, gh, h // gh, gw, w // gw).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(n * gh * gw, c, (h // gh) * (w // gw))


def ickd_cc(e, ft, paper, gh, gw):
    n, c = ft.shape[:2]
    a, b = cells(e, gh, gw), cells(ft, gh, gw)
    gs, gt = a @ a.transpose(1, 2), b @ b.transpose(1, 2)
    if not paper:
        gs, gt = F.normalize(gs, dim=2), F.normalize(gt, dim=2)
    scale = 1.0 / (gh * gw * c * n * (c if paper else 1))
    return ((gs - gt) ** 2).sum() * scale


def case_kd(g):
    n, k = 7, 10
    inp = {"student.logits": torch.randn(n, k, generator=g) * 3,
           "teacher.logits": torch.randn(n, k, generator=g) * 3,
           "labels": torch.randint(0, k, (n,), generator=g)}

    def loss(x, o):
        ce, kl = kd_terms(x["student.logits"], x["teacher.logits"], x["labels"], 4.0)
        return {"ce": ce, "kl": kl}, 0.1 * ce + 0.9 * kl
    return inp, loss, ["student.logits"]


def case_ickd(g, opts):
    n, cs, ct, hw, k = 5, 6, 9, 4, 10
    o = dict(kv.split("=") for kv in opts.split(",")) if opts else {}
    paper, gh, gw = int(o.get("paper", 0)), int(o.get("grid_h", 1)), int(o.get("grid_w", 1))
    alpha = float(o.get("alpha", 0))
    inp = {"student.stage3": torch.randn(n, cs, hw, hw, generator=g).relu(),
           "teacher.stage3": torch.randn(n, ct, hw, hw, generator=g).relu(),
           "student.logits": torch.randn(n, k, generator=g) * 3,
           "teacher.logits": torch.randn(n, k, generator=g) * 3,
           "labels": torch.randint(0, k, (n,), generator=g),
           "distill.embed.conv.weight": torch.randn(ct, cs, 1, 1, generator=g) * 0.4,
           "distill.embed.bn.weight": 1 + 0.1 * torch.randn(ct, generator=g),
           "distill.embed.bn.bias": 0.1 * torch.randn(ct, generator=g)}

    def loss(x, _):
        e = F.conv2d(x["student.stage3"], x["distill.embed.conv.weight"])
        e = F.batch_norm(e, None, None, x["distill.embed.bn.weight"], x["distill.embed.bn.bias"],
                         training=True, eps=1e-5)
        cc = ickd_cc(e, x["teacher.stage3"], paper, gh, gw)
        ce, kl = kd_terms(x["student.logits"], x["teacher.logits"], x["labels"], 4.0)
        terms = {"ce": ce, "cc": cc}
        total = ce + 2.5 * cc
        if alpha > 0:
            terms["kl"] = kl
            total = total + alpha * kl
        return terms, total
    return inp, loss, ["student.stage3", "student.logits", "distill.embed.conv.weight",
                       "distill.embed.bn.weight", "distill.embed.bn.bias"]


def attn_map(f):
    """LAKD's non-directional map: channel mean of squares, L2-normalised per sample."""
    return F.normalize(f.pow(2).mean(1).flatten(1), dim=1)


def case_lakd(g):
    n, k = 4, 10
    # stage 1: equal widths (no adapter); 2: adapter 6 -> 10; 3: teacher map larger (pooled)
    cs, ct, hs, ht = [4, 6, 8], [4, 10, 8], [8, 4, 2], [8, 4, 4]
    inp = {"student.logits": torch.randn(n, k, generator=g) * 3,
           "teacher.logits": torch.randn(n, k, generator=g) * 3,
           "labels": torch.randint(0, k, (n,), generator=g),
           "distill.adapter2.conv.weight": torch.randn(10, 6, 1, 1, generator=g) * 0.4,
           "distill.adapter2.bn.weight": 1 + 0.1 * torch.randn(10, generator=g),
           "distill.adapter2.bn.bias": 0.1 * torch.randn(10, generator=g)}
    for i in range(3):
        inp[f"student.stage{i + 1}"] = torch.randn(n, cs[i], hs[i], hs[i], generator=g).relu()
        inp[f"teacher.stage{i + 1}"] = torch.randn(n, ct[i], ht[i], ht[i], generator=g).relu()

    def loss(x, _):
        ce = F.cross_entropy(x["student.logits"], x["labels"])
        terms, total = {"ce": ce}, 0.5 * ce
        for i in range(1, 4):
            fs, ft = x[f"student.stage{i}"], x[f"teacher.stage{i}"]
            h = min(fs.shape[2], ft.shape[2])
            fs, ft = F.adaptive_avg_pool2d(fs, h), F.adaptive_avg_pool2d(ft, h)
            e = fs
            if i == 2:
                e = F.conv2d(fs, x["distill.adapter2.conv.weight"])
                e = F.batch_norm(e, None, None, x["distill.adapter2.bn.weight"],
                                 x["distill.adapter2.bn.bias"], training=True, eps=1e-5)
            terms[f"lf{i}"] = ((e - ft) ** 2).mean()
            terms[f"att{i}"] = ((attn_map(fs) - attn_map(ft)) ** 2).mean()
            total = total + 500 * terms[f"att{i}"] + terms[f"lf{i}"]
        return terms, total
    return inp, loss, ["student.logits", "student.stage1", "student.stage2", "student.stage3",
                       "distill.adapter2.conv.weight", "distill.adapter2.bn.weight",
                       "distill.adapter2.bn.bias"]


def self_attention(f):
    """SAKD's uniformization: rowsoftmax(X^T X / sqrt(C)), X = the C x P matrix of a sample."""
    x = f.flatten(2)
    return torch.softmax(x.transpose(1, 2) @ x / f.shape[1] ** 0.5, dim=2)


def case_sakd(g):
    n, k = 5, 7
    inp = {"student.stage3": torch.randn(n, 3, 4, 4, generator=g).relu(),
           "teacher.stage3": torch.randn(n, 6, 8, 8, generator=g).relu(),
           "student.logits": torch.randn(n, k, generator=g) * 3,
           "teacher.logits": torch.randn(n, k, generator=g) * 3,
           "labels": torch.randint(0, k, (n,), generator=g),
           "distill.branch.weight": torch.randn(k, 256, generator=g) * 0.1,
           "distill.branch.bias": torch.randn(k, generator=g) * 0.1}

    def loss(x, _):
        ce, kl = kd_terms(x["student.logits"], x["teacher.logits"], x["labels"], 4.0)
        us = self_attention(x["student.stage3"])
        ut = self_attention(F.adaptive_avg_pool2d(x["teacher.stage3"], 4))
        fu = ((us - ut) ** 2).mean()
        w, b = x["distill.branch.weight"], x["distill.branch.bias"]
        zbt = ut.flatten(1) @ w.t() + b
        zbs = us.flatten(1) @ w.detach().t() + b.detach()
        sem_ce, sem_kl = kd_terms(zbs, zbt.detach(), x["labels"], 4.0, "sem_kl")
        br_ce = F.cross_entropy(zbt, x["labels"])
        terms = {"ce": ce, "kl": kl, "fu": fu, "sem_ce": sem_ce, "sem_kl": sem_kl,
                 "br_ce": br_ce}
        return terms, ce + kl + 100 * fu + sem_ce + sem_kl + br_ce
    return inp, loss, ["student.stage3", "student.logits", "distill.branch.weight",
                       "distill.branch.bias"]


def lkd_local(fs, ft, mh, k):
    """One stage's eqs. (4)-(6) in their one-Gram form: cosine similarities of the masked,
    flattened (H/k) x (W/k) patch blocks of every image, over the batch, plain sum."""
    n, _, h, w = fs.shape

    def q(f):
        f = f * mh
        rows = F.unfold(f, (h // k, w // k), stride=(h // k, w // k))  # (N, C ph pw, k^2)
        v = F.normalize(rows.transpose(1, 2).reshape(n * k * k, -1), dim=1)
        return v @ v.t()
    return ((q(fs) - q(ft)) ** 2).sum()


def case_lkd(g, opts):
    n, kc = 3, 7
    o = dict(kv.split("=") for kv in opts.split(",")) if opts else {}
    k, thr = int(o.get("k", 4)), float(o.get("H", 0.5))
    stages, t2 = int(o.get("stages", 7)), int(o.get("kd_t2", 1))
    # joint=0 (the default): CAAT pre-trained and frozen, so the distillation step has no CAAT
    # term, its BatchNorms use the running statistics and it gets no gradient; joint=1: CAAT
    # trained with the student, BatchNorms on batch statistics, its CE a term
    joint = int(o.get("joint", 0))
    cs, ct, hw = [3, 5, 4], [4, 6, 2], [8, 8, 4]
    inp = {"student.logits": torch.randn(n, kc, generator=g) * 3,
           "teacher.logits": torch.randn(n, kc, generator=g) * 3,
           "labels": torch.randint(0, kc, (n,), generator=g)}
    wrt = ["student.logits"]
    for i in range(3):
        if not (stages >> i) & 1:
            continue
        s, c, half = i + 1, ct[i], max(ct[i] // 2, 1)
        inp[f"student.stage{s}"] = torch.randn(n, cs[i], hw[i], hw[i], generator=g).relu()
        inp[f"teacher.stage{s}"] = torch.randn(n, c, hw[i], hw[i], generator=g).relu()
        p = f"distill.caat{s}."
        inp[p + "conv1.weight"] = torch.randn(c, c, 3, 3, generator=g) * 0.3
        inp[p + "bn1.weight"] = 1 + 0.1 * torch.randn(c, generator=g)
        inp[p + "bn1.bias"] = 0.1 * torch.randn(c, generator=g)
        inp[p + "conv2.weight"] = torch.randn(half, c, 3, 3, generator=g) * 0.3
        inp[p + "bn2.weight"] = 1 + 0.1 * torch.randn(half, generator=g)
        inp[p + "bn2.bias"] = 0.1 * torch.randn(half, generator=g)
        # the mask straddles H: sigmoid of values spread well beyond +-1 around 0
        inp[p + "conv3.weight"] = torch.randn(1, half, 1, 1, generator=g) * 2
        inp[p + "conv3.bias"] = 0.1 * torch.randn(1, generator=g)
        inp[p + "fc.weight"] = torch.randn(kc, c, generator=g) * 0.5
        inp[p + "fc.bias"] = 0.1 * torch.randn(kc, generator=g)
        # running statistics as a pre-training would leave them: near this batch's own (so the
        # frozen mask straddles H as a trained one would), perturbed so they are not equal
        a = inp[f"teacher.stage{s}"]
        for j in (1, 2):
            a = F.conv2d(a, inp[p + f"conv{j}.weight"], padding=1)
            cc = a.shape[1]
            rm = a.mean((0, 2, 3)) + 0.05 * torch.randn(cc, generator=g)
            rv = a.var((0, 2, 3)) * (1 + 0.2 * torch.rand(cc, generator=g))
            inp[p + f"bn{j}.running_mean"], inp[p + f"bn{j}.running_var"] = rm, rv
            a = F.batch_norm(a, rm, rv, inp[p + f"bn{j}.weight"], inp[p + f"bn{j}.bias"],
                             training=False, eps=1e-5).relu()

        def mask():
            a = inp[f"teacher.stage{s}"]
            for j in (1, 2):
                a = F.conv2d(a, inp[p + f"conv{j}.weight"], padding=1)
                stats = (None, None) if joint else (inp[p + f"bn{j}.running_mean"],
                                                    inp[p + f"bn{j}.running_var"])
                a = F.batch_norm(a, *stats, inp[p + f"bn{j}.weight"], inp[p + f"bn{j}.bias"],
                                 training=bool(joint), eps=1e-5).relu()
            return torch.sigmoid(F.conv2d(a, inp[p + "conv3.weight"], inp[p + "conv3.bias"]))
        # data, not tolerance: every M clear of H (fp32 must not flip the threshold) and the
        # mask keeping part of the map (the asserts in loss()); conv3 drawn again until so
        for _ in range(100):
            m = mask()
            kept = (m >= thr).double().mean().item()
            if thr == 0 or ((m - thr).abs().min() > 1e-4 and 0.1 < kept < 0.9):
                break
            inp[p + "conv3.weight"] = torch.randn(1, half, 1, 1, generator=g) * 2
            inp[p + "conv3.bias"] = 0.1 * torch.randn(1, generator=g)
        wrt += [f"student.stage{s}"] + ([p + q for q in (
            "conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight", "bn2.weight", "bn2.bias",
            "conv3.weight", "conv3.bias", "fc.weight", "fc.bias")] if joint else [])

    def bn_relu(x, p, j):
        rm, rv = (None, None) if joint else (p[f"bn{j}.running_mean"], p[f"bn{j}.running_var"])
        x = F.batch_norm(x, rm, rv, p[f"bn{j}.weight"], p[f"bn{j}.bias"], training=bool(joint),
                         eps=1e-5)
        return x.relu()

    def loss(x, _):
        ce, kd = kd_terms(x["student.logits"], x["teacher.logits"], x["labels"], 4.0, "kd")
        terms = {"ce": ce, "kd": kd}
        total = 0.1 * ce + 0.9 * (kd if t2 else kd / 16)
        for i in range(3):
            if not (stages >> i) & 1:
                continue
            s = i + 1
            fs, ft = x[f"student.stage{s}"], x[f"teacher.stage{s}"]
            p = {kk[len(f"distill.caat{s}."):]: v for kk, v in x.items()
                 if kk.startswith(f"distill.caat{s}.")}
            a = bn_relu(F.conv2d(ft, p["conv1.weight"], padding=1), p, 1)
            a = bn_relu(F.conv2d(a, p["conv2.weight"], padding=1), p, 2)
            m = torch.sigmoid(F.conv2d(a, p["conv3.weight"], p["conv3.bias"]))
            if joint:
                aux = (ft * m).mean((2, 3)) @ p["fc.weight"].t() + p["fc.bias"]
                terms[f"caat{s}"] = F.cross_entropy(aux, x["labels"])
                total = total + terms[f"caat{s}"]
            mh = m.detach()
            if thr > 0:
                mh = mh * (mh >= thr)
            r = n * k * k
            terms[f"lkd{s}"] = lkd_local(fs, ft, mh, k) / r ** 2
            kept = (mh > 0).double().mean().item()
            assert thr == 0 or 0.1 < kept < 0.9, f"lkd: stage {s} mask keeps {kept:.2f} of it"
            # fp32 must not flip the threshold: the data keep every M clear of H
            assert thr == 0 or (m - thr).abs().min() > 1e-4, f"lkd: stage {s} M near H"
            total = total + 10 * terms[f"lkd{s}"]
        return terms, total
    return inp, loss, wrt


def case_corsd(g, opts, hw):
    """CORSD (methods.md section 4), written as the official code's modules: one RN per stage on
    the channel concatenation [o_k(a); o_k(x)] of a triplet batch a0 p0 n0 a1 ..., SepConvs down
    to the deepest stage's size, GAP, relation head FC-BN1d-ReLU-FC-sigmoid, aux FC; each RN
    called twice (positive pairs, negative pairs), each call with its own batch statistics."""
    b, kc, ns = 4, 7, len(hw)
    o = dict(kv.split("=") for kv in opts.split(",")) if opts else {}
    code = int(o.get("soft_code", 0))
    T = 3.0
    cs = [2, 3, 4, 3][:ns]
    labels = []
    for _ in range(b):  # a triplet: the positive shares the anchor's class, the negative not
        ya = int(torch.randint(0, kc, (1,), generator=g))
        yn = (ya + 1 + int(torch.randint(0, kc - 1, (1,), generator=g))) % kc
        labels += [ya, ya, yn]
    inp = {"student.logits": torch.randn(3 * b, kc, generator=g) * 3,
           "labels": torch.tensor(labels, dtype=torch.int64)}
    wrt = ["student.logits"]

    def par(name, *shape, sd=0.5, mean=0.0):
        inp[name] = mean + sd * torch.randn(*shape, generator=g)
        wrt.append(name)
    n_sep = []
    for k in range(1, ns + 1):
        inp[f"student.stage{k}"] = torch.randn(3 * b, cs[k - 1], hw[k - 1], hw[k - 1],
                                               generator=g).relu()
        wrt.append(f"student.stage{k}")
        c, h, j = 2 * cs[k - 1], hw[k - 1], 0
        while h > hw[-1]:
            p = f"distill.rn{k}.sep{j}."
            par(p + "dw1.weight", c, 1, 3, 3)
            par(p + "pw1.weight", c, c, 1, 1)
            par(p + "bn1.weight", c, sd=0.1, mean=1.0)
            par(p + "bn1.bias", c, sd=0.1)
            par(p + "dw2.weight", c, 1, 3, 3)
            par(p + "pw2.weight", 2 * c, c, 1, 1)
            par(p + "bn2.weight", 2 * c, sd=0.1, mean=1.0)
            par(p + "bn2.bias", 2 * c, sd=0.1)
            c, h, j = 2 * c, (h + 1) // 2, j + 1
        n_sep.append(j)
        hid = 256 if k == ns else 128
        p = f"distill.rn{k}."
        par(p + "fc1.weight", hid, c, sd=0.3)
        par(p + "fc1.bias", hid, sd=0.1)
        par(p + "bn.weight", hid, sd=0.1, mean=1.0)
        par(p + "bn.bias", hid, sd=0.1)
        par(p + "fc2.weight", 1, hid, sd=0.1)
        par(p + "fc2.bias", 1, sd=0.1)
        par(p + "aux.weight", kc, c, sd=0.3)
        par(p + "aux.bias", kc, sd=0.1)

    def bn(x, w, bias):
        return F.batch_norm(x, None, None, w, bias, training=True, eps=1e-5)

    def rn(x, k, pair):
        p = lambda q: x[f"distill.rn{k}.{q}"]  # noqa: E731
        for j in range(n_sep[k - 1]):
            c = pair.shape[1]
            pair = F.conv2d(pair, p(f"sep{j}.dw1.weight"), stride=2, padding=1, groups=c)
            pair = bn(F.conv2d(pair, p(f"sep{j}.pw1.weight")), p(f"sep{j}.bn1.weight"),
                      p(f"sep{j}.bn1.bias")).relu()
            pair = F.conv2d(pair, p(f"sep{j}.dw2.weight"), padding=1, groups=c)
            pair = bn(F.conv2d(pair, p(f"sep{j}.pw2.weight")), p(f"sep{j}.bn2.weight"),
                      p(f"sep{j}.bn2.bias")).relu()
        e = pair.mean((2, 3))
        pre = F.linear(e, p("fc1.weight"), p("fc1.bias"))
        if pre.requires_grad:
            key = f"distill.rn{k}.fc1.bias"

            def scale(gr):  # both calls (positive, negative pairs) add to the bias's gradient
                GRAD_SCALES[key] = GRAD_SCALES.get(key, 0.0) + gr.abs().sum(0)
            pre.register_hook(scale)
        h = bn(pre, p("bn.weight"), p("bn.bias"))
        r = torch.sigmoid(F.linear(h.relu(), p("fc2.weight"), p("fc2.bias"))).flatten()
        return r, F.linear(e, p("aux.weight"), p("aux.bias"))

    def kl(zs, zt, name):  # KL(softmax(zt / T) || softmax(zs / T)), batchmean, both trained
        lq, lp = F.log_softmax(zs / T, 1), F.log_softmax(zt / T, 1)
        SCALES[name] = ((lp.exp() * (lp - lq)).abs().sum() / zs.shape[0]).item()
        return F.kl_div(lq, lp, reduction="batchmean", log_target=True)

    def loss(x, _):
        y = x["labels"]
        ya, yn = y[0::3], y[2::3]
        s = (F.one_hot(ya, kc) + F.one_hot(yn, kc)).double() / 2
        if code:
            s = F.softmax(s / T, 1)
        terms = {"ce": F.cross_entropy(x["student.logits"], y)}
        total = terms["ce"]
        out = []
        for k in range(1, ns + 1):
            f = x[f"student.stage{k}"]
            rp, ap = rn(x, k, torch.cat([f[0::3], f[1::3]], 1))
            rn_, an = rn(x, k, torch.cat([f[0::3], f[2::3]], 1))
            out.append((rp, rn_, ap, an))
            terms[f"tri{k}"] = (rp - rn_ + 1.0).clamp(min=0).mean()
            terms[f"auxp{k}"] = F.cross_entropy(ap, ya)
            terms[f"auxn{k}"] = -(s * F.log_softmax(an / T, 1)).sum(1).mean()
            total = total + 0.01 * terms[f"tri{k}"] + (0.2 - 0.16) * terms[f"auxp{k}"]
            total = total + (0.05 - 0.04) * terms[f"auxn{k}"]
        rpd, rnd, apd, and_ = out[-1]
        for k in range(1, ns):
            rp, rn_, ap, an = out[k - 1]
            terms[f"klp{k}"] = kl(ap, apd, f"klp{k}")
            terms[f"kln{k}"] = kl(an, and_, f"kln{k}")
            terms[f"rel{k}"] = ((rn_ - rnd) ** 2).mean() + ((rp - rpd) ** 2).mean()
            total = total + 0.16 * terms[f"klp{k}"] + 0.04 * terms[f"kln{k}"]
            total = total + 0.01 * terms[f"rel{k}"]
        return terms, total
    return inp, loss, wrt


def close(a, b, what, tol=1e-4, scale=0.0):
    a, b = a.double().flatten(), b.double().flatten()
    scale = max(scale, b.abs().max().item()) + 1e-12
    err = (a - b).abs().max().item() / scale
    ok = a.shape == b.shape and err <= tol
    print(f"{'ok' if ok else 'FAIL':4} {what:48} rel err {err:.2e}")
    return ok


def main():
    binary = sys.argv[1]
    g = torch.Generator().manual_seed(3)
    cases = [("kd", "", case_kd(g)), ("ickd", "", case_ickd(g, "")),
             ("ickd", "alpha=1", case_ickd(g, "alpha=1")),
             ("ickd", "paper=1,grid_h=2,grid_w=2", case_ickd(g, "paper=1,grid_h=2,grid_w=2")),
             ("lakd", "", case_lakd(g)), ("sakd", "", case_sakd(g)),
             ("lkd", "", case_lkd(g, "")), ("lkd", "joint=1", case_lkd(g, "joint=1")),
             ("lkd", "k=2,H=0,kd_t2=0,stages=5", case_lkd(g, "k=2,H=0,kd_t2=0,stages=5")),
             # ResNet-18's four stages (sizes halving to the deepest), and a 3-stage net whose
             # maps 5, 3, 2 reach the deepest by ceil-halving, with the code's soft targets
             ("corsd", "", case_corsd(g, "", [8, 4, 2, 1])),
             ("corsd", "soft_code=1", case_corsd(g, "soft_code=1", [5, 3, 2]))]
    ok = True
    with tempfile.TemporaryDirectory() as d:
        for method, opts, (inp, loss, wrt) in cases:
            src = os.path.join(d, "in.safetensors")
            write_safetensors(src, {k: v.float() if v.is_floating_point() else v
                                    for k, v in inp.items()})
            x = {k: (v.double().requires_grad_(k in wrt) if v.is_floating_point() else v)
                 for k, v in inp.items()}
            SCALES.clear()
            GRAD_SCALES.clear()
            terms, total = loss(x, opts)
            total.backward()
            for where in ("device", "cpu"):
                out = os.path.join(d, f"{where}.safetensors")
                cmd = [binary, "loss", "--method", method, "--inputs", src, "--out", out]
                cmd += ["--opt", opts] if opts else []
                cmd += ["--cpu"] if where == "cpu" else []
                r = subprocess.run(cmd, capture_output=True, text=True)
                if r.returncode != 0:
                    print(f"FAIL {method} {opts} {where}: {r.stderr.strip()}")
                    ok = False
                    continue
                got, _ = read_safetensors(out)
                tag = f"{method} {opts} {where}:"
                for name, v in terms.items():
                    ok &= close(got[f"loss.{name}"], v.detach(), f"{tag} loss.{name}",
                                scale=SCALES.get(name, 0.0))
                ok &= close(got["loss"], total.detach(), f"{tag} loss")
                for name in wrt:
                    gs = GRAD_SCALES.get(name)
                    ok &= close(got[f"grad.{name}"], x[name].grad, f"{tag} grad.{name}",
                                scale=0.0 if gs is None else gs.max().item())
    print("all agree with PyTorch" if ok else "MISMATCH with PyTorch")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
