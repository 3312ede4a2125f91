#!/usr/bin/env bash
# Zero-shot beat tracking with PHALAR (docs/protocols.md#beat-tracking): metronome templates ->
# PHALAR onset envelope -> DP / DBN beats, against madmom's RNN + DBN tracker and an onset-strength
# baseline, all scored by the same mir_eval code.
set -e  # Exit on error
set -o pipefail

# Storage. The embedded band corpus is rendered into $data_root when it has no slakh/ folder;
# GTZAN is read from the common data root holding gtzan_genre/ (mirdata's data_home) when given.
data_root=data/band_corpus
gtzan_root=
# Python with phalar_asteroid installed (make install); the Makefile puts .venv/bin first in PATH.
python_path=python

# Example usage
# ./run.sh --model_path ../stem_retrieval/exp/train_phalar_quick_embedded/best_model.pth
# ./run.sh --stage 1 --gtzan_root /data --model_path /path/to/best_model.pth --tag gtzan

# General
stage=0       # Controls from which stage to start
stop_stage=5  # Last stage to run
tag=""        # Experiment tag; default "<corpus>_<model folder>" so that re-runs resume it
id=$CUDA_VISIBLE_DEVICES  # GPUs to use (CUDA_VISIBLE_DEVICES); empty keeps the environment's

# Data
n_tracks=16        # band tracks of the embedded corpus
max_seconds=30     # crop of each rendered track
render_seed=0
render_workers=2
split=all          # band corpus split: train | valid | test | a list (valid,test) | all

# Model and templates
model_path=""      # best_model.pth of the stem_retrieval recipe (inference.load_model)
bpm_min=30         # one template per integer tempo in [bpm_min, bpm_max]
bpm_max=240
hop_seconds=0.02   # window stride (a 50 Hz envelope); a whole number of the model's hops
batch_size=64      # windows per backbone call

# Evaluation
eval_use_gpu=1

help_message="Usage: ./run.sh --model_path PATH [--stage N] [--stop_stage N] [--gtzan_root DIR]
  [--tag T] [--bpm_min N] [--bpm_max N] [--hop_seconds S] [--n_tracks N] [--max_seconds S]"

. utils/parse_options.sh

if [[ -n $id ]]; then export CUDA_VISIBLE_DEVICES=$id; fi
if [[ -n $gtzan_root ]]; then corpus=gtzan; else corpus=band_${split//,/+}; fi
data_dir=data/$corpus
templates_dir=data/templates
mkdir -p logs

if [[ $stage -le 0 && $stop_stage -ge 0 ]]; then
  echo "Stage 0: data"
  if [[ -n $gtzan_root ]]; then
    if [[ ! -d $gtzan_root/gtzan_genre ]]; then
      echo "No gtzan_genre/ under --gtzan_root $gtzan_root"; exit 1
    fi
    echo "GTZAN from $gtzan_root: nothing to render"
  else
    # Resumable: finished tracks are kept, a half-written one is redone.
    $python_path -m phalar_asteroid.data.render --out $data_root --n-tracks $n_tracks \
      --seed $render_seed --flavour band --max-seconds $max_seconds --workers $render_workers \
      | tee logs/render_band.log
  fi
fi

if [[ $stage -le 1 && $stop_stage -ge 1 ]]; then
  echo "Stage 1: track list and reference beats ($corpus)"
  $python_path local/prepare_data.py --data_root "$data_root" --gtzan_root "$gtzan_root" \
    --split $split --out_dir $data_dir
fi

if [[ $stage -le 2 && $stop_stage -ge 2 ]]; then
  echo "Stage 2: metronome templates ($bpm_min-$bpm_max BPM)"
  $python_path local/render_templates.py --out_dir $templates_dir \
    --bpm_min $bpm_min --bpm_max $bpm_max
fi

if [[ $stage -le 3 && $stop_stage -ge 3 ]]; then
  echo "Stage 3: reference trackers (madmom RNN + DBN, onset strength + DP)"
  $python_path local/reference_beats.py --manifest $data_dir/manifest.json \
    --out_dir $data_dir/beats | tee logs/reference_beats_${corpus}.log
fi

# Experiment naming: a stable tag, so that an interrupted run resumes its experiment.
uuid=$($python_path -c "import uuid; print(str(uuid.uuid4())[:8])")
if [[ -z ${tag} ]]; then
  tag=${corpus}_$(basename "$(dirname "${model_path:-untagged/x}")")
fi
expdir=exp/beats_${tag}
mkdir -p $expdir && echo $uuid >> $expdir/run_uuid.txt

if [[ $stage -le 4 && $stop_stage -ge 4 ]]; then
  echo "Stage 4: PHALAR zero-shot beats"
  if [[ ! -f $model_path ]]; then
    echo "Give --model_path (a PHALAR best_model.pth), got '$model_path'"; exit 1
  fi
  $python_path local/phalar_beats.py --manifest $data_dir/manifest.json \
    --templates_dir $templates_dir --model_path "$model_path" --exp_dir $expdir \
    --bpm_min $bpm_min --bpm_max $bpm_max --hop_seconds $hop_seconds --batch_size $batch_size \
    --use_gpu $eval_use_gpu | tee logs/phalar_beats_${tag}.log
  cp logs/phalar_beats_${tag}.log $expdir/phalar_beats.log
fi

if [[ $stage -le 5 && $stop_stage -ge 5 ]]; then
  echo "Stage 5: mir_eval scores and report"
  $python_path local/evaluate.py --manifest $data_dir/manifest.json \
    --reference_dir $data_dir/beats --exp_dir $expdir | tee logs/eval_${tag}.log
  cp logs/eval_${tag}.log $expdir/eval.log
  mkdir -p $expdir/publish_dir
  echo "beat_tracking" > $expdir/publish_dir/recipe_name.txt
fi
