"""Every recipe's ``run.sh``: a real ``--help``, and bad option values refused before any work.

Each bad run uses ``--python_path false``: a run that got past the checks would print a stage
header and fail in ``false``, never start real work.
"""

import re
import subprocess

import pytest

# copy_recipe: a private copy of a recipe with utils/ resolved.
from test_beat_tracking import RECIPES, copy_recipe

#: Last stage of each recipe.
LAST_STAGE = {"stem_retrieval": 4, "beat_tracking": 5, "chord_probing": 4}


def declared_options(name: str) -> list:
    """The option names of a recipe: the variables declared above its parse_options.sh line."""
    names = []
    for line in (RECIPES / name / "run.sh").read_text().splitlines():
        if re.match(r"\. utils/parse_options\.sh", line):
            return names
        match = re.match(r"([A-Za-z_][A-Za-z0-9_]*)=", line)
        if match and match.group(1) != "help_message":
            names.append(match.group(1))
    raise AssertionError(f"{name}/run.sh does not source utils/parse_options.sh")


def run_sh(workdir, *args) -> subprocess.CompletedProcess:
    """``bash run.sh ARGS`` in a recipe copy."""
    return subprocess.run(
        ["bash", "run.sh", *map(str, args)], cwd=workdir, capture_output=True, text=True
    )


@pytest.mark.parametrize("name", sorted(LAST_STAGE))
def test_help_lists_every_option_with_default_and_description(tmp_path, name):
    recipe = copy_recipe(name, tmp_path)
    out = run_sh(recipe, "--help")
    assert out.returncode == 0 and not out.stderr, out.stderr
    assert out.stdout.startswith("Usage: ./run.sh")
    rows = {}
    for line in out.stdout.splitlines():
        match = re.match(r"  --(\w+)\s+(\S+)\s+(\S.*)$", line)
        if match:
            rows[match.group(1)] = (match.group(2), match.group(3))
    assert set(rows) == set(declared_options(name))
    assert rows["stage"][0] == "0" and rows["stop_stage"][0] == str(LAST_STAGE[name])
    assert rows["stage"][1].startswith("First stage to run")
    assert rows["tag"][0] == "''"  # empty defaults are shown as ''
    assert not (recipe / "logs").exists()


def model_args(name: str) -> list:
    """A model file for the downstream recipes, so that only the value under test stops a run."""
    return [] if name == "stem_retrieval" else ["--model_path", "run.sh"]


#: (extra arguments, option named in the error), for every recipe.
COMMON_BAD = [
    (["--stage", "x"], "--stage"),
    (["--stage", "-1"], "--stage"),
    (["--stage", "9"], "--stage"),
    (["--stop_stage", "9"], "--stop_stage"),
    (["--stage", "3", "--stop_stage", "1"], "--stop_stage"),
    (["--render_workers", "0"], "--render_workers"),
    (["--eval_use_gpu", "yes"], "--eval_use_gpu"),
    (["--tag", "a b"], "--tag"),
    (["--tag", "../x"], "--tag"),
    (["--python_path", "no-such-python-here"], "--python_path"),
    (["--stage", "1", "stray"], "'stray'"),
]
BAD = {
    "stem_retrieval": COMMON_BAD
    + [
        (["--preset", "nope"], "--preset"),
        (["--dataset", "nope"], "--dataset"),
        (["--data_dir", ""], "--data_dir"),
        (["--embedded_flavour", "chorales"], "--embedded_flavour"),
        (["--embedded_tracks", "1.5"], "--embedded_tracks"),
        (["--embedded_tracks", "0"], "--embedded_tracks"),
        (["--embedded_seconds", "0.5"], "--embedded_seconds"),
        (["--embedded_seconds", "ten"], "--embedded_seconds"),
        (["--n_queries", "0"], "--n_queries"),
        (["--val_queries", "x"], "--val_queries"),
        (["--same_track_queries", "-3"], "--same_track_queries"),
        (["--seeds", "0,a"], "--seeds"),
        (["--same_track_seeds", "0,"], "--same_track_seeds"),
        (["--same_track_ks", "1,8"], "--same_track_ks"),
        (["--protocols", "other-track,nope"], "--protocols"),
        (["--same_track", "maybe"], "--same_track"),
        (["--train_cocola", "yes"], "--train_cocola"),
        (["--strict", "no"], "--strict"),
        (["--ablations", "avg nope"], "--ablations"),
        (["--devices", "x"], "--devices"),
        (["--devices", "0"], "--devices"),
        (["--num_nodes", "0"], "--num_nodes"),
    ],
    "beat_tracking": COMMON_BAD
    + [
        (["--n_tracks", "0"], "--n_tracks"),
        (["--max_seconds", "0.5"], "--max_seconds"),
        (["--render_seed", "-1"], "--render_seed"),
        (["--split", "validation"], "--split"),
        (["--split", "all,train"], "--split"),
        (["--bpm_min", "0"], "--bpm_min"),
        (["--bpm_min", "200", "--bpm_max", "100"], "--bpm_max"),
        (["--hop_seconds", "0"], "--hop_seconds"),
        (["--hop_seconds", "x"], "--hop_seconds"),
        (["--batch_size", "0"], "--batch_size"),
        (["--data_root", ""], "--data_root"),
    ],
    "chord_probing": COMMON_BAD
    + [
        (["--n_tracks", "x"], "--n_tracks"),
        (["--max_seconds", "0"], "--max_seconds"),
        (["--split", "train,nope"], "--split"),
        (["--hop_seconds", "-0.02"], "--hop_seconds"),
        (["--batch_size", "1.5"], "--batch_size"),
        (["--n_folds", "1"], "--n_folds"),
        (["--epochs", "0"], "--epochs"),
        (["--data_root", ""], "--data_root"),
    ],
}
CASES = [(name, args, option) for name, cases in sorted(BAD.items()) for args, option in cases]


