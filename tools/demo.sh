#!/usr/bin/env bash
# The main job: installs missing packages (as root), builds, lists the Vulkan devices, validates
# every op pass of the chosen device against the CPU reference, then runs a short distillation
# on Fashion-MNIST: a resnet20 teacher, and a resnet8 student trained alone (before) and
# distilled from the teacher with KD and with ICKD (after), and prints the table.
#
# Arguments go to every vkdistill command (e.g. `tools/demo.sh --device 1`). The size of the
# distillation comes from the environment (defaults finish in a few minutes on 2 CPU cores with
# lavapipe; a real GPU can afford far more): DEMO_TRAIN images (2000), DEMO_TEST (1000),
# DEMO_EPOCHS (3) for the students, DEMO_TEACHER_EPOCHS (4). Runs go to runs/demo; finished
# ones are kept and reused (delete runs/demo to start over).
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/deps.sh
vkd_ensure_packages
vkd_build build Release
./build/vkdistill devices
./build/vkdistill validate "$@"

echo
echo "== distillation on Fashion-MNIST: first ${DEMO_TRAIN:-2000} training images," \
     "${DEMO_TEST:-1000} test images =="
VERBOSE=1 VKD=build/vkdistill OUT=runs/demo SEEDS=1 PAIRS=resnet20:resnet8 \
    METHODS="vanilla kd ickd_kl" EPOCHS=${DEMO_EPOCHS:-3} \
    TEACHER_EPOCHS=${DEMO_TEACHER_EPOCHS:-4} LIMIT_TRAIN=${DEMO_TRAIN:-2000} \
    LIMIT_TEST=${DEMO_TEST:-1000} EXTRA="$*" bash tools/results.sh
echo
echo "vanilla is the student trained alone (before); kd and ickd_kl are the same student"
echo "distilled from the teacher (after). Full-length commands: README.md, docs/RESULTS.md."
