"""The installed ``phalar`` console script: entry point, exit status and message format."""

import os
import shutil
import subprocess
import sys


def phalar_executable():
    # pip install -e . puts the script beside the interpreter of the venv.
    path = os.path.join(os.path.dirname(sys.executable), "phalar")
    return path if os.path.exists(path) else shutil.which("phalar")


def test_console_script_reports_bad_input(audio, model_path):
    # One subprocess (several seconds of imports): a bad stem, so the exit status shows that
    # main()'s return value reaches the shell, and stderr shows one line without a traceback.
    done = subprocess.run(
        [phalar_executable(), "score", audio["mix"], "missing.wav", "--model", model_path],
        capture_output=True,
        text=True,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
        timeout=300,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == "phalar score: error: missing.wav: no such file\n"
