#!/usr/bin/env python3
"""speed_table.py - vkdistill's distillation step against PyTorch's, side by side, one table.

For each configuration (teacher -> student pair, method, batch) it times one whole KD training
step of `vkdistill bench --teacher-model T --model S --method M` (the recorded command buffer,
synthetic GPU-resident data) and the same step in PyTorch with the anchor script's own code (../shared/anchors/
torch_kd_step.py, imported: eager and, on CUDA, replayed from a CUDA graph), then
prints a markdown table with the medians and the ratios. Both run in the same invocation, back to
back, so the ratios are measured under the same conditions. The inputs are the anchor's: 32x32x3
images, 100 classes.

Usage (environment): VKD=build/vkdistill ANCHOR=path/to/torch_kd_step.py STEPS=20
  CONFIGS="r56-r20:kd:64 r56-r20:kd:128 ..." MODES=eager,graph  python3 tools/speed_table.py
Without a torch module (or ANCHOR=none) only vkdistill's columns are filled. On a machine
without CUDA the anchor runs on the CPU (eager only, 5 timed steps).
"""
import importlib.util
import os
import re
import subprocess
import sys

PAIRS = {'r56-r20': ('resnet56', 'resnet20'), 'r32x4-r8x4': ('resnet32x4', 'resnet8x4')}


def vkd_step(vkd, pair, method, batch, steps, extra):
    teacher, student = PAIRS[pair]
    cmd = [vkd, 'bench', '--teacher-model', teacher, '--model', student, '--method', method,
           '--batch', str(batch), '--steps', str(steps), '--warmup', '3', '--input-size', '32',
           '--channels', '3', '--classes', '100'] + extra
    out = subprocess.run(cmd, capture_output=True, text=True)
    m = re.search(r'median ([0-9.]+) ms.*?([0-9.]+) MiB device memory', out.stdout)
    if out.returncode != 0 or not m:
        sys.stderr.write('speed_table: %s failed (exit %d): %s\n'
                         % (' '.join(cmd), out.returncode, (out.stderr or out.stdout).strip()))
        return None, None, out.stdout
    return float(m.group(1)), float(m.group(2)), out.stdout.splitlines()[0]


def torch_steps(anchor, modes, configs):
    """{(pair, method, batch, mode, tf32): ms} for our configurations, from the anchor's own
    run() (imported, so only these configurations run; its settings: TF32 on and off on CUDA,
    compile modes with TF32 only, CUDA-graph modes on CUDA only, 50 timed steps on CUDA and 5 on
    a CPU), and a header naming torch and the device."""
    if anchor == 'none' or not os.path.exists(anchor):
        return {}, 'no PyTorch anchor (%s)' % anchor
    try:
        spec = importlib.util.spec_from_file_location('torch_kd_step', anchor)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    except ImportError as e:
        return {}, 'no PyTorch (%s)' % e
    torch, cuda = mod.torch, mod.dev == 'cuda'
    head = 'torch %s on %s' % (torch.__version__,
                               torch.cuda.get_device_name() if cuda else 'cpu (%d threads)'
                               % torch.get_num_threads())
    res = {}
    for tf32 in ([True, False] if cuda else [False]):
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cuda.matmul.allow_tf32 = tf32
        for mode in modes.split(','):
            if (mode.startswith('compile') and not tf32) or ('graph' in mode and not cuda):
                continue
            for pair, method, batch in configs:
                try:
                    dt = mod.run(pair, method, batch, mode, steps=50 if cuda else 5)
                    res[(pair, method, batch, mode, tf32)] = dt * 1e3
                except Exception as e:  # one failed mode (e.g. compile) must not lose the rest
                    sys.stderr.write('speed_table: torch %s %s %d %s: %r\n'
                                     % (pair, method, batch, mode, e))
    return res, head


def main():
    vkd = os.environ.get('VKD', 'build/vkdistill')
    anchor = os.environ.get('ANCHOR', os.path.join(os.path.dirname(__file__), '..', '..',
                                                   'shared', 'anchors', 'torch_kd_step.py'))
    steps = int(os.environ.get('STEPS', '20'))
    modes = os.environ.get('MODES', 'eager,graph')
    configs = os.environ.get('CONFIGS', 'r56-r20:kd:64 r56-r20:kd:128 r56-r20:ickd:128 '
                                        'r32x4-r8x4:kd:64 r32x4-r8x4:kd:128 r32x4-r8x4:ickd:128')
    extra = os.environ.get('VKD_FLAGS', '').split()
    rows = []
    for c in configs.split():
        pair, method, batch = c.split(':')
        if pair not in PAIRS:
            sys.exit('speed_table: CONFIGS entry %s: pair must be one of %s' % (c, ', '.join(PAIRS)))
        ms, mib, head = vkd_step(vkd, pair, method, int(batch), steps, extra)
        rows.append((pair, method, int(batch), ms, mib))
        print('vkdistill: %s' % head, flush=True)
    ref, thead = torch_steps(anchor, modes, [(p, m, b) for p, m, b, _, _ in rows])
    print('PyTorch: %s' % thead, flush=True)

    mode_cols = [(m, t) for m in modes.split(',') for t in (True, False)
                 if any(k[3] == m and k[4] == t for k in ref)]
    print()
    hdr = ['pair', 'method', 'batch', 'vkdistill ms (img/s)', 'vkd MiB']
    hdr += ['torch %s%s ms' % (m, ' TF32' if t else '') for m, t in mode_cols]
    hdr += ['torch %s%s / vkd' % (m, ' TF32' if t else '') for m, t in mode_cols]
    print('| ' + ' | '.join(hdr) + ' |')
    print('|' + ' --- |' * len(hdr))
    for pair, method, batch, ms, mib in rows:
        cells = [pair, method, str(batch),
                 '%.2f (%.0f)' % (ms, batch / ms * 1e3) if ms else 'failed',
                 '%.0f' % mib if mib else '-']
        tms = [ref.get((pair, method, batch, m, t)) for m, t in mode_cols]
        cells += ['%.2f' % v if v else '-' for v in tms]
        cells += ['%.2f' % (v / ms) if v and ms else '-' for v in tms]
        print('| ' + ' | '.join(cells) + ' |')
    print('\n(ratio > 1: vkdistill is faster; medians of %d vkdistill steps; the anchor\'s own '
          'step counts)' % steps)


if __name__ == '__main__':
    main()
