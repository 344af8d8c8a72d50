#!/usr/bin/env bash
# The reference PyTorch YOLACT (github.com/dbolya/yolact) and our detector on the same machine, in
# one run, alternating: R50-550 batch 2 with frozen BN and the tiny net (v1_tiny_s1 layout, 128 px,
# batch 8), training step (forward + loss + backward + SGD) and inference (forward + Detect +
# postprocess), same weights (the reference's random init) and same synthetic inputs on both sides.
# Prints a table of medians (images/s) and ratios ours / reference.
#
# Usage (from the repository root, after bench/detector/reference/setup.sh and a build of
# detector_side_bench):
#   bench/detector/reference/side_by_side.sh YOLACT [--rounds N] [--threads N] [--build DIR]
#       [--r50-iters N] [--tiny-iters N] [--jobs "r50:train r50:infer tiny:train tiny:infer"]
#       [--ours BIN] [--profile DIR]
# YOLACT: a checkout of github.com/dbolya/yolact or a bare git directory of it. It is copied to a
# temporary folder, where one line is patched: the import-time torch.cuda.current_device() in
# yolact.py runs only when CUDA is available. Nothing else of the reference is changed.
#
# --ours: another build of detector_side_bench (default BUILD/bin/detector_side_bench). --profile:
# one more iteration of each job under the profiler, Chrome traces and their per-op summaries
# (profile_summary.py) in DIR.
#
# Speeds depend on machine load (other busy processes cut them 3-4x, STACK-NOTES.md): the uptime
# load is printed before and after; the ratios are comparable because the sides alternate. The
# "cpu ratio" column divides process CPU seconds per iteration (reference / ours): on a busy
# machine it tracks the work better than wall time, best with --threads 1 (with more threads it
# includes OpenMP spin-waiting).
set -euo pipefail

usage() { sed -n '2,25p' "$0" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
yolact_src=$1
shift
rounds=3 threads=2 build=build r50_iters=2 tiny_iters=5 ours="" profile=""
jobs="r50:train r50:infer tiny:train tiny:infer"
while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) rounds=$2 ;;
    --threads) threads=$2 ;;
    --build) build=$2 ;;
    --r50-iters) r50_iters=$2 ;;
    --tiny-iters) tiny_iters=$2 ;;
    --jobs) jobs=$2 ;;
    --ours) ours=$2 ;;
    --profile) profile=$2 ;;
    *) echo "side_by_side.sh: unknown flag $1" >&2; usage ;;
  esac
  shift 2
done

here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3  # Debian's python3-torch lives there, not in a pyenv
[[ -n $ours ]] || ours=$build/bin/detector_side_bench
[[ -x $ours ]] || { echo "side_by_side.sh: $ours missing: build the detector_side_bench target" >&2; exit 2; }
$python -c 'import torch, torchvision, cv2' 2>/dev/null ||
  { echo "side_by_side.sh: $python lacks torch/torchvision/cv2: run $here/setup.sh" >&2; exit 2; }

work=$(mktemp -d /tmp/side_by_side.XXXXXX)
trap 'rm -rf "$work"' EXIT
ref=$work/yolact
mkdir -p "$ref"
if [[ -f $yolact_src/yolact.py ]]; then
  cp -r "$yolact_src"/. "$ref"/
elif git --git-dir="$yolact_src" rev-parse HEAD >/dev/null 2>&1; then
  git --git-dir="$yolact_src" archive HEAD | tar -x -C "$ref"
else
  echo "side_by_side.sh: $yolact_src is neither a yolact checkout nor its git directory" >&2
  exit 2
fi
# The one permitted patch: the import-time CUDA call.
sed -i 's/^torch\.cuda\.current_device()$/if torch.cuda.is_available(): torch.cuda.current_device()/' \
  "$ref/yolact.py"
grep -q '^if torch.cuda.is_available(): torch.cuda.current_device()$' "$ref/yolact.py" ||
  { echo "side_by_side.sh: yolact.py has no import-time torch.cuda.current_device() line to patch" >&2; exit 2; }
commit=$(git --git-dir="$yolact_src" rev-parse HEAD 2>/dev/null || git -C "$yolact_src" rev-parse HEAD 2>/dev/null || echo unknown)

