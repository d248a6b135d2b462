#!/usr/bin/env bash
# results_table.sh OUT - a Markdown table of the runs under OUT (tools/results.sh's layout:
# OUT/teachers/<model>/ and OUT/<teacher>-<student>/<method>/seed<k>/), from each run's
# summary.json: mean and sample standard deviation over seeds of the best and the last test
# top-1, mean training images/s, device memory.
set -euo pipefail
out=${1:?usage: results_table.sh OUT}

# field FILE NAME: a number from a one-line JSON object
field() { sed -n "s/.*\"$2\":\([-0-9.e+]*\).*/\1/p" "$1"; }

echo "| run | seeds | best top-1 (%) | last top-1 (%) | images/s | device MiB |"
echo "| --- | --- | --- | --- | --- | --- |"
for t in "$out"/teachers/*/; do
    f=$t/summary.json
    [ -s "$f" ] || continue
    printf '| teacher %s | 1 | %.2f | %.2f | %.0f | %.0f |\n' "$(basename "$t")" \
        "$(field "$f" best_top1)" "$(field "$f" last_top1)" "$(field "$f" images_per_s)" \
        "$(field "$f" device_memory_mib)"
done
# methods in this order (vanilla first: the baseline), then any others
order="vanilla kd ickd ickd_kl lkd lakd sakd corsd"
groups=()
for pairdir in "$out"/*-*/; do
    [ -d "$pairdir" ] || continue
    for m in $order; do [ -d "$pairdir$m" ] && groups+=("$pairdir$m/"); done
    for g in "$pairdir"*/; do
        case " $order " in *" $(basename "$g") "*) ;; *) groups+=("$g") ;; esac
    done
done
for group in ${groups[@]+"${groups[@]}"}; do
    rows=""
    for f in "$group"seed*/summary.json; do
        [ -s "$f" ] || continue
        rows+="$(field "$f" best_top1) $(field "$f" last_top1) $(field "$f" images_per_s) $(field "$f" device_memory_mib)"$'\n'
    done
    [ -n "$rows" ] || continue
    pair=$(basename "$(dirname "$group")") method=$(basename "$group")
    awk -v name="$pair $method" '
        NF == 4 { n++; b[n] = $1; l[n] = $2; ips += $3; mem += $4 }
        function mean(a,   s, i) { s = 0; for (i = 1; i <= n; i++) s += a[i]; return s / n }
        function sd(a, m,   s, i) { if (n < 2) return 0; s = 0
            for (i = 1; i <= n; i++) s += (a[i] - m) ^ 2; return sqrt(s / (n - 1)) }
        END { mb = mean(b); ml = mean(l)
            printf "| %s | %d | %.2f ± %.2f | %.2f ± %.2f | %.0f | %.0f |\n",
                   name, n, mb, sd(b, mb), ml, sd(l, ml), ips / n, mem / n }' <<<"$rows"
done
