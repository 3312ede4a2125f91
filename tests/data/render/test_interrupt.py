"""The renderer's command under Ctrl-C and a killed parent: workers stop, a rerun resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from render_fixtures import SEED, coco_tracks, slakh_tracks

#: Tracks of 1 s: enough that the corpus is far from done when the first track is.
N_TRACKS = 8


def session_processes(session: int) -> list[int]:
    """Live (not zombie) processes of a session, read from /proc."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path("/proc", entry, "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        state, sid = fields[0], int(fields[3])
        if sid == session and state != "Z":
            pids.append(int(entry))
    return pids


def wait_for(condition, timeout: float, step: float = 0.1) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def finished(out: Path) -> int:
    """Finished track folders of a native corpus."""
    return len(coco_tracks(out)) + len(slakh_tracks(out))


def render_command(out: Path) -> list[str]:
    """The renderer's command: the small corpus with 2 workers."""
    cmd = [sys.executable, "-m", "phalar_asteroid.data.render", "--out", str(out)]
    cmd += ["--n-tracks", str(N_TRACKS), "--seed", str(SEED), "--max-seconds", "1"]
    return cmd + ["--workers", "2"]


def default_sigint() -> None:
    """SIGINT's default action in a child, as a terminal's foreground job has it.

    Children inherit an ignored SIGINT (a shell starts its background jobs so, pytest among
    them), and Python then leaves Ctrl-C ignored.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_render(out: Path, stderr) -> subprocess.Popen:
    """The renderer's command in a session of its own (its own Ctrl-C process group)."""
    return subprocess.Popen(
        render_command(out),
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        text=True,
        start_new_session=True,
        preexec_fn=default_sigint,
    )


def test_ctrl_c_and_a_killed_parent_stop_the_workers_and_a_rerun_resumes(tmp_path):
    out = tmp_path / "corpus"
    # Ctrl-C: SIGINT to the whole process group once the first track is written.
    with open(tmp_path / "stderr_1", "w+") as stderr:
        render = start_render(out, stderr)
        assert wait_for(lambda: finished(out) >= 1 or render.poll() is not None, 180)
        assert render.poll() is None, "the corpus finished before the interrupt"
        os.killpg(render.pid, signal.SIGINT)
        assert render.wait(timeout=20) == 130  # before: a traceback after about 23 s
        assert wait_for(lambda: not session_processes(render.pid), 5), "workers survived"
        stderr.seek(0)
        errors = stderr.read()
    assert "Traceback" not in errors, errors
    done = finished(out)
    assert f"interrupted: {done} of {N_TRACKS} tracks done, rerun to resume" in errors
    assert errors.strip().splitlines()[-1].endswith("rerun to resume")
    assert 1 <= done < N_TRACKS

    # The parent killed outright (no cleanup of its own): the workers notice and exit.
    with open(tmp_path / "stderr_2", "w") as stderr:
        render = start_render(out, stderr)
        assert wait_for(lambda: finished(out) > done or render.poll() is not None, 180)
        assert render.poll() is None, "the corpus finished before the kill"
        os.kill(render.pid, signal.SIGKILL)
        render.wait(timeout=10)
        # Within 0.5 s of their start: a worker still importing when the parent died (seconds on
        # a loaded machine) exits as soon as its initializer runs.
        assert wait_for(lambda: not session_processes(render.pid), 30), "orphaned workers"

    # A rerun keeps the finished tracks, redoes any half-written one and completes the corpus.
    before = finished(out)
    rerun = subprocess.run(render_command(out), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    summary = json.loads(rerun.stdout)
    assert summary["tracks_skipped"] == before and summary["tracks_failed"] == 0
    assert summary["tracks_skipped"] + summary["tracks_rendered"] == N_TRACKS
    assert finished(out) == N_TRACKS
