#!/usr/bin/env bash
# Correlation of model scores with human coherence ratings (docs/protocols.md#coherence-correlation):
# a listening test's ratings (or, by default, a simulated one on the rendered corpus) -> every
# model's score of each (mix, stem) item -> per-listener z-scores, Pearson / Spearman with crossed
# (listener x item) bootstrap intervals and paired tests against PHALAR.
set -e  # Exit on error
set -o pipefail

# Input. Without --ratings, stages 0-1 build the demo: rendered items and SIMULATED listeners.
ratings=""                  # ratings CSV (listener,item,rating); empty: the simulated demo
items=""                    # items CSV (item,mix,stem; paths relative to it); with --ratings
data_root=data/band_corpus  # embedded band corpus of the demo (stage 0 renders it)
# Python with phalar_asteroid installed (make install); the Makefile puts .venv/bin first in PATH.
python_path=python          # Python with phalar_asteroid installed

# Example usage
# ./run.sh                                   # the simulated demo with the shipped checkpoint
# ./run.sh --ratings /my/test/ratings.csv --items /my/test/items.csv --tag mytest \
#   --model_path ../stem_retrieval/exp/train_phalar_harmony/best_model.pth

# General
stage=0       # First stage to run (0-3)
stop_stage=3  # Last stage to run (stage-3)
tag=""        # Experiment tag; default "<test>_<model>" so that re-runs resume it
id=$CUDA_VISIBLE_DEVICES  # GPUs to use (CUDA_VISIBLE_DEVICES); empty keeps the environment's

# Demo data (simulated listeners; see local/conf.yml for the listener model)
n_tracks=40        # band tracks rendered (the demo keeps those of --split)
max_seconds=30     # crop of each rendered track in seconds, >= 12
render_seed=0      # seed of the rendered corpus
render_workers=1   # parallel rendering processes
split=valid,test   # band corpus split(s) the demo items come from: train | valid | test | all
n_listeners=12     # simulated listeners
demo_seed=0        # seed of the demo's conditions and of the simulated listeners

# Models
models=phalar,cocola,onset_corr,chroma_corr  # scored models: phalar, cocola, onset_corr, chroma_corr
model_path=phalar-embedded  # PHALAR: a best_model.pth or a shipped name (phalar_asteroid/pretrained)
cocola_path=""     # COCOLA best_model.pth; empty: an UNTRAINED COCOLA (random weights)
batch_size=16      # windows per forward pass

# Statistics
n_resamples=10000  # crossed bootstrap resamples (listeners and items with replacement)
scale_min=1        # lowest rating of the Likert scale
scale_max=5        # highest rating of the Likert scale
constant_listeners=drop  # a listener with one rating for everything: drop (warning) | refuse

# Evaluation
eval_use_gpu=1     # 1: run the models on the GPU when there is one; 0: on the CPU

help_message="Usage: ./run.sh [--ratings R.csv --items I.csv] [--name value ...]
Correlation of model scores with coherence ratings. Stages: 0 render the band corpus (demo),
1 demo items and simulated ratings, 2 model scores per item, 3 correlations, intervals and paired
tests (README.md)."

. utils/parse_options.sh

# Every option is checked here, before any work: a bad value stops the run with one line.
check_no_args "$@"
check_int stage 0 3
check_int stop_stage "$stage" 3
check_match tag '^[A-Za-z0-9._+-]*$' "letters, digits and . _ + - only"
check_match id '^[A-Za-z0-9,:/_-]*$' "comma-separated device indices or UUIDs"
check_match data_root '.' "a folder"
check_command python_path
check_int n_tracks 1
check_number max_seconds 12
check_int render_seed 0
check_int render_workers 1
[[ $split == all ]] || check_list split train valid test
check_int n_listeners 2
check_int demo_seed 0
check_list models phalar cocola onset_corr chroma_corr
check_match model_path '.' "a PHALAR best_model.pth or a shipped name"
check_int batch_size 1
check_int n_resamples 100
check_number scale_min
check_number scale_max "$scale_min"
check_choice constant_listeners drop refuse
check_choice eval_use_gpu 0 1
if [[ -n $ratings || -n $items ]]; then
  [[ -f $ratings ]] || option_error "--ratings takes a ratings CSV file, got '$ratings'"
  [[ -f $items ]] || option_error "--items takes the items CSV file of --ratings, got '$items'"