echo "reference: github.com/dbolya/yolact $commit, $($python -c 'import torch; print("torch", torch.__version__)')"
echo "load before: $(uptime)"
[[ -z $profile ]] || mkdir -p "$profile"
for net in r50 tiny; do
  $python "$here/ref_bench.py" prepare --yolact "$ref" --net "$net" --out "$work/$net" 2>>"$work/stderr.log"
done

results=$work/results.jsonl
# $4: the round; the first round writes the profiles.
profile_flag() { [[ -n $profile && $2 == 1 ]] && echo "--profile $profile/$1.json"; }
run_ref() { $python "$here/ref_bench.py" run --yolact "$ref" --net "$1" --data "$work/$1" --mode "$2" --iters "$3" --threads "$threads" $(profile_flag "reference-$1-$2" "$4") 2>>"$work/stderr.log"; }
run_ours() { "$ours" --net "$1" --data "$work/$1" --mode "$2" --iters "$3" --threads "$threads" $(profile_flag "ours-$1-$2" "$4") 2>>"$work/stderr.log"; }
for ((r = 1; r <= rounds; ++r)); do
  for job in $jobs; do
    net=${job%%:*} mode=${job#*:}
    if [[ $net == r50 ]]; then iters=$r50_iters; else iters=$tiny_iters; fi
    # Alternate which side goes first so that a drift in load does not favour one side.
    if ((r % 2)); then order="run_ref run_ours"; else order="run_ours run_ref"; fi
    for side in $order; do
      line=$($side "$net" "$mode" "$iters" "$r") || { echo "side_by_side.sh: $side $net $mode failed:" >&2; tail -20 "$work/stderr.log" >&2; exit 1; }
      echo "$line" | sed "s/^{/{\"round\": $r, /" >>"$results"
    done
    echo "round $r $net $mode: $(tail -2 "$results" | $python -c 'import json,sys; print("  ".join("%s %.3f img/s" % (d["side"], d["images_per_s"]) for d in map(json.loads, sys.stdin)))')" >&2
  done
done
echo "load after: $(uptime)"
if [[ -n $profile ]]; then
  for t in "$profile"/*.json; do $python "$here/profile_summary.py" "$t" >"${t%.json}.txt"; done
  echo "profiles: $profile/*.txt"
fi
$python - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("%-5s %-6s %5s %10s %10s %7s %9s %9s %9s" % ("net", "mode", "batch", "ref img/s",
      "ours img/s", "ratio", "per round", "cpu ratio", "dets/img"))
for net in ("r50", "tiny"):
    for mode in ("train", "infer"):
        sel = [d for d in rows if d["net"] == net and d["mode"] == mode]
        if not sel:
            continue
        ref = [d["images_per_s"] for d in sel if d["side"] == "reference"]
        ours = [d["images_per_s"] for d in sel if d["side"] == "ours"]
        per_round = []
        for r in sorted({d["round"] for d in sel}):
            a = [d["images_per_s"] for d in sel if d["round"] == r and d["side"] == "ours"]
            b = [d["images_per_s"] for d in sel if d["round"] == r and d["side"] == "reference"]
            if a and b:
                per_round.append(a[0] / b[0])
        dets = ""
        if mode == "infer":
            dets = "%g / %g" % (statistics.median(d["detections_per_image"] for d in sel if d["side"] == "reference"),
                                statistics.median(d["detections_per_image"] for d in sel if d["side"] == "ours"))
        cpu = [d["cpu_seconds_per_iter_median"] for d in sel if d["side"] == "reference"], \
              [d["cpu_seconds_per_iter_median"] for d in sel if d["side"] == "ours"]
        print("%-5s %-6s %5d %10.3f %10.3f %6.2fx %8.2fx %8.2fx %9s" % (
            net, mode, sel[0]["batch"], statistics.median(ref), statistics.median(ours),
            statistics.median(ours) / statistics.median(ref), statistics.median(per_round),
            statistics.median(cpu[0]) / statistics.median(cpu[1]), dets))
print("medians over %d rounds; ratio = ours / reference images/s; cpu ratio = reference / ours "
      "CPU seconds per iteration; dets/img = reference / ours" %
      len({d["round"] for d in rows}))
PY
echo "raw results (one JSON line per process; phase_s = medians of forward / loss / backward / optimizer):"
cat "$results"
