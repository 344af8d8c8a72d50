#!/usr/bin/env bash
# One call on a GPU machine (bench/gpu/README.md): builds the detector (ABLATE_DETECTOR_ONLY)
# against the machine's CUDA PyTorch with the carried .gpu/ bundle, runs the detector's unit tests
# and reference vectors, detector_bench on CUDA, then trains the tiny preset in several
# configurations at once on the generated shapes set (recipe search in CPU-equivalent steps).
# Everything lands in $OUT: log.txt (all output), tests.txt, bench.json, experiments.jsonl.
#
# Usage (from the repo root): bench/gpu/device_check.sh [DEADLINE_S]   (default 520 s: the
# experiments' time limit is set so the whole script ends by then)
set -uo pipefail
deadline_s=${1:-520}
OUT=${OUT:-/tmp/ablate-gpu-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log.txt") 2>&1
t0=$(date +%s)
stamp() { echo "[$(($(date +%s) - t0))s] $*"; }
W=/tmp/ablate-gpu
mkdir -p "$W/sysroot"
tar -C "$W/sysroot" -xJf .gpu/sysroot.tar.xz || exit 1
S=$W/sysroot/usr
export LD_LIBRARY_PATH=$S/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if [[ ! -e ../shared/yolact-vectors ]]; then mkdir -p ../shared && cp -r .gpu/yolact-vectors ../shared/; fi
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cxx11abi", torch._C._GLIBCXX_USE_CXX11_ABI, torch.cuda.get_device_name(0))'
TORCH_DIR=$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')
echo "cores $(nproc)"; g++ --version | head -1; cmake --version | head -1; nvcc --version | tail -1

stamp configure
common=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DABLATE_DETECTOR_ONLY=ON)
if ! cmake -S . -B "$W/build" "${common[@]}" -DCMAKE_PREFIX_PATH="$S;$TORCH_DIR/share/cmake" \
  >"$W/configure.log" 2>&1; then
  grep -A8 "CMake Error" "$W/configure.log" | head -40
  stamp "find_package(Torch) failed; linking the wheel directly (ABLATE_TORCH_ROOT)"
  rm -rf "$W/build"
  cmake -S . -B "$W/build" "${common[@]}" -DCMAKE_PREFIX_PATH="$S" -DABLATE_TORCH_ROOT="$TORCH_DIR" \
    >"$W/configure.log" 2>&1 || { tail -40 "$W/configure.log"; exit 1; }
fi
stamp build
if ! ninja -C "$W/build" -k 0 ablate-train detector_bench detector_test detector_config_test \
  >"$W/build.log" 2>&1; then
  grep -B2 -A12 -E "error:|FAILED" "$W/build.log" | head -150
  exit 1
fi
B=$W/build/bin

stamp tests
"$B/detector_config_test" >"$OUT/tests.txt" 2>&1
"$B/detector_test" >>"$OUT/tests.txt" 2>&1
grep -E "^\[  (PASSED|FAILED) |FAILED  \]" "$OUT/tests.txt"

stamp shapes
"$B/ablate-train" shapes --out "$W/shapes" --seed 11 >/dev/null || exit 1

stamp bench
"$B/detector_bench" --reps 3 --tiny-steps 300 --r50-steps 20 --r50-batch 8 >"$OUT/bench.json"
cat "$OUT/bench.json"
rate=$(python3 -c "import json; print(json.load(open('$OUT/bench.json'))['tiny']['train_images_per_s_median'] / 8)")
stamp "tiny: $rate steps/s on one process"

# Recipe search: each line "name steps KEY=VALUE ...". Steps are CPU-equivalent: the tiny preset
# takes ~175 ms a step on 2 CPU cores, so ~3000 steps fit the 10-minute acceptance budget.
# Session 3's searches (docs/detector.md) chose the current preset; these probe around it.
experiments=(
  "base_3k 3000"
  "base_6k 6000"
  "width40_3k 3000 backbone_width=40"
  "proto24_3k 3000 num_prototypes=24"
  "anchor3.5_3k 3000 anchor_scale=3.5"
  "layers2111_3k 3000 backbone_layers=2,1,1,1"
  "fpn48_3k 3000 fpn_features=48"
  "ciou_3k 3000 box_loss=ciou"
)
left_s=$((deadline_s - ($(date +%s) - t0) - 30))
stamp "experiments: ${#experiments[@]} at once, $left_s s"
pids=()
for e in "${experiments[@]}"; do
  read -r name steps sets <<<"$e"
  args=()
  for kv in $sets; do args+=(--set "$kv"); done
  "$B/ablate-train" --threads 1 run --train "$W/shapes/train.json" --val "$W/shapes/val.json" \
    --preset tiny --steps "$steps" "${args[@]}" --set checkpoint_every=0 \
    --max-minutes "$(python3 -c "print($left_s / 60)")" --out "$W/exp_$name" --json \
    >"$W/exp_$name.json" 2>"$W/exp_$name.log" &
  pids+=($!)
done
wait "${pids[@]}"
for e in "${experiments[@]}"; do
  read -r name steps sets <<<"$e"
  python3 - "$W/exp_$name.json" "$name" "$steps" "$sets" <<'PY' | tee -a "$OUT/experiments.jsonl"
import json, sys
path, name, steps, sets = sys.argv[1:]
try:
    r = json.load(open(path))
except Exception as e:
    r = {"error": str(e)}
b = r.get("bbox", {}).get("stats", {}); m = r.get("segm", {}).get("stats", {})
print(json.dumps({"name": name, "steps": int(steps), "sets": sets, "box_ap": b.get("AP"),
                  "box_ap50": b.get("AP50"), "box_ap75": b.get("AP75"), "mask_ap": m.get("AP"),
                  "steps_done": r.get("step"), "status": r.get("status"),
                  "images_per_s": r.get("images_per_s"), "error": r.get("error")}))
PY
  tail -3 "$W/exp_$name.log"
done
stamp done
