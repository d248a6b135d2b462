#!/usr/bin/env bash
# cli_test.sh VKDISTILL - the command line as a user meets it: help, bad flags and values (one
# sentence on stderr, exit 2), an unknown device (exit 1), devices and validate on the real device.
set -u
bin=$1
passed=0 failed=0
check() { # check NAME EXPECTED_RC PATTERN -- command...
    local name=$1 want=$2 pat=$3; shift 4
    local out rc
    out=$("$@" 2>&1); rc=$?
    if [ "$rc" = "$want" ] && grep -qE -- "$pat" <<<"$out"; then
        echo "ok   $name"; passed=$((passed + 1))
    else
        echo "FAIL $name: exit $rc (want $want), output:"; echo "$out" | head -5
        failed=$((failed + 1))
    fi
}
one_line_err() { # bad input: exactly one line on stderr, nothing on stdout
    local name=$1; shift
    local err out rc
    out=$("$@" 2>/tmp/vkd_cli_err.$$); rc=$?
    err=$(cat /tmp/vkd_cli_err.$$); rm -f /tmp/vkd_cli_err.$$
    if [ "$rc" = 2 ] && [ -z "$out" ] && [ "$(wc -l <<<"$err")" = 1 ]; then
        echo "ok   $name: $err"; passed=$((passed + 1))
    else
        echo "FAIL $name: exit $rc, stdout '$out', stderr '$err'"; failed=$((failed + 1))
    fi
}

check "top-level help" 0 "commands:" -- "$bin" --help
check "no command" 2 "usage" -- "$bin"
check "devices --help" 0 "usage: vkdistill devices" -- "$bin" devices --help
check "validate --help" 0 "--device" -- "$bin" validate --help
one_line_err "unknown command" "$bin" frobnicate
one_line_err "unknown flag" "$bin" validate --frobnicate
one_line_err "flag without value" "$bin" validate --device
one_line_err "unknown family" "$bin" validate --family nosuch
one_line_err "stray argument" "$bin" devices extra
one_line_err "bool flag with value" "$bin" validate --all=yes
one_line_err "bench: unknown method" "$bin" bench --method nosuch
one_line_err "bench: method needs a teacher" "$bin" bench --method kd
one_line_err "bench: self-distillation has no teacher" "$bin" bench --method corsd \
    --teacher-model resnet8
one_line_err "bench: bad method option" "$bin" bench --teacher-model resnet8 --opt nosuch=1

if "$bin" devices >/dev/null 2>&1; then
    check "devices lists a device" 0 "^0 " -- "$bin" devices
    check "unknown device" 1 "matches no Vulkan device" -- "$bin" validate --device nosuchgpu
    check "validate eltwise" 0 "passed, 0 failed" -- "$bin" validate --family eltwise
    # bench: the plain step and whole distillation steps through the method interface (tiny)
    tiny=(--batch 6 --input-size 8 --channels 1 --classes 4 --steps 1 --warmup 0)
    check "bench train step" 0 "^resnet8, batch 6, 1x8x8" -- "$bin" bench --model resnet8 "${tiny[@]}"
    check "bench kd step" 0 "^resnet14 -> resnet8, method kd" -- \
        "$bin" bench --teacher-model resnet14 --model resnet8 "${tiny[@]}"
    check "bench ickd step" 0 "^resnet14 -> resnet8, method ickd, batch 6" -- \
        "$bin" bench --teacher-model resnet14 --model resnet8 --method ickd "${tiny[@]}"
    check "bench corsd step" 0 "^resnet8, method corsd" -- \
        "$bin" bench --model resnet8 --method corsd "${tiny[@]}"
    check "bench lakd step with a method option" 0 "method lakd" -- \
        "$bin" bench --teacher-model resnet14 --model resnet8 --method lakd --opt staged=1 "${tiny[@]}"
    # lakd's three modules (stop-gradients between the stages) make three gradient parts, whose
    # forward and backward the step interleaves; kd's student is one part: the plain order
    check "bench lakd step interleaved by module" 0 "interleaved over 3 gradient parts" -- \
        "$bin" bench --teacher-model resnet14 --model resnet8 --method lakd "${tiny[@]}"
    kd_out=$("$bin" bench --teacher-model resnet14 --model resnet8 "${tiny[@]}" 2>&1)
    if grep -q "interleaved" <<<"$kd_out"; then
        echo "FAIL bench kd step: plain order expected, output:"; echo "$kd_out" | tail -3
        failed=$((failed + 1))
    else
        echo "ok   bench kd step keeps the plain order"; passed=$((passed + 1))
    fi
else
    echo "skip device checks: no Vulkan device"
fi
check "no driver: one sentence" 1 "no Vulkan driver could be loaded" -- \
    env VK_ICD_FILENAMES=/nonexistent.json VK_DRIVER_FILES=/nonexistent.json "$bin" devices
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
