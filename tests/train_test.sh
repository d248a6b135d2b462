#!/usr/bin/env bash
# train_test.sh VKDISTILL MAKE_IDX - training end to end on a small generated IDX data set:
# the loss falls and accuracy rises; the same seed twice gives bit-identical checkpoints; a run
# stopped after epoch 1 and resumed equals the uninterrupted run bit for bit (checkpoint and
# metrics); streamed batches (--stream) equal resident data bit for bit; eval of the checkpoint
# reproduces the last epoch's test accuracy; KD, LKD (its CAAT pre-training phase, resumed runs
# that skip it, joint training) and CORSD distillation run end to end; bad
# checkpoints and flags are refused with one sentence.
set -u
bin=$1 make_idx=$2
dir=$(mktemp -d /tmp/vkd_train_test.XXXXXX)
trap 'rm -rf "$dir"' EXIT
passed=0 failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }

if ! "$bin" devices >/dev/null 2>&1; then
    echo "skip: no Vulkan device"; exit 77
fi
# 10x10 images: class k's bar on row k (make_idx.c); no crop padding, which would move the bar
# across rows and erase the class (augmentation has its own tests, test_augment.c)
mkdir -p "$dir/data" && "$make_idx" "$dir/data" 320 100 10 || { echo "FAIL make_idx"; exit 1; }
common=(--model resnet8 --data "$dir/data" --epochs 3 --batch 32 --eval-batch 64 --lr 0.1 --pad 0
        --no-progress)

"$bin" train "${common[@]}" --out "$dir/a" >"$dir/a.log" 2>&1 || { cat "$dir/a.log"; bad "train run a"; }
first=$(sed -n 's/.*"train_loss":\([0-9.e+-]*\).*/\1/p' "$dir/a/metrics.jsonl" | head -1)
last=$(sed -n 's/.*"train_loss":\([0-9.e+-]*\).*/\1/p' "$dir/a/metrics.jsonl" | tail -1)
acc=$(sed -n 's/.*"test_top1":\([0-9.e+-]*\).*/\1/p' "$dir/a/metrics.jsonl" | tail -1)
if [ -n "$first" ] && [ -n "$last" ] && awk -v a="$first" -v b="$last" 'BEGIN{exit !(b < a)}'; then
    ok "loss falls over 3 epochs: $first -> $last"
else bad "loss falls over 3 epochs: '$first' -> '$last'"; fi
if awk -v a="$acc" 'BEGIN{exit !(a > 50)}'; then ok "test top-1 after 3 epochs: $acc% (chance 10%)"
else bad "test top-1 after 3 epochs: '$acc'"; fi
[ "$(wc -l <"$dir/a/metrics.jsonl")" = 3 ] && ok "metrics.jsonl has one line per epoch" ||
    bad "metrics.jsonl lines: $(wc -l <"$dir/a/metrics.jsonl")"

"$bin" train "${common[@]}" --out "$dir/b" >"$dir/b.log" 2>&1 || bad "train run b"
cmp -s "$dir/a/last.safetensors" "$dir/b/last.safetensors" &&
    ok "same seed twice: bit-identical checkpoints" || bad "same seed twice differs"

"$bin" train "${common[@]}" --out "$dir/c" --stop-after 1 >"$dir/c.log" 2>&1 || bad "train run c"
grep -q "stopped after epoch 1" "$dir/c.log" && ok "--stop-after 1 stops" || bad "--stop-after"
"$bin" train --resume "$dir/c/last.safetensors" --no-progress >"$dir/c2.log" 2>&1 ||
    { cat "$dir/c2.log"; bad "resume run c"; }
cmp -s "$dir/a/last.safetensors" "$dir/c/last.safetensors" &&
    ok "stopped + resumed = uninterrupted: bit-identical checkpoint" ||
    bad "resumed checkpoint differs from the uninterrupted one"
strip() { sed -E 's/,"epoch_s":[^,]*,"images_per_s":[^,}]*//' "$1"; }
[ "$(strip "$dir/a/metrics.jsonl")" = "$(strip "$dir/c/metrics.jsonl")" ] &&
    ok "stopped + resumed = uninterrupted: identical metrics" || bad "resumed metrics differ"

# streamed batches (host ring) compute exactly what resident data does
"$bin" train "${common[@]}" --stream --out "$dir/s" >"$dir/s.log" 2>&1 ||
    { cat "$dir/s.log"; bad "train --stream"; }
cmp -s "$dir/a/last.safetensors" "$dir/s/last.safetensors" &&
    [ "$(strip "$dir/a/metrics.jsonl")" = "$(strip "$dir/s/metrics.jsonl")" ] &&
    ok "--stream = resident: bit-identical checkpoint and metrics" ||
    bad "--stream differs from resident data"