fi
if [[ $model_path == *.pth && ! -f $model_path ]]; then
  option_error "--model_path: no such checkpoint '$model_path'"
fi
if [[ -n $cocola_path && ! -f $cocola_path ]]; then
  option_error "--cocola_path takes a COCOLA best_model.pth, got '$cocola_path'"
fi

if [[ -n $id ]]; then export CUDA_VISIBLE_DEVICES=$id; fi
if [[ -n $ratings ]]; then
  test_name=$(basename "${ratings%.*}")
  simulated=0
else
  test_name=demo
  ratings=data/demo/ratings.csv
  items=data/demo/items.csv
  simulated=1
fi
mkdir -p logs

if [[ $stage -le 0 && $stop_stage -ge 0 ]]; then
  echo "Stage 0: data"
  if [[ $simulated == 0 ]]; then
    echo "Listening test $ratings: nothing to render"
  else
    # Resumable: finished tracks are kept, a half-written one is redone.
    $python_path -m phalar_asteroid.data.render --out $data_root --n-tracks $n_tracks \
      --seed $render_seed --flavour band --max-seconds $max_seconds --workers $render_workers \
      | tee logs/render_band.log
  fi
fi

if [[ $stage -le 1 && $stop_stage -ge 1 ]]; then
  echo "Stage 1: demo items and simulated ratings"
  if [[ $simulated == 0 ]]; then
    echo "Listening test $ratings: real ratings, nothing to simulate"
  else
    if [[ ! -d $data_root/slakh ]]; then
      option_error "--data_root: no band corpus (slakh/) under '$data_root' (stage 0 renders it)"
    fi
    $python_path local/make_demo.py --data_root "$data_root" --split $split --out_dir data/demo \
      --n_listeners $n_listeners --demo_seed $demo_seed --scale_min $scale_min \
      --scale_max $scale_max | tee logs/make_demo.log
  fi
fi

# Experiment naming: a stable tag, so that an interrupted run resumes its experiment.
uuid=$($python_path -c "import uuid; print(str(uuid.uuid4())[:8])")
if [[ -z ${tag} ]]; then
  if [[ -f $model_path ]]; then model_name=$(basename "$(dirname "$model_path")"); else
    model_name=$model_path; fi
  tag=${test_name}_${model_name}
fi
expdir=exp/coherence_${tag}
mkdir -p $expdir && echo $uuid >> $expdir/run_uuid.txt

if [[ $stage -le 2 && $stop_stage -ge 2 ]]; then
  echo "Stage 2: scores of every item ($models)"
  $python_path local/score_items.py --items "$items" --models $models \
    --model_path "$model_path" --cocola_path "$cocola_path" --out_dir $expdir/scores \
    --batch_size $batch_size --use_gpu $eval_use_gpu | tee logs/score_items_${tag}.log
  cp logs/score_items_${tag}.log $expdir/score_items.log
fi

if [[ $stage -le 3 && $stop_stage -ge 3 ]]; then
  echo "Stage 3: correlations with the ratings ($n_resamples crossed bootstrap resamples)"
  $python_path local/correlate.py --ratings "$ratings" --items "$items" --models $models \
    --scores_dir $expdir/scores --exp_dir $expdir --simulated $simulated \
    --n_resamples $n_resamples --scale_min $scale_min --scale_max $scale_max \
    --constant_listeners $constant_listeners | tee logs/correlate_${tag}.log
  cp logs/correlate_${tag}.log $expdir/correlate.log
  mkdir -p $expdir/publish_dir
  echo "coherence_correlation" > $expdir/publish_dir/recipe_name.txt
fi
