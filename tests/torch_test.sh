#!/usr/bin/env bash
# torch_test.sh VKDISTILL MAKE_IDX - PyTorch compatibility of checkpoints: a checkpoint loads
# into a PyTorch CIFAR ResNet with load_state_dict(strict=True) and gives the logits vkdistill
# gives (tools/torch_check.py). Skipped (77) where PyTorch is not installed (python3-torch).
set -u
bin=$1 make_idx=$2
py=$(command -v python3)
for p in /usr/bin/python3 "$py"; do
    if [ -x "$p" ] && "$p" -c "import torch, numpy" 2>/dev/null; then py=$p; break; fi
    py=""
done
[ -n "$py" ] || { echo "skip: no python3 with torch and numpy (Debian: python3-torch)"; exit 77; }
"$bin" devices >/dev/null 2>&1 || { echo "skip: no Vulkan device"; exit 77; }
dir=$(mktemp -d /tmp/vkd_torch_test.XXXXXX)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/data" && "$make_idx" "$dir/data" 256 200 12 || exit 1
"$bin" train --model resnet8 --data "$dir/data" --epochs 1 --batch 32 --out "$dir/run" \
    --no-progress >/dev/null || { echo "FAIL: training"; exit 1; }
"$bin" eval --checkpoint "$dir/run/last.safetensors" --logits "$dir/logits.safetensors" >/dev/null ||
    { echo "FAIL: eval"; exit 1; }
"$py" "$(dirname "$0")/../tools/torch_check.py" "$dir/run/last.safetensors" \
    "$dir/logits.safetensors" "$dir/data"