out=$("$bin" eval --checkpoint "$dir/a/last.safetensors" 2>&1)
top=$(sed -n 's/.*top-1 \([0-9.]*\)%.*/\1/p' <<<"$out")
want=$(printf '%.2f' "$acc")
[ "$top" = "$want" ] && ok "eval of the checkpoint: top-1 $top% = the last epoch's" ||
    bad "eval top-1 '$top' vs metrics '$want': $out"
outs=$("$bin" eval --checkpoint "$dir/a/last.safetensors" --stream --batch 48 2>&1)
[ "$(sed -n 's/.*top-1 \([0-9.]*\)%.*/\1/p' <<<"$outs")" = "$want" ] &&
    ok "eval --stream (batch 48, partial last batch): top-1 $want%" || bad "eval --stream: $outs"
"$bin" eval --checkpoint "$dir/a/best.safetensors" --logits "$dir/logits.safetensors" >/dev/null 2>&1 &&
    [ -s "$dir/logits.safetensors" ] && ok "eval --logits writes a file" || bad "eval --logits"

# distillation: run a's best as the teacher of a fresh resnet8 with KD
"$bin" distill --model resnet8 --teacher-model resnet8 --teacher "$dir/a/best.safetensors" \
    --method kd --data "$dir/data" --epochs 2 --batch 32 --eval-batch 64 --lr 0.1 --no-progress \
    --out "$dir/kd" >"$dir/kd.log" 2>&1 || { cat "$dir/kd.log"; bad "distill kd"; }
grep -q "teacher  resnet8: .*test top-1 $(printf '%.2f' "$acc")% (measured now)" "$dir/kd.log" &&
    ok "distill measures the teacher before training ($acc%)" ||
    bad "teacher accuracy line: $(grep teacher "$dir/kd.log")"
grep -q '"loss_ce":.*"loss_kl":' "$dir/kd/metrics.jsonl" && ok "distill logs ce and kl per epoch" ||
    bad "per-term losses in metrics.jsonl"
kl1=$(sed -n 's/.*"loss_kl":\([0-9.e+-]*\).*/\1/p' "$dir/kd/metrics.jsonl" | head -1)
kl2=$(sed -n 's/.*"loss_kl":\([0-9.e+-]*\).*/\1/p' "$dir/kd/metrics.jsonl" | tail -1)
awk -v a="$kl1" -v b="$kl2" 'BEGIN{exit !(b < a)}' && ok "the KL term falls: $kl1 -> $kl2" ||
    bad "the KL term: '$kl1' -> '$kl2'"

# LKD end to end (k = 1: the 10x10 images' stage maps are 10, 5 and 3 pixels wide, which only
# a 1x1 grid divides). The default schedule: CAAT pre-trained on the frozen teacher (3 epochs
# here), logged as phase "pretrain" with its CE falling, then frozen: no CAAT term while
# distilling, its weights in the checkpoint without momentum (state, not trained); stopped
# after epoch 1 and resumed, the run skips the phase (CAAT comes from the checkpoint) and
# equals the uninterrupted run bit for bit. joint=1: CAAT trained with the student, its CE
# logged as a term and its momentum saved.
lkd=(--model resnet8 --teacher-model resnet8 --teacher "$dir/a/best.safetensors" --method lkd
     --data "$dir/data" --epochs 2 --batch 32 --eval-batch 64 --lr 0.1 --no-progress)
"$bin" distill "${lkd[@]}" --opt k=1,caat_epochs=3 --out "$dir/lkd" >"$dir/lkd.log" 2>&1 ||
    { cat "$dir/lkd.log"; bad "distill lkd"; }
pre_loss() { sed -n 's/.*"phase":"pretrain".*"pretrain_loss":\([0-9.e+-]*\).*/\1/p' "$1"; }
p1=$(pre_loss "$dir/lkd/metrics.jsonl" | head -1) p3=$(pre_loss "$dir/lkd/metrics.jsonl" | tail -1)
[ "$(grep -c '"phase":"pretrain"' "$dir/lkd/metrics.jsonl")" = 3 ] &&
    [ "$(grep -c '^pretrain  ' "$dir/lkd.log")" = 3 ] &&
    grep -q '"loss_caat1":.*"top1_caat1":.*"loss_caat3":.*"top1_caat3":' "$dir/lkd/metrics.jsonl" &&
    awk -v a="$p1" -v b="$p3" 'BEGIN{exit !(b < a)}' &&
    ok "lkd pre-trains CAAT 3 epochs (phase pretrain: CE, top-1 per stage), CE $p1 -> $p3" ||
    bad "lkd pre-training log: $(grep pretrain "$dir/lkd.log")"
