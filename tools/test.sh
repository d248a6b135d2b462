#!/usr/bin/env bash
# The whole test suite: installs missing packages (as root), builds with -Werror, runs CTest.
# GPU tests run on whatever Vulkan device is found (lavapipe on a machine without a GPU) with
# the Khronos validation layer on; any validation message fails the test that caused it.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/deps.sh
vkd_ensure_packages
VKD_WERROR=ON vkd_build build-test RelWithDebInfo
export VKD_VALIDATION=1
# Tests pick lavapipe if it is the only device; VKD_TEST_DEVICE overrides.
ctest --test-dir build-test --output-on-failure -j "$(nproc)" "$@"