@pytest.mark.parametrize("name, args, option", CASES)
def test_bad_value_stops_before_any_work(tmp_path, name, args, option):
    recipe = copy_recipe(name, tmp_path)
    out = run_sh(recipe, "--python_path", "false", *model_args(name), *args)
    assert out.returncode == 1, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and option in lines[0], out.stderr
    assert out.stdout == ""
    assert not any((recipe / folder).exists() for folder in ("logs", "data", "exp"))


@pytest.mark.parametrize("name, stage", [("beat_tracking", 4), ("chord_probing", 3)])
def test_downstream_recipes_need_a_model_before_any_work(tmp_path, name, stage):
    recipe = copy_recipe(name, tmp_path)
    for first in (0, stage):  # the model is checked up front when a stage in range needs it
        out = run_sh(recipe, "--python_path", "false", "--stage", first)
        lines = out.stderr.strip().splitlines()
        assert out.returncode == 1 and len(lines) == 1 and "--model_path" in lines[0], out.stderr
        assert out.stdout == "" and not (recipe / "logs").exists()
    # Stages before the model's need none.
    out = run_sh(recipe, "--python_path", "false", "--stage", 0, "--stop_stage", stage - 1)
    assert "--model_path" not in out.stderr


#: (recipe, arguments, option named in the error) of a stage whose data is missing.
MISSING_DATA = [
    ("stem_retrieval", ["--dataset", "moisesdb"], "--moisesdb_root"),
    ("stem_retrieval", ["--dataset", "slakh", "--slakh_root", "/no/such/root"], "--slakh_root"),
    (
        "stem_retrieval",
        ["--dataset", "mixed", "--slakh_root", ".", "--moisesdb_root", "."],
        "--cocochorales_root",
    ),
    ("stem_retrieval", [], "--data_dir"),  # the embedded corpus has not been rendered
    ("beat_tracking", ["--gtzan_root", "/no/such/root"], "--gtzan_root"),
    ("beat_tracking", ["--data_root", "/no/such/root"], "--data_root"),
    ("chord_probing", ["--guitarset_root", "/no/such/root"], "--guitarset_root"),
    ("chord_probing", ["--data_root", "/no/such/root"], "--data_root"),
]


@pytest.mark.parametrize("name, args, option", MISSING_DATA)
def test_stage_1_checks_its_data_roots(tmp_path, name, args, option):
    recipe = copy_recipe(name, tmp_path)
    args = ["--stage", 1, "--stop_stage", 1, "--python_path", "false", *args]
    out = run_sh(recipe, *model_args(name), *args)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 1 and len(lines) == 1 and option in lines[0], out.stderr
    assert "Traceback" not in out.stderr and "Stage 1" not in out.stdout
