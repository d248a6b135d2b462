#!/usr/bin/env bash
# The main job: installs missing packages (as root), builds, lists the Vulkan devices and
# validates every op pass of the chosen device against the CPU reference.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/deps.sh
vkd_ensure_packages
vkd_build build Release
./build/vkdistill devices
./build/vkdistill validate "$@"
