"""Start-up: bad inputs and destinations are reported before torch is imported or a model loads,
and the inference chain does not import the dataset loaders (mirdata, smart_open)."""

import json
import os
import subprocess
import sys
import textwrap

import phalar_asteroid

# Runs in a fresh interpreter: every call must fail with one line, and none may import torch.
CHECKS = textwrap.dedent(
    """
    import contextlib, io, json, sys
    from phalar_asteroid.cli import main

    results = []
    for args in json.loads(sys.argv[1]):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                status = main(args)
            except SystemExit as stop:  # --help
                status = stop.code
        results.append([status, err.getvalue()])
    heavy = ("torch", "torchaudio", "asteroid", "mirdata", "smart_open", "pytorch_lightning")
    print(json.dumps(dict(results=results, imported=[m for m in heavy if m in sys.modules])))
    """
)


def run_python(code, *args, cwd):
    """Runs ``python -c code`` on the package under test (not one that ``cwd`` would shadow it
    with); returns the JSON of its last line of output."""
    root = os.path.dirname(os.path.dirname(phalar_asteroid.__file__))
    path = os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH"))))
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=path),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_bad_inputs_are_reported_without_importing_torch(audio, tmp_path):
    good, folder = audio["bass1"], os.path.dirname(audio["bass1"])
    (tmp_path / "text.wav").write_text("not audio")
    text = str(tmp_path / "text.wav")
    calls = {
        # (arguments, what the one-line message must say)
        "help": (["--help"], None),
        "score": (
            ["score", "missing.wav", "other.wav"],
            "phalar score: error: missing.wav: no such file",
        ),
        "score stem": (["score", good, "missing.wav"], "missing.wav: no such file"),
        "score text": (["score", good, text], "not a readable audio file"),
        "score folder": (["score", folder, good], "is a folder, not an audio file"),
        "embed": (["embed", good, "missing.wav", "--out", str(tmp_path / "e.npz")], "missing.wav"),
        "embed out": (["embed", good, "--out", str(tmp_path)], "--out"),
        "align": (["align", "missing.wav", good], "missing.wav: no such file"),
        "align csv": (["align", good, good, "--csv", folder], "is a folder"),
        "search": (["search", "missing.wav", "--library", str(tmp_path)], "missing.wav"),
        "search lib": (["search", good, "--library", str(tmp_path)], "not a stem library"),
        "index": (["index", str(tmp_path / "nowhere"), "--out", "x.lib"], "not a directory"),
        "index out": (["index", folder, "--out", str(tmp_path)], "not a stem library"),
        "pairs": (["score", "--pairs", str(tmp_path / "no.csv")], "no.csv"),
    }
    out = run_python(CHECKS, json.dumps([args for args, _ in calls.values()]), cwd=tmp_path)
    assert out["imported"] == []  # neither torch nor the dataset loaders
    for (name, (_, message)), (status, err) in zip(calls.items(), out["results"]):
        if message is None:
            assert status == 0 and err == "", name
            continue
        assert status == 1 and err.count("\n") == 1 and "Traceback" not in err, (name, err)
        assert message in err, (name, err)
    assert os.listdir(tmp_path) == ["text.wav"]  # nothing written


def test_inference_does_not_import_the_dataset_loaders(tmp_path):
    code = textwrap.dedent(
        """
        import json, sys
        import phalar_asteroid.cli.score, phalar_asteroid.cli.align, phalar_asteroid.cli.index
        import phalar_asteroid.inference.library
        no_torch = "torch" not in sys.modules
        from phalar_asteroid.inference import align, embedding, model, score
        print(json.dumps([no_torch, [m for m in ("mirdata", "smart_open") if m in sys.modules]]))
        """
    )
    no_torch, loaders = run_python(code, cwd=tmp_path)
    assert no_torch and loaders == []
