#!/usr/bin/env bash
# Zero-shot beat tracking with PHALAR (docs/protocols.md#beat-tracking): metronome templates ->
# PHALAR onset envelope -> DP / DBN beats, against madmom's RNN + DBN tracker and an onset-strength
# baseline, all scored by the same mir_eval code, by default on held-out pieces (valid + test).
set -e  # Exit on error
set -o pipefail

# Storage. The embedded band corpus is rendered into $data_root when it has no slakh/ folder;
# GTZAN is read from the common data root holding gtzan_genre/ (mirdata's data_home) when given.
data_root=data/band_corpus80  # embedded band corpus (stage 0 renders it)
gtzan_root=                 # data root holding gtzan_genre/: GTZAN instead of the band corpus
# Python with phalar_asteroid installed (make install); the Makefile puts .venv/bin first in PATH.
python_path=python          # Python with phalar_asteroid installed

# Example usage
# ./run.sh --model_path ../stem_retrieval/exp/train_phalar_quick_embedded/best_model.pth
# ./run.sh --stage 1 --gtzan_root /data --model_path /path/to/best_model.pth --tag gtzan

# General
stage=0       # First stage to run (0-5)
stop_stage=5  # Last stage to run (stage-5)
tag=""        # Experiment tag; default "<corpus>_<model folder>" so that re-runs resume it
id=$CUDA_VISIBLE_DEVICES  # GPUs to use (CUDA_VISIBLE_DEVICES); empty keeps the environment's

# Data
n_tracks=80        # band tracks rendered: 8 valid + 8 test of every 80 (split by piece)
max_seconds=30     # crop of each rendered track in seconds, >= 1
render_seed=0      # seed of the rendered corpus
render_workers=2   # parallel rendering processes
split=valid,test   # held-out pieces; train (or all) adds pieces the encoder was trained on

# Model and templates
model_path=""      # best_model.pth of the stem_retrieval recipe (stage 4 needs it)
bpm_min=30         # one template per integer tempo in [bpm_min, bpm_max]
bpm_max=240        # fastest template tempo
hop_seconds=0.02   # window stride (a 50 Hz envelope); a whole number of the model's hops
batch_size=64      # windows per backbone call

# Evaluation
eval_use_gpu=1     # 1: run the model on the GPU when there is one; 0: on the CPU
sweep=local/sweep.yml  # decoder/envelope variant grids, chosen on valid, reported on test (stage 5)

help_message="Usage: ./run.sh --model_path PATH [--name value ...]
Zero-shot beat tracking with PHALAR. Stages: 0 render the band corpus, 1 track list and
reference beats, 2 metronome templates, 3 reference trackers, 4 PHALAR beats, 5 scores, error
table and decoder variants (README.md). The default split holds pieces the encoder never heard."

. utils/parse_options.sh

# Every option is checked here, before any work: a bad value stops the run with one line.
check_no_args "$@"
check_int stage 0 5
check_int stop_stage "$stage" 5
check_match tag '^[A-Za-z0-9._+-]*$' "letters, digits and . _ + - only"
check_match id '^[A-Za-z0-9,:/_-]*$' "comma-separated device indices or UUIDs"
check_match data_root '.' "a folder"
check_command python_path
check_int n_tracks 1
check_number max_seconds 1
check_int render_seed 0
check_int render_workers 1
[[ $split == all ]] || check_list split train valid test
check_int bpm_min 1
check_int bpm_max "$bpm_min"
check_positive hop_seconds
check_int batch_size 1
check_choice eval_use_gpu 0 1
if [[ $stage -le 5 && $stop_stage -ge 5 && ! -f $sweep ]]; then
  option_error "--sweep takes a YAML file of variant grids (stage 5 reads it), got '$sweep'"
fi
if [[ $stage -le 4 && $stop_stage -ge 4 && ! -f $model_path ]]; then
  option_error "--model_path takes a PHALAR best_model.pth (stage 4 needs it), got '$model_path'"
fi

# check_data STAGE: the data a stage reads exists: GTZAN, or (stage 1) the rendered band corpus.
check_data() {
  if [[ -n $gtzan_root && ! -d $gtzan_root/gtzan_genre ]]; then
    option_error "--gtzan_root: no gtzan_genre/ under '$gtzan_root'"
  fi
  if [[ -z $gtzan_root && $1 -ge 1 && ! -d $data_root/slakh ]]; then
    option_error "--data_root: no band corpus (slakh/) under '$data_root' (stage 0 renders it)"
  fi
  return 0
}

if [[ -n $id ]]; then export CUDA_VISIBLE_DEVICES=$id; fi
if [[ -n $gtzan_root ]]; then corpus=gtzan; else corpus=band_${split//,/+}; fi
data_dir=data/$corpus
templates_dir=data/templates
mkdir -p logs

if [[ $stage -le 0 && $stop_stage -ge 0 ]]; then
  check_data 0
  echo "Stage 0: data"
  if [[ -n $gtzan_root ]]; then
    echo "GTZAN from $gtzan_root: nothing to render"
  else
    # Resumable: finished tracks are kept, a half-written one is redone.
    $python_path -m phalar_asteroid.data.render --out $data_root --n-tracks $n_tracks \
      --seed $render_seed --flavour band --max-seconds $max_seconds --workers $render_workers \
      | tee logs/render_band.log
  fi
fi

if [[ $stage -le 1 && $stop_stage -ge 1 ]]; then
  check_data 1
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
  # Variants re-decode stage 4's stored maps (no encoder); they need valid and test tracks.
  $python_path local/variants.py --manifest $data_dir/manifest.json \
    --reference_dir $data_dir/beats --exp_dir $expdir --sweep "$sweep" \
    | tee logs/variants_${tag}.log
  cp logs/variants_${tag}.log $expdir/variants.log
  mkdir -p $expdir/publish_dir
  echo "beat_tracking" > $expdir/publish_dir/recipe_name.txt
fi
