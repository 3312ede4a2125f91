#!/usr/bin/env bash
# PHALAR stem retrieval: data -> manifests and fixed lists -> train PHALAR (+ ablations) ->
# train COCOLA with the same wall-clock budget -> evaluate everything on the same lists.
set -e  # Exit on error
set -o pipefail

# Storage. The embedded corpus is rendered into $data_dir/embedded; real datasets are read from
# their common data roots (the folder holding slakh/, moisesdb/ or cocochorales/).
moisesdb_root=         # data root holding moisesdb/ (--dataset moisesdb or mixed)
slakh_root=            # data root holding slakh/ (--dataset slakh or mixed)
cocochorales_root=     # data root holding cocochorales/ (--dataset cocochorales or mixed)
data_dir=data          # manifests, lists and the embedded corpus go here
# Python with phalar_asteroid installed (make install); the Makefile puts .venv/bin first in PATH.
python_path=python     # Python with phalar_asteroid installed

# Example usage
# ./run.sh --stage 0 --preset quick                # CPU demo on the embedded corpus (make demo)
# ./run.sh --stage 2 --preset paper --dataset mixed --slakh_root /data --moisesdb_root /data \
#          --cocochorales_root /data --id 0,1       # reference recipe on two GPUs

# General
stage=0       # First stage to run (0-4)
stop_stage=4  # Last stage to run (stage-4)
tag=""        # Experiment tag; default "<preset>_<dataset>" so that re-runs resume it
id=$CUDA_VISIBLE_DEVICES  # GPUs to use (CUDA_VISIBLE_DEVICES); empty keeps the environment's
preset=paper  # paper | quick | harmony | device (overlays local/presets/<preset>.yml)

# Data
dataset=embedded       # embedded | moisesdb | slakh | cocochorales | mixed
embedded_tracks=""     # tracks of the embedded corpus (default: preset)
embedded_seconds=""    # crop of each embedded track in seconds, >= 1 (default: preset)
embedded_flavour=all   # chorale (CocoChorales layout) | band (Slakh layout) | all
render_workers=2       # parallel rendering processes
strict=true            # stage 1: fail on a bad track; false skips it with a warning
n_queries=""           # test queries per seed of the fixed lists (default: preset)
same_track_seeds=""    # seeds of the same-track lists (default: preset; paper: 0,1,2)
same_track_ks=""       # K of the same-track lists (default: preset; paper: 8,16,64)
same_track_queries=""  # queries per seed of the same-track lists (default: preset; paper: 1024)
seeds=""               # seeds of the test lists (default: preset; paper: 0,1,2)
val_queries=""         # fixed validation pairs (default: preset)
protocols=other-track,same-track  # test protocols: other-track, same-track, same-track-offgrid

# Training
devices=auto           # devices per node: auto, a count, or indices (0,1)
num_nodes=1            # nodes of a multi-node (DDP) run
ablations=preset       # "preset", "none", or space-separated local/models/phalar_<name>.yml names:
                       # avg magnitude mel realhead hermitian cosine psd adamw
same_track=""          # true: also train PHALAR with same-track negatives (default: preset)
train_cocola=true      # stage 3: train COCOLA with PHALAR's wall-clock budget
train_args=""          # extra train.py options for every model, e.g. "--max_steps 10"

# Evaluation
eval_use_gpu=1         # 1: evaluate on the GPU when there is one; 0: on the CPU

help_message="Usage: ./run.sh [--name value ...]
PHALAR stem retrieval. Stages: 0 data, 1 manifests and fixed lists, 2 train PHALAR (and
ablations), 3 train COCOLA, 4 evaluate (README.md)."

. utils/parse_options.sh