grep '"epoch":[12],' "$dir/lkd/metrics.jsonl" |
    grep -q '"loss_ce":.*"loss_kd":.*"loss_lkd1":.*"loss_lkd3":' &&
    ! grep '"epoch":[12],' "$dir/lkd/metrics.jsonl" | grep -q 'caat' &&
    grep -q 'distill.caat3.fc.bias' "$dir/lkd/last.safetensors" &&
    grep -q 'distill.caat1.bn2.running_var' "$dir/lkd/last.safetensors" &&
    ! grep -q 'optimizer.momentum.distill.caat' "$dir/lkd/last.safetensors" &&
    ok "lkd distils with CAAT frozen: ce, kd, lkd<k>, no CAAT term; CAAT saved, no momentum" ||
    bad "lkd frozen CAAT: terms in metrics.jsonl or CAAT in the checkpoint"
"$bin" distill "${lkd[@]}" --opt k=1,caat_epochs=3 --out "$dir/lkd2" --stop-after 1 \
    >"$dir/lkd2.log" 2>&1 &&
    "$bin" distill --resume "$dir/lkd2/last.safetensors" --no-progress >"$dir/lkd2r.log" 2>&1 ||
    { cat "$dir/lkd2.log" "$dir/lkd2r.log"; bad "lkd stop + resume"; }
cmp -s "$dir/lkd/last.safetensors" "$dir/lkd2/last.safetensors" &&
    [ "$(strip "$dir/lkd/metrics.jsonl")" = "$(strip "$dir/lkd2/metrics.jsonl")" ] &&
    ! grep -q '^pretrain' "$dir/lkd2r.log" &&
    ok "lkd stopped + resumed = uninterrupted, no second phase: same checkpoint and metrics" ||
    bad "lkd resumed run differs (or pre-trained again)"
# the phase streams its batches as distillation does: --stream = resident, bit for bit
"$bin" distill "${lkd[@]}" --opt k=1,caat_epochs=3 --stream --out "$dir/lkds" \
    >"$dir/lkds.log" 2>&1 ||
    { cat "$dir/lkds.log"; bad "distill lkd --stream"; }
cmp -s "$dir/lkd/last.safetensors" "$dir/lkds/last.safetensors" &&
    ok "lkd --stream (pre-training and distillation) = resident: bit-identical checkpoint" ||
    bad "lkd --stream differs from resident data"
"$bin" distill "${lkd[@]}" --epochs 1 --opt k=1,joint=1 --out "$dir/lkdj" >"$dir/lkdj.log" 2>&1 ||
    { cat "$dir/lkdj.log"; bad "distill lkd joint=1"; }
grep -q '"loss_ce":.*"loss_kd":.*"loss_caat1":.*"loss_lkd1":.*"loss_caat3":.*"loss_lkd3":' \
    "$dir/lkdj/metrics.jsonl" && ! grep -q pretrain "$dir/lkdj/metrics.jsonl" &&
    grep -q 'optimizer.momentum.distill.caat3.fc.bias' "$dir/lkdj/last.safetensors" &&
    ok "lkd joint=1 trains CAAT with the student: ce, kd, caat<k>, lkd<k>; its momentum saved" ||
    bad "lkd joint=1 terms in metrics.jsonl or CAAT in the checkpoint"

# CORSD end to end: self-distillation (no teacher), triplet batches of 30 images (10 triplets);
# every term logged; the relation networks only in last.safetensors; the best checkpoint is the
# backbone alone and evaluates without them; stopped + resumed = uninterrupted (the triplets
# come from the epoch's RNG); --stream = resident
corsd=(--model resnet8 --method corsd --data "$dir/data" --epochs 2 --batch 30 --eval-batch 64
       --lr 0.05 --pad 0 --no-progress)
"$bin" distill "${corsd[@]}" --out "$dir/corsd" >"$dir/corsd.log" 2>&1 ||
    { cat "$dir/corsd.log"; bad "distill corsd"; }
terms='"loss_ce":.*"loss_tri1":.*"loss_auxp1":.*"loss_auxn1":.*"loss_tri3":.*"loss_klp1":'
terms+='.*"loss_kln1":.*"loss_rel1":.*"loss_rel2":'
grep -q "$terms" "$dir/corsd/metrics.jsonl" &&
    ok "distill corsd without a teacher logs ce, tri, auxp, auxn, klp, kln, rel per stage" ||
    bad "corsd terms in metrics.jsonl"
grep -q 'distill.rn1.sep1.pw2.weight' "$dir/corsd/last.safetensors" &&
    grep -q 'distill.rn3.aux.bias' "$dir/corsd/last.safetensors" &&
    ! grep -q 'distill\.' "$dir/corsd/best.safetensors" &&
    grep -q 'inference=resnet8' "$dir/corsd/best.safetensors" &&
    ok "corsd: relation networks in last only; best is the backbone (metadata inference=resnet8)" ||
    bad "corsd checkpoints: extras or inference metadata"
