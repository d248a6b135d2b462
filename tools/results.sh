#!/usr/bin/env bash
# results.sh - the docs/RESULTS.md experiment: teachers trained with the recipe, then every
# student method for every teacher -> student pair and seed, then a table of mean and standard
# deviation of best and last test top-1, images/s and device memory (tools/results_table.sh).
#
# Runs that finished (summary.json present) are skipped, so an interrupted sweep continues
# where it stopped. Settings come from the environment:
#   VKD            the binary (build/vkdistill)
#   OUT            output root (runs/results)
#   DATA           data directory (default: Fashion-MNIST from dataset-fashion-mnist)
#   EPOCHS         student epochs (30)          TEACHER_EPOCHS  teacher epochs (EPOCHS)
#   LIMIT_TRAIN    first N training images (all) LIMIT_TEST      first N test images (all)
#   SEEDS          student seeds ("1 2 3")
#   PAIRS          "teacher:student ..." ("resnet56:resnet20 wrn_40_2:wrn_16_2")
#   METHODS        "vanilla kd ickd ickd_kl" (ickd: without the KL term, ickd_kl: with it;
#                  also lkd, lakd, sakd, and corsd: self-distillation of the student alone, no
#                  teacher; compare it with the pair's vanilla row)
#   LKD_K          lkd's patch grid (4; it must divide every stage map: 7 for 28x28 images)
#   CORSD_BATCH    corsd's --batch in images, a multiple of 3 (192: 64 triplets, so a step takes
#                  as many anchors as vanilla's batch 64 and an epoch as many steps)
#   EXTRA          more flags for every run (e.g. "--device 0 --batch 64")
#   VERBOSE        1: show each run's output as it runs (else only in its log.txt)
# Example (a quick look on a 2-core machine):
#   EPOCHS=2 LIMIT_TRAIN=2000 LIMIT_TEST=1000 SEEDS=1 PAIRS=resnet20:resnet8 tools/results.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VKD=${VKD:-build/vkdistill}
OUT=${OUT:-runs/results}
EPOCHS=${EPOCHS:-30}
TEACHER_EPOCHS=${TEACHER_EPOCHS:-$EPOCHS}
SEEDS=${SEEDS:-"1 2 3"}
PAIRS=${PAIRS:-"resnet56:resnet20 wrn_40_2:wrn_16_2"}
METHODS=${METHODS:-"vanilla kd ickd ickd_kl"}
read -r -a extra <<<"${EXTRA:-}"
common=(--no-progress)
[ -n "${DATA:-}" ] && common+=(--data "$DATA")
[ -n "${LIMIT_TRAIN:-}" ] && common+=(--limit-train "$LIMIT_TRAIN")
[ -n "${LIMIT_TEST:-}" ] && common+=(--limit-test "$LIMIT_TEST")
common+=(${extra[@]+"${extra[@]}"})

[ -x "$VKD" ] || { echo "results.sh: $VKD not found; build first (tools/demo.sh or tools/test.sh)" >&2; exit 1; }
mkdir -p "$OUT"

# run DIR ARGS...: one training run unless DIR already has its summary.json; the log is kept.
run() {
    local dir=$1
    shift
    if [ -s "$dir/summary.json" ]; then
        echo "have $dir"
        return
    fi
    echo "run  $dir"
    mkdir -p "$dir"
    # (tee to our stdout, never `> /dev/stdout`: that reopens and truncates a redirected log)
    local rc=0
    if [ "${VERBOSE:-0}" = 1 ]; then
        "$VKD" "$@" --out "$dir" 2>&1 | tee "$dir/log.txt" || rc=1
    else
        "$VKD" "$@" --out "$dir" >"$dir/log.txt" 2>&1 || rc=1
    fi
    [ $rc = 0 ] || {
        echo "results.sh: the run in $dir failed; its log:" >&2
        tail -5 "$dir/log.txt" >&2
        exit 1
    }
}

for pair in $PAIRS; do
    t=${pair%%:*}
    run "$OUT/teachers/$t" train --model "$t" --epochs "$TEACHER_EPOCHS" --seed 1 "${common[@]}"
done

# seeds outermost: a sweep cut short still has every method for the seeds it finished
for seed in $SEEDS; do
    for pair in $PAIRS; do
        t=${pair%%:*} s=${pair##*:}
        teacher=(--teacher-model "$t" --teacher "$OUT/teachers/$t/best.safetensors")
        for m in $METHODS; do
            dir="$OUT/$t-$s/$m/seed$seed"
            base=(--model "$s" --epochs "$EPOCHS" --seed "$seed" "${common[@]}")
            case $m in
            vanilla) run "$dir" train "${base[@]}" ;;
            kd) run "$dir" distill "${teacher[@]}" --method kd "${base[@]}" ;;
            ickd) run "$dir" distill "${teacher[@]}" --method ickd --alpha 0 "${base[@]}" ;;
            ickd_kl) run "$dir" distill "${teacher[@]}" --method ickd --alpha 1 "${base[@]}" ;;
            lakd) run "$dir" distill "${teacher[@]}" --method lakd "${base[@]}" ;;
            sakd) run "$dir" distill "${teacher[@]}" --method sakd "${base[@]}" ;;
            lkd) run "$dir" distill "${teacher[@]}" --method lkd --opt "k=${LKD_K:-4}" "${base[@]}" ;;
            corsd) run "$dir" distill --method corsd "${base[@]}" --batch "${CORSD_BATCH:-192}" ;;
            *) echo "results.sh: unknown method '$m' in METHODS" >&2; exit 2 ;;
            esac
        done
    done
done

bash tools/results_table.sh "$OUT"
