"""The stem_retrieval recipe: option parsing, configuration merge, and a tiny end-to-end run."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
from asteroid.utils import parse_args_as_dict, prepare_parser_from_dict

from phalar_asteroid.utils.config import load_conf

# copy_recipe: a private copy of a recipe with utils/ resolved.
from test_beat_tracking import copy_recipe

RECIPE = os.path.join(os.path.dirname(__file__), "..", "..", "recipes", "stem_retrieval")
RECIPE = os.path.abspath(RECIPE)
LOCAL = os.path.join(RECIPE, "local")
DATA_FIXTURES = os.path.join(os.path.dirname(__file__), "..", "data")


def _load_module(name, path):
    # By path, under a unique name: other recipes have a local/ folder too.
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_config = _load_module("stem_retrieval_local_config", os.path.join(LOCAL, "config.py"))
build_model, overlay_paths = _config.build_model, _config.overlay_paths
CONF = os.path.join(LOCAL, "conf.yml")


def _bash(script: str, *args):
    header = f'stage=0\nnum_nodes=1\nuse_gpu=true\ntag=""\nhelp_message="usage: demo"\n'
    body = header + f". {RECIPE}/utils/parse_options.sh\n" + script
    return subprocess.run(["bash", "-c", body, "demo", *args], capture_output=True, text=True)


def test_parse_options_overrides_and_maps_dashes():
    out = _bash(
        'echo "$stage|$num_nodes|$use_gpu|$tag|$*"',
        "--stage",
        "3",
        "--num-nodes",
        "2",
        "--tag",
        "a b",
        "rest",
    )
    assert out.returncode == 0 and out.stdout.strip() == "3|2|true|a b|rest"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--nope", "1"], "invalid option --nope"),
        (["--stage=3"], "not '--stage=3'"),
        (["--use_gpu", "1"], "takes true or false"),
        (["--stage"], "needs a value"),
    ],
)
def test_parse_options_rejects(args, message):
    out = _bash("echo reached", *args)
    assert out.returncode == 1 and message in out.stderr and "reached" not in out.stdout


def test_parse_options_config_file_and_help(tmp_path):
    config = tmp_path / "opts.sh"
    config.write_text("stage=7\ntag=from_file\n")
    out = _bash('echo "$stage|$tag"', "--config", str(config), "--tag", "cli")
    assert out.stdout.strip() == "7|cli"  # the command line wins over the config file
    out = _bash("echo reached", "--help")
    assert out.returncode == 0 and "usage: demo" in out.stdout and "reached" not in out.stdout


def test_parse_options_true_false_rule_follows_the_declared_default(tmp_path):
    # tag's default is empty: an earlier value of false (command line or config) does not make
    # it a true/false option.
    out = _bash('echo "$tag"', "--tag", "false", "--tag", "x")
    assert out.returncode == 0 and out.stdout.strip() == "x", out.stderr
    config = tmp_path / "opts.sh"
    config.write_text("tag=true\nuse_gpu=1\n")
    out = _bash('echo "$tag|$use_gpu"', "--config", str(config), "--tag", "y")
    assert out.returncode == 0 and out.stdout.strip() == "y|1", out.stderr
    out = _bash("echo reached", "--config", str(config), "--use_gpu", "1")
    assert out.returncode == 1 and "takes true or false" in out.stderr


@pytest.mark.parametrize(
    "check, args, message",
    [
        ("check_int stage 0 4", ["--stage", "x"], "--stage takes an integer in 0..4, got 'x'"),
        ("check_int stage 0 4", ["--stage", "9"], "--stage takes an integer in 0..4, got '9'"),
        ("check_int stage 0 4", ["--stage", "1.5"], "--stage takes an integer in 0..4"),
        ("check_int stage 0 4", ["--stage", ""], "--stage takes an integer in 0..4, got ''"),
        ("check_int num_nodes 1", ["--num_nodes", "0"], "--num_nodes takes an integer >= 1"),
        ("check_number tag 1", ["--tag", "0.5"], "--tag takes a number >= 1, got '0.5'"),
        ("check_number tag 1", ["--tag", "1e"], "--tag takes a number >= 1, got '1e'"),
        ("check_positive tag", ["--tag", "0"], "--tag takes a number > 0, got '0'"),
        ("check_positive tag", ["--tag", "nan"], "--tag takes a number > 0, got 'nan'"),
        ("check_bool tag", ["--tag", "maybe"], "--tag takes true or false, got 'maybe'"),
        ("check_choice tag a b", ["--tag", "c"], "--tag takes one of a | b, got 'c'"),
        ("check_list tag a b", ["--tag", "a,c"], "--tag takes a comma-separated list of a, b"),
        ("check_list tag a b", ["--tag", "a,"], "--tag takes a comma-separated list of a, b"),
        ("check_ints tag 2", ["--tag", "8,1"], "--tag takes comma-separated integers >= 2"),
        ("check_ints tag 0", ["--tag", "0,x"], "--tag takes comma-separated integers >= 0"),
        ("check_match tag '^[a-z]+$' 'lower-case letters'", ["--tag", "A"], "--tag takes lower"),
        ("check_command tag", ["--tag", "no-such-command-x"], "--tag takes a command"),
        ("check_no_args", ["--tag", "a", "b"], "unexpected argument 'b'"),
    ],
)
def test_option_checks_reject_with_one_line(check, args, message):
    out = _bash(f'{check} "$@"\necho reached', *args)
    assert out.returncode == 1 and "reached" not in out.stdout, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"demo: {message}"), out.stderr


@pytest.mark.parametrize(
    "check, args, value",
    [
        ("check_int stage 0 4", ["--stage", "04"], "4"),  # normalised: bash reads 04 as octal
        ("check_int stage -2", ["--stage", "-1"], "-1"),
        ("check_number tag 1", ["--tag", "1.5"], "1.5"),
        ("check_number tag 0 1", ["--tag", ".5"], ".5"),
        ("check_positive tag", ["--tag", "2e-3"], "2e-3"),
        ("check_bool use_gpu", [], "true"),
        ("check_choice tag '' a", [], ""),
        ("check_list tag a b", ["--tag", "b,a"], "b,a"),
        ("check_ints tag 0", ["--tag", "0,1,2"], "0,1,2"),
        ("check_command tag", ["--tag", "bash"], "bash"),
    ],
)
def test_option_checks_accept(check, args, value):
    name = check.split()[1]
    out = _bash(f'set -e\n{check}\necho "${name}"', *args)  # run.sh files run under set -e
    assert out.returncode == 0 and out.stdout.strip() == value and not out.stderr, out.stderr


@pytest.mark.parametrize(
    "arm, same_track_fraction, transpose_fraction",
    [
        ("", 0.5, 0.5),
        (",presets/harmony_plain", 0.0, 0.0),
        (",presets/harmony_same_only", 0.5, 0.0),
        (",presets/harmony_transposed_only", 0.0, 0.5),
    ],
)
def test_harmony_arms_differ_only_in_negatives(arm, same_track_fraction, transpose_fraction):
    both = load_conf(CONF, overlay_paths("presets/harmony", LOCAL))
    conf = load_conf(CONF, overlay_paths("presets/harmony" + arm, LOCAL))
    assert conf["data"]["same_track_fraction"] == same_track_fraction
    assert conf["negatives"]["transpose_fraction"] == transpose_fraction
    # Equal steps, schedule, crops and model: only the two fractions above may differ.
    for group in conf:
        for key in conf[group]:
            if key not in ("same_track_fraction", "transpose_fraction"):
                assert conf[group][key] == both[group][key], (group, key)
    assert conf["training"]["max_steps"] == 300 and conf["negatives"]["hard_start_step"] == 100


def test_conf_overlays_and_command_line():
    conf = load_conf(CONF, overlay_paths("models/phalar_avg,presets/quick", LOCAL))
    assert conf["model"]["pool"] == "average" and conf["similarity"]["sim_form"] == "real_bilinear"
    assert conf["data"]["batch_size"] == 16 and conf["filterbank"]["hop_length"] == 320
    assert conf["optim"]["muon_lr"] == 0.02  # untouched leaves keep conf.yml's values
    # Leaves are unique across groups: the flat command line can address every one.
    leaves = [k for group in conf.values() for k in group]
    assert len(leaves) == len(set(leaves))
    parser = prepare_parser_from_dict(conf)
    argv = ["--batch_size", "3", "--augment", "false", "--min_stem_db", "-60", "--adam_lr", "1e-3"]
    argv += ["--gather_negatives", "false"]
    sys_argv, sys.argv = sys.argv, ["train.py"] + argv
    try:
        parsed, _ = parse_args_as_dict(parser, return_plain_args=True)
    finally:
        sys.argv = sys_argv
    assert parsed["data"]["batch_size"] == 3 and parsed["augment"]["augment"] is False
    assert parsed["data"]["min_stem_db"] == -60.0 and parsed["optim"]["adam_lr"] == 1e-3
    assert parsed["data"]["epoch_pairs"] == 800  # from the preset
    assert conf["training"]["gather_negatives"] is True  # multi-device default: global batch
    assert parsed["training"]["gather_negatives"] is False  # the reference's per-device negatives
    assert load_conf(CONF)["data"]["min_stem_db"] == float("-inf")  # faithful default


def test_slurm_template_runs_train_py_under_srun(tmp_path):
    """local/slurm.sbatch with a stand-in srun: train.py gets SLURM's node and task counts."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "srun").write_text('#!/usr/bin/env bash\necho "srun $*"\n')
    (bin_dir / "srun").chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", SLURM_SUBMIT_DIR=str(tmp_path))
    env.update(SLURM_JOB_ID="7", SLURM_NNODES="2", SLURM_NTASKS_PER_NODE="4")
    env.update(SLURM_JOB_NODELIST="node[1-2]", preset="quick")
    script = os.path.join(LOCAL, "slurm.sbatch")
    out = subprocess.run(
        ["bash", script, "--max_steps", "5"], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    line = out.stdout.strip().splitlines()[-1]
    assert line.startswith("srun --kill-on-bad-exit=1 python train.py ")
    assert "--exp_dir exp/train_phalar_quick_mixed --overlays presets/quick" in line
    assert line.endswith("--devices 4 --num_nodes 2 --max_steps 5")
    assert (tmp_path / "exp/train_phalar_quick_mixed/run_uuid.txt").read_text() == "slurm-7\n"


def test_conf_overlay_errors(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("model:\n  poool: average\n")
    with pytest.raises(ValueError, match="unknown key model.poool"):
        load_conf(CONF, [str(bad)])
    with pytest.raises(FileNotFoundError, match="presets/nope"):
        overlay_paths("presets/nope", LOCAL)


def test_build_model_from_conf():
    phalar = build_model(load_conf(CONF))
    assert type(phalar).__name__ == "PHALAR"
    assert sum(p.numel() for p in phalar.parameters()) == 2_293_104
    cocola = build_model(load_conf(CONF, overlay_paths("models/cocola", LOCAL)))
    assert type(cocola).__name__ == "COCOLA"
    assert sum(p.numel() for p in cocola.parameters()) == 4_926_300


def test_stage_1_skips_a_bad_track_with_strict_false(tmp_path):
    """One corrupt stem fails stage 1 by default, naming it; ``--strict false`` skips its track."""
    sys.path.insert(0, DATA_FIXTURES)
    from data_fixtures import chorale_stems, make_cocochorales

    root = tmp_path / "coco"
    pieces = {"train": [1, 2], "valid": [3, 4], "test": [5, 6, 7]}
    folders = make_cocochorales(str(root), pieces, chorale_stems)
    bad = os.path.join(folders["string_track000006"], "stems_audio", "1_violin.wav")
    with open(bad, "wb") as fhandle:
        fhandle.write(b"RIFF\x00\x00not a wav file")
    recipe = copy_recipe("stem_retrieval", tmp_path)
    options = (
        f"--stage 1 --stop_stage 1 --preset quick --dataset cocochorales --cocochorales_root "
        f"{root} --protocols other-track --seeds 0 --n_queries 4 --val_queries 2"
    )
    cmd = ["bash", "run.sh", *options.split(), "--python_path", sys.executable]
    strict = subprocess.run(cmd, cwd=recipe, capture_output=True, text=True, timeout=300)
    assert strict.returncode != 0 and bad in strict.stderr
    assert "Traceback" not in strict.stderr and "--strict false" in strict.stderr
    loose = subprocess.run(
        cmd + ["--strict", "false"], cwd=recipe, capture_output=True, text=True, timeout=300
    )
    assert loose.returncode == 0, loose.stdout[-2000:] + loose.stderr[-2000:]
    assert "skipping track string_track000006" in loose.stderr and bad in loose.stderr
    manifest = json.loads((recipe / "data/manifests/cocochorales_test.json").read_text())
    assert [t["track_id"] for t in manifest["tracks"]] == [
        "string_track000005",
        "string_track000007",
    ]
    assert [s["track_id"] for s in manifest["skipped"]] == ["string_track000006"]
    assert (recipe / "data/lists/cocochorales_test_other-track.json").is_file()


#: Tiny models and data for the end-to-end run (every model gets these train.py options).
TINY = (
    "--backbone_width 2 --depth 1 --lsp_channels 4 --lsp_components 2 --embed_dim 8 "
    "--batch_size 2 --val_batch_size 2 --epoch_pairs 4 --max_steps 2 --num_workers 0 "
    "--ckpt_every_n_steps 1 --train_seconds 2 --min_crop_seconds 2"
)


@pytest.fixture(scope="module")
def recipe_run(tmp_path_factory):
    """The whole recipe (stage 0 on) in a copy, on 13 rendered chorale tracks of 6 s."""
    root = tmp_path_factory.mktemp("stem_retrieval")
    for name in ("run.sh", "train.py", "eval.py"):
        shutil.copy(os.path.join(RECIPE, name), root)
    for name in ("local", "utils"):
        shutil.copytree(os.path.join(RECIPE, name), root / name)
    options = (
        "--stage 0 --preset quick --embedded_tracks 13 --embedded_seconds 6 "
        "--embedded_flavour chorale --seeds 0 --n_queries 6 --same_track_queries 6 "
        "--val_queries 2 --ablations avg"
    )
    cmd = ["bash", "run.sh", *options.split(), "--python_path", sys.executable]
    cmd += ["--train_args", TINY]
    out = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return root, out


def test_recipe_experiment_files(recipe_run):
    root, _ = recipe_run
    for model in ("phalar", "phalar-avg", "cocola"):
        exp = root / "exp" / f"train_{model}_quick_embedded"
        for name in (
            "conf.yml",
            "best_model.pth",
            "best_k_models.json",
            "train_summary.json",
            "train.log",
            "run_uuid.txt",
            "checkpoints/last.ckpt",
            "final_metrics.json",
            "publish_dir/recipe_name.txt",
        ):
            assert (exp / name).is_file(), f"{exp}/{name}"
        assert list((exp / "csv_logs").glob("version_*/metrics.csv"))
        package = torch.load(exp / "best_model.pth", weights_only=True)
        assert {"model_name", "state_dict", "model_args", "licenses", "dataset"} <= set(package)
        summary = json.loads((exp / "train_summary.json").read_text())
        assert summary["global_step"] >= 1 and summary["train_seconds"] > 0
    phalar = json.loads((root / "exp/train_phalar_quick_embedded/train_summary.json").read_text())
    assert phalar["global_step"] == 2  # --max_steps 2
    conf = (root / "exp/train_phalar-avg_quick_embedded/conf.yml").read_text()
    assert "pool: average" in conf and "batch_size: 2" in conf
    for name in ("final_metrics.json", "results.md", "accuracy_vs_k.png", "eval.log"):
        assert (root / "exp/eval_quick_embedded" / name).is_file(), name


def test_recipe_final_metrics(recipe_run):
    root, _ = recipe_run
    final = json.loads((root / "exp/eval_quick_embedded/final_metrics.json").read_text())
    models = {f"{m}_quick_embedded" for m in ("phalar", "phalar-avg", "cocola")}
    models |= {"onset_corr", "chroma_corr"}
    assert set(final["results"]) == models
    assert final["headline_form"]["phalar_quick_embedded"] == "sym"
    assert final["headline_form"]["cocola_quick_embedded"] == "plain"
    assert set(final["results"]["phalar_quick_embedded"]) == {"sym", "plain"}
    for label in models:
        for form in final["results"][label].values():
            cells = form["cocochorales"]["other-track"]
            assert set(cells) == {"8", "16", "64"}
            for r in cells.values():
                assert 0.0 <= r["top1"] <= 1.0 and r["ci95"] >= 0.0
                assert 1.0 / r["mean_k"] - 1e-9 <= r["mrr"] <= 1.0
                assert 1 <= r["n_queries"] <= 6  # 6 queries, those with distractors
                assert 0.0 < r["chance"] < 1.0
    table = (root / "exp/eval_quick_embedded/results.md").read_text()
    assert "### cocochorales — other-track" in table and "onset_corr" in table


def test_recipe_stages_resume(recipe_run):
    """A second run skips finished experiments and keeps the data and lists."""
    root, _ = recipe_run
    lists = root / "data/lists/cocochorales_test_other-track.json"
    before = lists.stat().st_mtime_ns
    options = "--stage 1 --stop_stage 2 --preset quick --embedded_flavour chorale "
    options += "--ablations avg"
    cmd = ["bash", "run.sh", *options.split(), "--python_path", sys.executable]
    out = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "train_phalar_quick_embedded is finished" in out.stdout
    assert "train_phalar-avg_quick_embedded is finished" in out.stdout
    assert lists.stat().st_mtime_ns == before


def test_evaluation_reuses_cached_embeddings(recipe_run):
    """A rerun of stage 4 embeds nothing again and reproduces every number."""
    root, _ = recipe_run
    evaldir = root / "exp/eval_quick_embedded"
    cache = sorted((evaldir / "embeddings/cocochorales").glob("*.pt"))
    assert [p.stem for p in cache] == sorted(
        ["chroma_corr", "onset_corr"]
        + [f"{m}_quick_embedded" for m in ("cocola", "phalar", "phalar-avg")]
    )
    before = json.loads((evaldir / "final_metrics.json").read_text())["results"]
    options = "--stage 4 --stop_stage 4 --preset quick --embedded_flavour chorale"
    cmd = ["bash", "run.sh", *options.split(), "--python_path", sys.executable]
    out = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "scorers" not in out.stderr  # no embedding progress bar: everything came from cache
    assert json.loads((evaldir / "final_metrics.json").read_text())["results"] == before


def test_eval_names_an_unknown_model(tmp_path):
    evaluation = _load_module("stem_retrieval_eval", os.path.join(RECIPE, "eval.py"))
    for name in ("ConvTasNet", "NoSuchModel"):  # a separation model, an unregistered name
        torch.save({"model_name": name, "state_dict": {}}, tmp_path / "best_model.pth")
        with pytest.raises(
            ValueError, match=f"best_model.pth: .*holds '{name}', not a contrastive"
        ):
            evaluation.load_experiment(str(tmp_path), "cpu")


def test_recipe_paired_tests(recipe_run):
    root, _ = recipe_run
    final = json.loads((root / "exp/eval_quick_embedded/final_metrics.json").read_text())
    pairs = {(r["a"], r["b"]) for r in final["paired"]}
    learned = [f"{m}_quick_embedded" for m in ("cocola", "phalar", "phalar-avg")]
    for a in learned:
        assert {(a, "onset_corr"), (a, "chroma_corr")} <= pairs
    assert len(pairs & {(learned[0], learned[1]), (learned[1], learned[0])}) == 1  # once a pair
    for r in final["paired"]:
        assert 0.0 <= r["p_value"] <= 1.0 and r["a_only"] + r["b_only"] <= r["n_queries"]
    table = (root / "exp/eval_quick_embedded/results.md").read_text()
    assert "### Paired tests (same queries)" in table


def test_device_run_on_cpu_with_a_tiny_budget(recipe_run, tmp_path):
    """The prepared GPU script, end to end on the CPU: every output in one folder.

    It runs in the recipe run's folder, on its corpus and lists (same render settings), so
    stages 0 and 1 find everything done, as a rerun after a cut-off would.
    """
    root, _ = recipe_run
    out = tmp_path / "out"
    run_args = "--embedded_flavour chorale --embedded_seconds 6 --eval_use_gpu 0"
    cmd = ["bash", "local/device_run.sh", str(out), "--python", sys.executable, "--workers", "1"]
    cmd += ["--scratch", str(root), "--embedded_tracks", "13"]
    cmd += ["--train_minutes", "0.5", "--run_args", run_args, "--train_args", TINY]
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for name in (
        "best_model.pth",
        "conf.yml",
        "train_summary.json",
        "learning_curves.csv",
        "final_metrics.json",
        "results.md",
        "accuracy_vs_k.png",
        "train.log",
    ):
        assert (out / name).is_file(), name
    timings = json.loads((out / "timings.json").read_text())
    assert set(timings["step_seconds"]) == {"render", "lists", "train", "eval"}
    assert timings["global_step"] == 2 and timings["train_pairs_per_second"] > 0
    assert timings["device"] == "cpu" and timings["eval_clips_per_second"] > 0
    conf = (out / "conf.yml").read_text()
    assert "transpose_fraction: 0.5" in conf and "same_track_fraction: 0.5" in conf
    assert 'tracks_skipped": 13' in (out / "render.log").read_text()
