#!/usr/bin/env bash
# Linear chord probing of frozen PHALAR embeddings (docs/protocols.md#chord-probing): window
# embeddings at several window lengths -> 5-fold complex linear probes under several label rules,
# against chroma-CQT averaged over the same windows + linear -> report.
set -e  # Exit on error
set -o pipefail

# Storage. The embedded band corpus is rendered into $data_root when it has no slakh/ folder;
# GuitarSet is read from the common data root holding guitarset/ (mirdata's data_home) when given.
data_root=data/slow_band_corpus  # embedded band corpus (stage 0 renders it)
guitarset_root=             # data root holding guitarset/: GuitarSet instead of the band corpus
# Python with phalar_asteroid installed (make install); the Makefile puts .venv/bin first in PATH.
python_path=python          # Python with phalar_asteroid installed

# Example usage
# ./run.sh --model_path ../stem_retrieval/exp/train_phalar_quick_embedded/best_model.pth
# ./run.sh --stage 1 --guitarset_root /data --model_path /path/to/best_model.pth --tag guitarset

# General
stage=0       # First stage to run (0-4)
stop_stage=4  # Last stage to run (stage-4)
tag=""        # Experiment tag; default "<corpus>_<model folder>" so that re-runs resume it
id=$CUDA_VISIBLE_DEVICES  # GPUs to use (CUDA_VISIBLE_DEVICES); empty keeps the environment's

# Data
flavour=slow_band  # rendered corpus: slow_band (a chord every two bars) | band (about one a beat)
n_tracks=16        # band tracks of the embedded corpus
max_seconds=30     # crop of each rendered track in seconds, >= 1
render_seed=0      # seed of the rendered corpus
render_workers=2   # parallel rendering processes
split=all          # band corpus split: train | valid | test | a list (valid,test) | all

# Model and frames
model_path=""      # best_model.pth of the stem_retrieval recipe (stage 3 needs it)
window_seconds=1,2,4.8  # window lengths (comma-separated seconds, whole numbers of model hops)
hop_seconds=0.02   # window stride; a whole number of the model's hops and of 20 ms chroma frames
batch_size=64      # windows per backbone call

# Probes
label_rules=start,centre,majority  # window labels: chord at the start (reference), centre, most
n_folds=5          # cross-validation folds of the probes, >= 2
epochs=10          # training epochs of each probe

# Evaluation
eval_use_gpu=1     # 1: run the model on the GPU when there is one; 0: on the CPU

help_message="Usage: ./run.sh --model_path PATH [--name value ...]
Linear chord probing of PHALAR embeddings. Stages: 0 render the band corpus, 1 recordings and
chords, 2 chroma baseline features, 3 PHALAR frame embeddings, 4 probes and report (README.md)."

. utils/parse_options.sh

# Every option is checked here, before any work: a bad value stops the run with one line.
check_no_args "$@"
check_int stage 0 4
check_int stop_stage "$stage" 4
check_match tag '^[A-Za-z0-9._+-]*$' "letters, digits and . _ + - only"
check_match id '^[A-Za-z0-9,:/_-]*$' "comma-separated device indices or UUIDs"
check_match data_root '.' "a folder"
check_command python_path
check_int n_tracks 1
check_choice flavour slow_band band
check_number max_seconds 1
check_int render_seed 0
check_int render_workers 1
[[ $split == all ]] || check_list split train valid test
check_match window_seconds '^[0-9]*\.?[0-9]+(,[0-9]*\.?[0-9]+)*$' \
  "comma-separated positive seconds such as 1,2,4.8"
check_positive hop_seconds
check_list label_rules start centre majority
check_int batch_size 1
check_int n_folds 2
check_int epochs 1
check_choice eval_use_gpu 0 1
if [[ $stage -le 3 && $stop_stage -ge 3 && ! -f $model_path ]]; then
  option_error "--model_path takes a PHALAR best_model.pth (stage 3 needs it), got '$model_path'"
fi

# check_data STAGE: the data a stage reads exists: GuitarSet, or (stage 1) the rendered corpus.
check_data() {
  if [[ -n $guitarset_root && ! -d $guitarset_root/guitarset ]]; then
    option_error "--guitarset_root: no guitarset/ under '$guitarset_root'"
  fi
  if [[ -z $guitarset_root && $1 -ge 1 && ! -d $data_root/slakh ]]; then
    option_error "--data_root: no band corpus (slakh/) under '$data_root' (stage 0 renders it)"
  fi
  return 0
}

if [[ -n $id ]]; then export CUDA_VISIBLE_DEVICES=$id; fi
if [[ -n $guitarset_root ]]; then corpus=guitarset; else corpus=${flavour}_${split//,/+}; fi
data_dir=data/$corpus
mkdir -p logs

if [[ $stage -le 0 && $stop_stage -ge 0 ]]; then
  check_data 0
  echo "Stage 0: data"
  if [[ -n $guitarset_root ]]; then
    echo "GuitarSet from $guitarset_root: nothing to render"
  else
    # Resumable: finished tracks are kept, a half-written one is redone.
    $python_path -m phalar_asteroid.data.render --out $data_root --n-tracks $n_tracks \
      --seed $render_seed --flavour $flavour --max-seconds $max_seconds \
      --workers $render_workers | tee logs/render_${flavour}.log
  fi
fi

if [[ $stage -le 1 && $stop_stage -ge 1 ]]; then
  check_data 1
  echo "Stage 1: recordings and chord annotations ($corpus)"
  $python_path local/prepare_data.py --data_root "$data_root" \
    --guitarset_root "$guitarset_root" --split $split --out_dir $data_dir
fi

if [[ $stage -le 2 && $stop_stage -ge 2 ]]; then
  echo "Stage 2: chroma_cqt baseline features (20 ms frames)"
  $python_path local/chroma_features.py --manifest $data_dir/manifest.json \
    --out_dir $data_dir/chroma
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
  $python_path local/phalar_features.py --manifest $data_dir/manifest.json \
    --model_path "$model_path" --exp_dir $expdir --window_seconds $window_seconds \
    --hop_seconds $hop_seconds --batch_size $batch_size --use_gpu $eval_use_gpu \
    | tee logs/phalar_features_${tag}.log
  cp logs/phalar_features_${tag}.log $expdir/phalar_features.log
fi

if [[ $stage -le 4 && $stop_stage -ge 4 ]]; then
  echo "Stage 4: ${n_folds}-fold probes (PHALAR and chroma over the same windows) and report"
  $python_path local/probe.py --manifest $data_dir/manifest.json --chroma_dir $data_dir/chroma \
    --exp_dir $expdir --window_seconds $window_seconds --hop_seconds $hop_seconds \
    --label_rules $label_rules --n_folds $n_folds --epochs $epochs --dataset $corpus \
    | tee logs/probe_${tag}.log
  cp logs/probe_${tag}.log $expdir/probe.log
  mkdir -p $expdir/publish_dir
  echo "chord_probing" > $expdir/publish_dir/recipe_name.txt
fi
