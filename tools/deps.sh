#!/usr/bin/env bash
# Sourced by tools/test.sh and tools/demo.sh: makes sure the Debian packages vkdistill builds and
# runs with are installed. As root it installs what is missing; otherwise it prints the exact
# apt-get line and stops, so nothing half-configured is left behind.
#
# Packages and why:
#   cmake gcc make pkg-config   build
#   libvulkan-dev               Vulkan headers and loader
#   glslc                       GLSL -> SPIR-V at build time (shaderc)
#   spirv-tools                 spirv-val on every compiled shader
#   mesa-vulkan-drivers         lavapipe: a conformant Vulkan driver on the CPU (tests, CI)
#   vulkan-validationlayers     the Khronos validation layer the tests run under
#   vulkan-tools                vulkaninfo, for diagnosing a machine
#   libstb-dev                  stb_image for image-folder data sets
#   zlib1g-dev                  gzip-compressed IDX files
#   dataset-fashion-mnist       the real data set every machine can have

VKD_PACKAGES=(cmake gcc make pkg-config libvulkan-dev glslc spirv-tools mesa-vulkan-drivers
              vulkan-validationlayers vulkan-tools libstb-dev zlib1g-dev dataset-fashion-mnist)

vkd_missing_packages() {
    local p missing=()
    for p in "${VKD_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$p")
    done
    echo "${missing[@]:-}"
}

vkd_ensure_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        echo "vkdistill: not a Debian system; install the equivalents of: ${VKD_PACKAGES[*]}" >&2
        return 0
    fi
    local missing
    missing=$(vkd_missing_packages)
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "vkdistill: missing packages; run this as root, then try again:" >&2
        echo "  apt-get update && apt-get install -y $missing" >&2
        exit 1
    fi
    echo "vkdistill: installing $missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
        { echo "vkdistill: apt-get install $missing failed" >&2; exit 1; }
}

# Configure and build into $1 (default build/) with the given CMake build type.
vkd_build() {
    local dir=${1:-build} type=${2:-Release}
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DVKD_WERROR="${VKD_WERROR:-OFF}" >/dev/null &&
        cmake --build "$dir" -j "$(nproc)"
}
