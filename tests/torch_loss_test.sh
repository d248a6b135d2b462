#!/usr/bin/env bash
# torch_loss_test.sh VKDISTILL - every method's `vkdistill loss` terms and gradients, on the
# device and on the CPU reference, against an independent PyTorch implementation
# (tools/torch_loss_check.py). Skipped (77) where PyTorch is not installed (python3-torch).
set -u
bin=$1
py=""
for p in /usr/bin/python3 "$(command -v python3)"; do
    if [ -x "$p" ] && "$p" -c "import torch, numpy" 2>/dev/null; then py=$p; break; fi
done
[ -n "$py" ] || { echo "skip: no python3 with torch and numpy (Debian: python3-torch)"; exit 77; }
"$bin" devices >/dev/null 2>&1 || { echo "skip: no Vulkan device"; exit 77; }
exec "$py" "$(dirname "$0")/../tools/torch_loss_check.py" "$bin"