cacc=$(sed -n 's/.*"test_top1":\([0-9.e+-]*\).*/\1/p' "$dir/corsd/metrics.jsonl" | tail -1)
out=$("$bin" eval --checkpoint "$dir/corsd/best.safetensors" 2>&1) &&
    grep -q "top-1 " <<<"$out" &&
    ok "eval of corsd's best checkpoint (no relation networks): top-1 ${out##*top-1 }" ||
    bad "eval of corsd's best checkpoint: $out"
"$bin" distill "${corsd[@]}" --out "$dir/corsd2" --stop-after 1 >"$dir/corsd2.log" 2>&1 &&
    "$bin" distill --resume "$dir/corsd2/last.safetensors" --no-progress \
        >>"$dir/corsd2.log" 2>&1 ||
    { cat "$dir/corsd2.log"; bad "corsd stop + resume"; }
cmp -s "$dir/corsd/last.safetensors" "$dir/corsd2/last.safetensors" &&
    ok "corsd stopped + resumed = uninterrupted: bit-identical checkpoint (test top-1 $cacc%)" ||
    bad "corsd resumed checkpoint differs"
# streamed batches read the images in the epoch's triplet order, as resident data does
"$bin" distill "${corsd[@]}" --stream --out "$dir/corsd_s" >"$dir/corsd_s.log" 2>&1 ||
    { cat "$dir/corsd_s.log"; bad "corsd --stream"; }
cmp -s "$dir/corsd/last.safetensors" "$dir/corsd_s/last.safetensors" &&
    ok "corsd --stream = resident: bit-identical checkpoint" || bad "corsd --stream differs"

head -c 1000 "$dir/a/last.safetensors" >"$dir/trunc.safetensors"
one_sentence() { # NAME EXPECTED_RC PATTERN -- cmd...
    local name=$1 want=$2 pat=$3; shift 4
    local err rc
    err=$("$@" 2>&1 >/dev/null); rc=$?
    if [ "$rc" = "$want" ] && [ "$(wc -l <<<"$err")" = 1 ] && grep -q -- "$pat" <<<"$err"; then
        ok "$name: $err"
    else bad "$name: exit $rc, '$err'"; fi
}
one_sentence "truncated checkpoint" 1 "trunc.safetensors" -- "$bin" eval --checkpoint "$dir/trunc.safetensors"
one_sentence "missing checkpoint" 1 "nope.safetensors" -- "$bin" eval --checkpoint "$dir/nope.safetensors"
one_sentence "resume with a recipe flag" 2 "--lr cannot be given with --resume" -- \
    "$bin" train --resume "$dir/a/last.safetensors" --lr 0.5
one_sentence "bad milestones" 2 "--milestones" -- "$bin" train "${common[@]}" --milestones 2,1
one_sentence "unknown model" 1 "unknown model 'resnet9'" -- \
    "$bin" train --model resnet9 --data "$dir/data" --out "$dir/x" --no-progress
one_sentence "teacher of another architecture" 1 "is a checkpoint of resnet8, not resnet14" -- \
    "$bin" distill --model resnet8 --teacher-model resnet14 --teacher "$dir/a/best.safetensors" \
    --data "$dir/data" --out "$dir/x" --no-progress
one_sentence "kd without a teacher" 2 "needs --teacher-model and --teacher" -- \
    "$bin" distill --model resnet8 --data "$dir/data" --out "$dir/x"
one_sentence "lkd grid that does not divide the maps" 1 "cannot be cut into a 4x4 grid" -- \
    "$bin" distill --model resnet8 --teacher-model resnet8 --teacher "$dir/a/best.safetensors" \
    --method lkd --data "$dir/data" --out "$dir/x" --no-progress
one_sentence "lkd joint neither 0 nor 1" 1 "joint is 0 (pre-train CAAT, then freeze it) or 1" -- \
    "$bin" distill "${lkd[@]}" --opt k=1,joint=2 --out "$dir/x"
one_sentence "lkd negative caat_epochs" 1 "caat_epochs (CAAT's pre-training epochs) must be" -- \
    "$bin" distill "${lkd[@]}" --opt k=1,caat_epochs=-1 --out "$dir/x"
one_sentence "corsd batch not a multiple of 3" 1 "--batch 32 must be a multiple of 3" -- \
    "$bin" distill --model resnet8 --method corsd --data "$dir/data" --batch 32 --out "$dir/x" \
    --no-progress
one_sentence "missing data" 1 "no such directory" -- "$bin" train --data "$dir/none" --out "$dir/x"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
