#!/usr/bin/env bash
# One prepared, time-boxed GPU run of the stem-retrieval recipe, for a lent accelerator machine
# (written for one H200 with 16 cores and about 15 minutes of machine time in all).
#
#   local/device_run.sh OUT_DIR [--train_minutes 8] [--workers N] [--scratch DIR] [--python PY]
#                               [--embedded_tracks 480] [--train_args "..."] [--run_args "..."]
#
# From recipes/stem_retrieval, with phalar_asteroid installed for PY (make install). Steps:
#   1. renders the embedded corpus (480 tracks of 30 s) with one process per core;
#   2. manifests and the big lists (512 test queries per protocol and corpus half);
#   3. trains the paper's full PHALAR (presets/device: bf16 on the GPU, batch 64, 2-10 s crops,
#      with hard negatives) for a fixed wall-clock budget;
#   4. evaluates it with the onset and chroma baselines on the big lists (paired tests included).
# OUT_DIR receives only what is small enough to bring back: best_model.pth, conf.yml,
# train_summary.json, the CSV learning curves, final_metrics.json, results.md, the plot, the logs
# and timings.json (seconds per step of this script, GPU name, pairs/s).
# Every step resumes (run.sh's stages do), so a rerun after a cut-off continues. --train_args go
# to train.py and --run_args to every run.sh call (a CPU check shrinks the run with them).
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:?usage: local/device_run.sh OUT_DIR [options]}
shift
train_minutes=8
workers=$(nproc)
scratch=${TMPDIR:-/tmp}/phalar_device
python=python
embedded_tracks=480
train_args=""
run_args=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --train_minutes|--workers|--scratch|--python|--embedded_tracks|--train_args|--run_args)
      [[ $# -ge 2 ]] || { echo "$0: $1 needs a value" >&2; exit 2; }
      declare "${1#--}=$2"; shift 2 ;;
    *) echo "$0: unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
[[ $train_minutes =~ ^[0-9]*\.?[0-9]+$ ]] || { echo "$0: --train_minutes must be a number" >&2; exit 2; }
[[ $workers =~ ^[1-9][0-9]*$ ]] || { echo "$0: --workers must be a positive integer" >&2; exit 2; }

mkdir -p "$out" "$scratch"
: > "$out/steps.tsv"
step() {  # step NAME COMMAND...: runs it, logs to OUT/NAME.log, appends its wall seconds
  local name=$1 start=$SECONDS
  shift
  "$@" 2>&1 | tee "$out/$name.log"
  printf '%s\t%s\n' "$name" "$(( SECONDS - start ))" >> "$out/steps.tsv"
}

common=(--preset device --data_dir "$scratch/data" --tag device --python_path "$python"
        --embedded_tracks "$embedded_tracks" --render_workers "$workers" --train_cocola false
        --ablations none)
# shellcheck disable=SC2206
common+=($run_args)
step render ./run.sh --stage 0 --stop_stage 0 "${common[@]}"
step lists ./run.sh --stage 1 --stop_stage 1 "${common[@]}"
step train ./run.sh --stage 2 --stop_stage 2 "${common[@]}" \
  --train_args "--max_minutes $train_minutes --num_workers $(( workers > 2 ? workers - 2 : 1 )) $train_args"
step eval ./run.sh --stage 4 --stop_stage 4 "${common[@]}" --eval_use_gpu 1

exp=exp/train_phalar_device
for f in best_model.pth conf.yml train_summary.json; do cp "$exp/$f" "$out/"; done
cp "$(ls -d $exp/csv_logs/version_* | tail -1)/metrics.csv" "$out/learning_curves.csv"
for f in final_metrics.json results.md accuracy_vs_k.png; do cp "exp/eval_device/$f" "$out/"; done
"$python" - "$out" <<'EOF'
import json, sys

import torch
import yaml

out = sys.argv[1]
summary = json.load(open(f"{out}/train_summary.json"))
conf = yaml.safe_load(open(f"{out}/conf.yml"))
final = json.load(open(f"{out}/final_metrics.json"))
steps = dict(line.split("\t") for line in open(f"{out}/steps.tsv").read().splitlines())
timings = {
    "step_seconds": {name: int(seconds) for name, seconds in steps.items()},
    "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
    "global_step": summary["global_step"],
    # Validations included: pairs trained per second of the training stage's wall clock.
    "train_pairs_per_second": summary["global_step"]
    * conf["data"]["batch_size"]
    / summary["train_seconds"],
    "eval_clips_per_second": 1.0 / final["models"]["phalar_device"]["embed_seconds_per_clip"],
}
with open(f"{out}/timings.json", "w") as fhandle:
    json.dump(timings, fhandle, indent=1)
print(json.dumps(timings, indent=1))
EOF
