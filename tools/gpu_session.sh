#!/usr/bin/env bash
# gpu_session.sh PART - what a session with a lent GPU machine measures, one device call per PART.
# Nothing is built there: the device machine has no glslc and no Vulkan loader. Prepare here
# (tools/gpu_session.sh prepare), then call the device tool's `run` from the repository root with
#   carry: ["build/vkdistill", ".gl", ".data"]
#   command: bash tools/gpu_session.sh speed        (devices, validate, speed table; under 10 min)
#            PART=... EPOCHS=... bash tools/gpu_session.sh train   (a results.sh sweep)
# and read what comes back under files_at. Every part prints a short table last.
#
# Parts:
#   prepare  (here) downloads libvulkan1 into .gl/ (the device README's recipe), copies
#            Fashion-MNIST and the PyTorch anchor script into .data/ (all ignored by git).
#   speed    `vkdistill devices`, `validate --all`, tools/speed_table.py (vkdistill's KD step vs
#            PyTorch's eager and CUDA-graph step, same machine, same run).
#   train    tools/results.sh on all of Fashion-MNIST (env: EPOCHS, TEACHER_EPOCHS, SEEDS, PAIRS,
#            METHODS as results.sh; BUDGET_S stops starting new runs after that many seconds);
#            teachers' checkpoints come back in $OUT/teachers.tar so the next call can carry
#            them (put them under .data/results/teachers and pass RESUME=1).
set -uo pipefail
cd "$(dirname "$0")/.."
part=${1:-speed}
OUT=${OUT:-runs/gpu}
mkdir -p "$OUT"

if [ "$part" = prepare ]; then
    set -e
    mkdir -p .gl .data/fashion-mnist /tmp/amd64/partial
    o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
    apt-get "${o[@]}" update >/dev/null
    (cd .gl && apt-get "${o[@]}" download libvulkan1 >/dev/null)
    cp /usr/share/datasets/fashion-mnist/*.gz .data/fashion-mnist/
    cp ../shared/anchors/torch_kd_step.py .data/
    du -sh build/vkdistill .gl .data
    exit 0
fi

# on the device machine: the Vulkan loader from .gl (NVIDIA's ICD is there already)
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
VKD=build/vkdistill
nv=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json # where the device README found it
if ! "$VKD" devices >/dev/null 2>&1 && [ -f "$nv" ]; then
    export VK_DRIVER_FILES=$nv
fi
case "$part" in
speed)
    "$VKD" devices | tee "$OUT/devices.txt"
    timeout 150 "$VKD" validate --all >"$OUT/validate.txt" 2>&1
    echo "validate --all: exit $? ($(grep -c PASS "$OUT/validate.txt") PASS," \
        "$(grep -c FAIL "$OUT/validate.txt") FAIL)" | tee "$OUT/validate_summary.txt"
    grep FAIL "$OUT/validate.txt" | head -20
    VKD=$VKD ANCHOR=.data/torch_kd_step.py STEPS=${STEPS:-50} PYTHONUNBUFFERED=1 \
        timeout 380 python3 tools/speed_table.py | tee "$OUT/speed.md"
    ;;
train)
    root=.data/results
    [ "${RESUME:-0}" = 1 ] || root=runs/gpu_results
    start=$(date +%s)
    budget=${BUDGET_S:-500}
    # results.sh skips finished runs, so one seed/method at a time lets the budget stop cleanly
    for seed in ${SEEDS:-1}; do
        for m in ${METHODS:-vanilla kd ickd ickd_kl}; do
            [ $(($(date +%s) - start)) -lt "$budget" ] || { echo "budget reached"; break 2; }
            VKD=$VKD OUT=$root DATA=.data/fashion-mnist SEEDS=$seed METHODS=$m \
                PAIRS=${PAIRS:-resnet56:resnet20} EPOCHS=${EPOCHS:-30} \
                TEACHER_EPOCHS=${TEACHER_EPOCHS:-${EPOCHS:-30}} bash tools/results.sh \
                >>"$OUT/train.log" 2>&1 || echo "results.sh $seed $m: exit $?"
        done
    done
    tar -cf "$OUT/teachers.tar" -C "$root" teachers 2>/dev/null
    tar -czf "$OUT/runs.tar.gz" -C "$root" --exclude='*.safetensors' . 2>/dev/null
    bash tools/results_table.sh "$root" | tee "$OUT/results.md"
    ;;
*)
    echo "gpu_session.sh: part must be prepare, speed or train, not '$part'" >&2
    exit 2
    ;;
esac
