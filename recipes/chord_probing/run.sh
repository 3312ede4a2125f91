#!/usr/bin/env bash
# Linear chord probing of frozen PHALAR embeddings (docs/protocols.md#chord-probing): frame
# embeddings every 20 ms -> 5-fold complex linear probes against a chroma-CQT + linear baseline
# -> report.
set -e  # Exit on error
set -o pipefail

# Storage. The embedded band corpus is rendered into $data_root when it has no slakh/ folder;
# GuitarSet is read from the common data root holding guitarset/ (mirdata's data_home) when given.
data_root=data/band_corpus
guitarset_root=
# Python with phalar_asteroid installed (make install); the Makefile puts .venv/bin first in PATH.
python_path=python

# Example usage
# ./run.sh --model_path ../stem_retrieval/exp/train_phalar_quick_embedded/best_model.pth
# ./run.sh --stage 1 --guitarset_root /data --model_path /path/to/best_model.pth --tag guitarset

# General
stage=0       # Controls from which stage to start
stop_stage=4  # Last stage to run
tag=""        # Experiment tag; default "<corpus>_<model folder>" so that re-runs resume it
id=$CUDA_VISIBLE_DEVICES  # GPUs to use (CUDA_VISIBLE_DEVICES); empty keeps the environment's

# Data
n_tracks=16        # band tracks of the embedded corpus
max_seconds=30     # crop of each rendered track
render_seed=0
render_workers=2
split=all          # band corpus split: train | valid | test | a list (valid,test) | all

# Model and frames
model_path=""      # best_model.pth of the stem_retrieval recipe (inference.load_model)
hop_seconds=0.02   # frame stride; a whole number of the model's hops
batch_size=64      # windows per backbone call

# Probes
n_folds=5
epochs=10

# Evaluation
eval_use_gpu=1

help_message="Usage: ./run.sh --model_path PATH [--stage N] [--stop_stage N] [--guitarset_root DIR]
  [--tag T] [--hop_seconds S] [--n_folds N] [--epochs N] [--n_tracks N] [--max_seconds S]"

. utils/parse_options.sh

if [[ -n $id ]]; then export CUDA_VISIBLE_DEVICES=$id; fi
if [[ -n $guitarset_root ]]; then corpus=guitarset; else corpus=band_${split//,/+}; fi
data_dir=data/$corpus
mkdir -p logs

if [[ $stage -le 0 && $stop_stage -ge 0 ]]; then
  echo "Stage 0: data"
  if [[ -n $guitarset_root ]]; then
    if [[ ! -d $guitarset_root/guitarset ]]; then
      echo "No guitarset/ under --guitarset_root $guitarset_root"; exit 1
    fi
    echo "GuitarSet from $guitarset_root: nothing to render"
  else
    # Resumable: finished tracks are kept, a half-written one is redone.
    $python_path -m phalar_asteroid.data.render --out $data_root --n-tracks $n_tracks \
      --seed $render_seed --flavour band --max-seconds $max_seconds --workers $render_workers \
      | tee logs/render_band.log
  fi
fi

if [[ $stage -le 1 && $stop_stage -ge 1 ]]; then
  echo "Stage 1: recordings and chord annotations ($corpus)"
  $python_path local/prepare_data.py --data_root "$data_root" \
    --guitarset_root "$guitarset_root" --split $split --out_dir $data_dir
fi

if [[ $stage -le 2 && $stop_stage -ge 2 ]]; then
  echo "Stage 2: chroma_cqt baseline features"
  $python_path local/chroma_features.py --manifest $data_dir/manifest.json \
    --out_dir $data_dir/chroma_hop${hop_seconds}s --hop_seconds $hop_seconds
fi

# Experiment naming: a stable tag, so that an interrupted run resumes its experiment.
uuid=$($python_path -c "import uuid; print(str(uuid.uuid4())[:8])")
if [[ -z ${tag} ]]; then
  tag=${corpus}_$(basename "$(dirname "${model_path:-untagged/x}")")
fi
expdir=exp/probe_${tag}
mkdir -p $expdir && echo $uuid >> $expdir/run_uuid.txt

if [[ $stage -le 3 && $stop_stage -ge 3 ]]; then
  echo "Stage 3: PHALAR frame embeddings"
  if [[ ! -f $model_path ]]; then
    echo "Give --model_path (a PHALAR best_model.pth), got '$model_path'"; exit 1
  fi
  $python_path local/phalar_features.py --manifest $data_dir/manifest.json \
    --model_path "$model_path" --exp_dir $expdir --hop_seconds $hop_seconds \
    --batch_size $batch_size --use_gpu $eval_use_gpu | tee logs/phalar_features_${tag}.log
  cp logs/phalar_features_${tag}.log $expdir/phalar_features.log
fi

if [[ $stage -le 4 && $stop_stage -ge 4 ]]; then
  echo "Stage 4: ${n_folds}-fold probes (PHALAR, chroma, window-mean chroma) and report"
  $python_path local/probe.py --manifest $data_dir/manifest.json \
    --chroma_dir $data_dir/chroma_hop${hop_seconds}s --exp_dir $expdir --n_folds $n_folds \
    --epochs $epochs --dataset $corpus | tee logs/probe_${tag}.log
  cp logs/probe_${tag}.log $expdir/probe.log
  mkdir -p $expdir/publish_dir
  echo "chord_probing" > $expdir/publish_dir/recipe_name.txt
fi