# Every option is checked here, before any work: a bad value stops the run with one line.
check_no_args "$@"
check_choice preset paper quick harmony device
case $preset in
  quick) : "${embedded_tracks:=48}" "${embedded_seconds:=30}" "${seeds:=0}" "${n_queries:=32}" \
           "${val_queries:=32}" "${same_track:=false}" "${same_track_seeds:=0}" \
           "${same_track_ks:=8}" "${same_track_queries:=16}"
         [[ $ablations == preset ]] && ablations=avg ;;
  # CPU training with hard negatives on 480 tracks; test lists of 512 queries per protocol.
  harmony) : "${embedded_tracks:=480}" "${embedded_seconds:=30}" "${seeds:=0}" "${n_queries:=512}" \
             "${val_queries:=128}" "${same_track:=false}" "${same_track_seeds:=0}" \
             "${same_track_ks:=8}" "${same_track_queries:=512}"
           [[ $ablations == preset ]] && ablations="" ;;
  # The prepared GPU run (local/device_run.sh): harmony's corpus and lists, the paper's model.
  device) : "${embedded_tracks:=480}" "${embedded_seconds:=30}" "${seeds:=0}" "${n_queries:=512}" \
            "${val_queries:=128}" "${same_track:=false}" "${same_track_seeds:=0}" \
            "${same_track_ks:=8}" "${same_track_queries:=512}"
          [[ $ablations == preset ]] && ablations="" ;;
  paper) : "${embedded_tracks:=200}" "${embedded_seconds:=120}" "${seeds:=0,1,2}" \
           "${n_queries:=1024}" "${val_queries:=256}" "${same_track:=false}" \
           "${same_track_seeds:=0,1,2}" "${same_track_ks:=8,16,64}" "${same_track_queries:=1024}"
         [[ $ablations == preset ]] && ablations="" ;;
esac
[[ $ablations == none ]] && ablations=""
[[ -f local/presets/$preset.yml ]] || option_error "--preset: missing local/presets/$preset.yml"
check_int stage 0 4
check_int stop_stage "$stage" 4
check_match tag '^[A-Za-z0-9._+-]*$' "letters, digits and . _ + - only"
check_match id '^[A-Za-z0-9,:/_-]*$' "comma-separated device indices or UUIDs"
check_match data_dir '.' "a folder"
check_command python_path
check_choice dataset embedded moisesdb slakh cocochorales mixed
check_int embedded_tracks 1
check_number embedded_seconds 1
check_choice embedded_flavour chorale band all
check_int render_workers 1
check_bool strict
check_int n_queries 1
check_ints seeds 0
check_ints same_track_seeds 0
check_ints same_track_ks 2
check_int same_track_queries 1
check_int val_queries 1
check_list protocols other-track same-track same-track-offgrid
check_match devices '^(auto|[1-9][0-9]*|[0-9]+(,[0-9]+)+)$' "auto, a device count or indices (0,1)"
check_int num_nodes 1
for ablation in $ablations; do
  [[ -f local/models/phalar_$ablation.yml ]] \
    || option_error "--ablations: no local/models/phalar_$ablation.yml for '$ablation'"
done
check_bool same_track
check_bool train_cocola
check_choice eval_use_gpu 0 1

# Dataset names of the loaders, the roots they are read from, and the options that give them.
case $dataset in
  embedded) case $embedded_flavour in
              chorale) datasets=cocochorales ;;
              band) datasets=slakh16k ;;
              all) datasets=cocochorales,slakh16k ;;
            esac
            roots=$(echo $datasets | sed "s#\([a-z0-9]*\)#\1=$data_dir/embedded#g")
            root_options="" ;;
  moisesdb) datasets=moisesdb; roots="moisesdb=$moisesdb_root"; root_options=moisesdb_root ;;
  slakh) datasets=slakh16k; roots="slakh16k=$slakh_root"; root_options=slakh_root ;;
  cocochorales) datasets=cocochorales; roots="cocochorales=$cocochorales_root"
                root_options=cocochorales_root ;;
  mixed) datasets=moisesdb,slakh16k,cocochorales
         roots="moisesdb=$moisesdb_root,slakh16k=$slakh_root,cocochorales=$cocochorales_root"
         root_options="moisesdb_root slakh_root cocochorales_root" ;;
esac

# check_data STAGE: the data a stage reads exists: the real data roots, or (stage 1 on) the
# embedded corpus that stage 0 renders.
check_data() {
  local option
  for option in $root_options; do
    [[ -d ${!option} ]] \
      || option_error "--$option: no data root at '${!option}' (--dataset $dataset reads it)"
  done
  if [[ $dataset == embedded && $1 -ge 1 && ! -d $data_dir/embedded ]]; then
    option_error "--data_dir: no embedded corpus in $data_dir/embedded (stage 0 renders it)"
  fi
  return 0
}

if [[ -n $id ]]; then export CUDA_VISIBLE_DEVICES=$id; fi
mkdir -p logs

