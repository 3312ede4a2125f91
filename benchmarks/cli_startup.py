"""Start-up of the ``phalar`` command: an old revision and this tree side by side, in one run.

Times three commands, each in a fresh interpreter, ``--runs`` times per tree, the two trees in
turn (median and maximum wall time, and the largest peak RSS of the process):

- ``phalar --help``;
- ``phalar score MISSING.wav x.wav``: the time until a mistyped path is reported;
- ``phalar score mix.wav stem.wav`` on two 10 s files (a synthetic song's drums and chords
  against its bass) with the shipped model, the calibration read from a warm cache (one
  untimed warm-up run per tree builds it).

Then one ``python -X importtime`` run of both ``score`` commands per tree: what they pay to
import torch, asteroid (with pytorch_lightning, torchmetrics, pystoi…), mirdata and smart_open
(the cumulative time of each package's outermost imports), and all modules together. The old
tree is ``git archive`` of ``--old`` (default: the commit before the start-up work; ``none``:
this tree only), unpacked into a temporary folder and put first on ``PYTHONPATH``, as this tree
is for the new figures. Both use the interpreter running this script.

Example::

    OMP_NUM_THREADS=1 python benchmarks/cli_startup.py --runs 5
"""

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

import numpy as np
import soundfile as sf

from phalar_asteroid.data.render.songs import synth_song

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: The last commit before the start-up work (model loaded before the inputs were checked).
OLD_REVISION = "7692723"
SR = 16000
CLI = "import sys; from phalar_asteroid.cli import main; sys.exit(main(sys.argv[1:]))"
GROUPS = {
    "torch": ("torch", "torchaudio", "torchvision", "functorch"),
    "asteroid": ("asteroid", "asteroid_filterbanks", "pytorch_lightning", "lightning_fabric")
    + ("torchmetrics", "torch_stoi", "pystoi"),
    "mirdata+smart_open": ("mirdata", "smart_open"),
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per command and tree")
    parser.add_argument("--old", default=OLD_REVISION, help="git revision to compare with, or none")
    return parser.parse_args()


def unpack(revision: str, folder: str) -> str:
    """``git archive`` of ``revision`` unpacked under ``folder``; returns its root."""
    tree = os.path.join(folder, "old")
    os.makedirs(tree)
    archive = subprocess.run(
        ["git", "-C", ROOT, "archive", "--format=tar", revision],
        check=True,
        capture_output=True,
    ).stdout
    with tempfile.TemporaryFile() as fhandle:
        fhandle.write(archive)
        fhandle.seek(0)
        with tarfile.open(fileobj=fhandle) as tar:
            tar.extractall(tree, filter="data")
    return tree


def run(tree: str, args: list, env: dict, importtime: bool = False):
    """Runs the CLI of ``tree``; returns (wall seconds, peak RSS in MB, exit status, stderr).

    The working directory is ``env["PHALAR_CACHE_DIR"]``'s parent, a folder without a package
    that would shadow ``PYTHONPATH`` (``sys.path[0]`` is the working directory under ``-c``).
    """
    command = [sys.executable] + (["-X", "importtime"] if importtime else []) + ["-c", CLI, *args]
    env = dict(env, PYTHONPATH=tree)
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        env=env,
        cwd=os.path.dirname(env["PHALAR_CACHE_DIR"]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, process.returncode, stderr


def import_groups(stderr: str) -> dict:
    """Import seconds by package group, from ``-X importtime`` output.

    A group's figure is the cumulative time of its outermost imports (those not nested in
    another import of the same group): what importing it costs, its own dependencies (scipy for
    asteroid, say) included. ``all`` is the sum of every module's self time.
    """
    lines = []
    for line in stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            self_us, cumulative_us, name = line[len("import time:") :].split("|")
            depth = len(name) - len(name.lstrip())
            lines.append((depth, int(self_us), int(cumulative_us), name.strip()))
    totals = dict.fromkeys(GROUPS, 0.0)
    totals["all"] = sum(self_us for _, self_us, _, _ in lines) / 1e6
    ancestors = []  # (depth, group) of the imports enclosing the current one
    for depth, _, cumulative_us, name in reversed(lines):  # parents before children
        while ancestors and ancestors[-1][0] >= depth:
            ancestors.pop()
        top = name.split(".")[0]
        group = next((g for g, packages in GROUPS.items() if top in packages), None)
        if group and group not in {g for _, g in ancestors}:
            totals[group] += cumulative_us / 1e6
        ancestors.append((depth, group))
    return totals


def main():
    options = parse_args()
    with tempfile.TemporaryDirectory() as folder:
        song = synth_song(np.random.default_rng(0), 10.0, SR)
        mix, stem = os.path.join(folder, "mix.wav"), os.path.join(folder, "stem.wav")
        sf.write(mix, song["drums"] + song["chords"], SR)
        sf.write(stem, song["bass"], SR)
        env = dict(os.environ, PHALAR_CACHE_DIR=os.path.join(folder, "cache"))
        env.setdefault("OMP_NUM_THREADS", "1")
        trees = {"new (this tree)": ROOT}
        if options.old != "none":
            trees = {f"old ({options.old})": unpack(options.old, folder), **trees}
        commands = {
            "phalar --help": ["--help"],
            "phalar score MISSING.wav x.wav (to the error)": ["score", "MISSING.wav", "x.wav"],
            "phalar score mix.wav stem.wav (10 s files)": ["score", mix, stem],
        }
        for tree in trees.values():  # warm-up: builds the calibration cache (shared: same model)
            _, _, status, err = run(
                tree, commands["phalar score mix.wav stem.wav (10 s files)"], env
            )
            assert status == 0, err
        print(
            f"{options.runs} runs each, OMP_NUM_THREADS={env['OMP_NUM_THREADS']}, load average "
            f"{os.getloadavg()[0]:.1f}"
        )
        print(f"{'command':<46}  {'tree':<18}  {'median':>8}  {'max':>8}  {'peak RSS':>9}")
        for name, args in commands.items():
            walls, peaks = {label: [] for label in trees}, {label: [] for label in trees}
            for _ in range(options.runs):  # old and new in turn: both see the same load
                for label, tree in trees.items():
                    wall, peak, status, err = run(tree, args, env)
                    assert status == (1 if "MISSING" in name else 0), err
                    walls[label].append(wall)
                    peaks[label].append(peak)
            for label in trees:
                print(
                    f"{name:<46}  {label:<18}  {statistics.median(walls[label]):>7.2f}s"
                    f"  {max(walls[label]):>7.2f}s  {max(peaks[label]):>6.0f} MB",
                    flush=True,
                )
        print("\nimport time by package (one `python -X importtime` run each; all: every module):")
        print(f"{'tree, command':<30}  " + "  ".join(f"{group:>18}" for group in [*GROUPS, "all"]))
        for label, tree in trees.items():
            for args in (
                commands["phalar score MISSING.wav x.wav (to the error)"],
                commands["phalar score mix.wav stem.wav (10 s files)"],
            ):
                _, _, _, err = run(tree, args, env, importtime=True)
                totals = import_groups(err)
                what = "missing file" if "MISSING.wav" in args else "10 s files"
                print(
                    f"{label + ', ' + what:<30}  "
                    + "  ".join(f"{totals[g]:>17.2f}s" for g in [*GROUPS, "all"])
                )


if __name__ == "__main__":
    main()