if [[ $stage -le 0 && $stop_stage -ge 0 ]]; then
  check_data 0
  echo "Stage 0: data ($dataset)"
  if [[ $dataset == embedded ]]; then
    # Resumable: finished tracks are kept, a half-written one is redone.
    $python_path -m phalar_asteroid.data.render --out $data_dir/embedded \
      --n-tracks $embedded_tracks --max-seconds $embedded_seconds --seed 0 \
      --flavour $embedded_flavour --workers $render_workers | tee logs/render_embedded.log
  else
    echo "Real data: nothing to render (local/download_slakh.sh fetches Slakh via mirdata)."
  fi
fi

if [[ $stage -le 1 && $stop_stage -ge 1 ]]; then
  check_data 1
  echo "Stage 1: manifests, splits and fixed retrieval lists"
  $python_path local/prepare_data.py --roots "$roots" --out_dir $data_dir \
    --protocols $protocols --n_queries $n_queries --val_queries $val_queries \
    --seeds $seeds --same_track_seeds $same_track_seeds --same_track_ks $same_track_ks \
    --same_track_queries $same_track_queries --strict $strict
fi

# Experiment naming: a stable tag, so that an interrupted run resumes its experiments.
uuid=$($python_path -c "import uuid; print(str(uuid.uuid4())[:8])")
if [[ -z ${tag} ]]; then
  tag=${preset}_${dataset}
fi

# summary NAME KEY: a value of exp/train_NAME_TAG/train_summary.json.
summary() {
  $python_path -c "import json; print(json.load(open('exp/train_$1_${tag}/train_summary.json'))['$2'])"
}

# train_model NAME OVERLAYS [train.py options...]: trains exp/train_NAME_TAG unless finished.
train_model() {
  local name=$1 overlays=$2
  shift 2
  local expdir=exp/train_${name}_${tag}
  if [[ -f $expdir/best_model.pth ]]; then
    echo "$expdir is finished (best_model.pth), skipped"
    return
  fi
  mkdir -p $expdir && echo $uuid >> $expdir/run_uuid.txt
  # shellcheck disable=SC2086
  $python_path train.py --exp_dir $expdir --overlays "$overlays" --data_dir $data_dir \
    --datasets $datasets --devices $devices --num_nodes $num_nodes "$@" $train_args \
    | tee logs/train_${name}_${tag}.log
  cp logs/train_${name}_${tag}.log $expdir/train.log
  mkdir -p $expdir/publish_dir
  echo "stem_retrieval/${name}" > $expdir/publish_dir/recipe_name.txt
}

if [[ $stage -le 2 && $stop_stage -ge 2 ]]; then
  echo "Stage 2: train PHALAR (and ablations: ${ablations:-none})"
  train_model phalar presets/$preset
  # Ablations and variants train for exactly as many steps as PHALAR did.
  steps=$(summary phalar global_step)
  for ablation in $ablations; do
    train_model phalar-$ablation models/phalar_$ablation,presets/$preset \
      --max_steps $steps --max_minutes 0
  done
  if [[ $same_track == true ]]; then
    train_model phalar-stn presets/$preset,presets/same_track --max_steps $steps --max_minutes 0
  fi
fi

if [[ $stage -le 3 && $stop_stage -ge 3 && $train_cocola == true ]]; then
  echo "Stage 3: train COCOLA with PHALAR's wall-clock budget"
  budget=$($python_path -c "print($(summary phalar train_seconds) / 60)")
  overlays=models/cocola,presets/$preset
  [[ -f local/presets/${preset}_cocola.yml ]] && overlays=$overlays,presets/${preset}_cocola
  train_model cocola $overlays --max_minutes $budget --max_steps -1
fi

if [[ $stage -le 4 && $stop_stage -ge 4 ]]; then
  echo "Stage 4: evaluation (models, ablations and no-learning baselines)"
  evaldir=exp/eval_${tag}
  mkdir -p $evaldir
  $python_path eval.py --exp_dirs "exp/train_*_${tag}" --data_dir $data_dir \
    --datasets $datasets --protocols $protocols --out_dir $evaldir --use_gpu $eval_use_gpu \
    | tee logs/eval_${tag}.log
  cp logs/eval_${tag}.log $evaldir/eval.log
  echo "Results: $evaldir/results.md, $evaldir/accuracy_vs_k.png"
fi
