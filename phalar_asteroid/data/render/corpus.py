"""Render the embedded corpus: real multi-part scores from music21, as multitrack audio datasets.

Usage::

    python -m phalar_asteroid.data.render --out DIR --n-tracks N --seed S \\
        [--flavour chorale|band|slow_band|all] [--layout native|moisesdb] [--workers 2] \\
        [--max-seconds T]

Chorale tracks (Bach chorales, Palestrina, Haydn and Mozart quartets, one stem per part) are
written in CocoChorales' layout, band tracks (the same harmony plus drums and electric bass) in
Slakh2100's, and so are ``slow_band`` tracks (band tracks whose harmony changes once every two
bars, :mod:`.harmony`; not part of ``all``); ``--layout moisesdb`` writes every track in
MoisesDB's layout instead. Every track carries exact beat, downbeat and chord annotations from
its score. Whole pieces are rendered, but long movements stop at the last barline that keeps the
track within 120 s; ``--max-seconds`` crops every track instead.

Tracks render in parallel processes. A track is written into a ``.tmp-*`` folder beside its final
folder (:func:`~phalar_asteroid.utils.io.atomic_output`) and renamed when complete, so an
interrupted run never leaves half a track; a re-run removes stale temporary folders and skips
finished tracks. The same arguments give the same bytes.

Ctrl-C cancels the tracks not started, terminates the workers at once and ends the command with
one line (``interrupted: N of M tracks done, rerun to resume``) and exit status 130. The workers
leave Ctrl-C to their parent, and each one exits by itself when its parent dies (killed
outright), so no worker outlives the run.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import logging
import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed

from tqdm import tqdm

from ...utils.io import TEMP_PREFIX, atomic_output
from .layouts import LAYOUTS, layout_roots, track_dir, write_track
from .plan import FLAVOURS, TrackPlan, plan_tracks
from .track import render_track

logger = logging.getLogger(__name__)

CONFIG_NAME = "render_config.json"
#: Seconds between two checks of a worker that its parent is still alive.
PARENT_POLL_SECONDS = 0.5
#: Seconds granted to a terminated worker to exit.
TERMINATE_SECONDS = 5.0


class RenderInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`render_corpus`, raised once the workers are stopped.

    Args:
        done: finished tracks of the corpus, earlier runs' included (what a rerun skips).
        planned: tracks of the corpus.
    """

    def __init__(self, done: int, planned: int):
        super().__init__(f"interrupted: {done} of {planned} tracks done, rerun to resume")
        self.done = done
        self.planned = planned


def render_corpus(
    out_dir: str | os.PathLike,
    n_tracks: int,
    seed: int,
    flavour: str = "all",
    layout: str = "native",
    workers: int = 2,
    max_seconds: float | None = None,
) -> dict:
    """Render (or complete) an embedded corpus.

    Args:
        out_dir: corpus root; created when missing.
        n_tracks: number of tracks in the corpus (finished ones are kept).
        seed: run seed; with the other arguments it fixes every byte of the output.
        flavour: ``"chorale"``, ``"band"``, ``"slow_band"`` or ``"all"`` (chorale and band
            alternating).
        layout: ``"native"`` (CocoChorales and Slakh layouts) or ``"moisesdb"``.
        workers: parallel processes; 1 renders in this process.
        max_seconds: crop every track to this length; None renders whole pieces (capped at
            ``track.MAX_PIECE_SECONDS``).

    Returns:
        Summary with ``tracks_planned``, ``tracks_rendered``, ``tracks_skipped`` (already
        finished), ``tracks_failed`` (pieces that could not be read or rendered),
        ``stale_temp_removed``, ``audio_seconds`` (rendered now) and ``wall_seconds``.

    Raises:
        NotADirectoryError: when ``out_dir`` exists and is not a folder.
        ValueError: on invalid arguments, or when ``out_dir`` holds a corpus rendered with
            another seed, flavour or crop.
        RenderInterrupted: on Ctrl-C (a ``KeyboardInterrupt``), once the workers are stopped;
            finished tracks are kept, so a rerun resumes.
    """
    started = time.perf_counter()
    out = os.fspath(out_dir)
    _check_arguments(n_tracks, flavour, layout, workers, max_seconds)
    if os.path.exists(out) and not os.path.isdir(out):
        raise NotADirectoryError(f"output path {out} exists and is not a directory")
    os.makedirs(out, exist_ok=True)
    _check_config(out, {"seed": seed, "flavour": flavour, "max_seconds": max_seconds})
    stale = _remove_stale_temps(out, layout)

    plans = plan_tracks(n_tracks, seed, flavour)
    pending = [(plan, track_dir(out, layout, plan)) for plan in plans]
    pending = [(plan, folder) for plan, folder in pending if not os.path.exists(folder)]
    summary = {
        "tracks_planned": len(plans),
        "tracks_rendered": 0,
        "tracks_skipped": len(plans) - len(pending),
        "tracks_failed": 0,
        "stale_temp_removed": stale,
        "audio_seconds": 0.0,
    }
    try:
        # closing: whatever stops the loop stops the workers before it propagates.
        with contextlib.closing(_run(pending, layout, max_seconds, workers)) as results:
            for ok, seconds, message in results:
                if ok:
                    summary["tracks_rendered"] += 1
                    summary["audio_seconds"] += seconds
                else:
                    summary["tracks_failed"] += 1
                    logger.warning("skipped a track: %s", message)
    except KeyboardInterrupt:
        # Counted on disk: a worker may have finished a track that was not reported yet.
        done = sum(os.path.exists(track_dir(out, layout, plan)) for plan in plans)
        raise RenderInterrupted(done, len(plans)) from None
    summary["audio_seconds"] = round(summary["audio_seconds"], 3)
    summary["wall_seconds"] = round(time.perf_counter() - started, 3)
    return summary


def _check_arguments(
    n_tracks: int, flavour: str, layout: str, workers: int, max_seconds: float | None
) -> None:
    """Reject arguments that cannot describe a corpus."""
    if n_tracks < 0:
        raise ValueError(f"n_tracks must be >= 0, got {n_tracks}")
    if flavour not in FLAVOURS + ("all",):
        raise ValueError(f"flavour must be one of {FLAVOURS + ('all',)}, got {flavour!r}")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if max_seconds is not None and max_seconds < 1.0:
        raise ValueError(f"max_seconds must be at least 1 second, got {max_seconds}")


def _check_config(out: str, config: dict) -> None:
    """Record the arguments that fix track contents; refuse to mix corpora in one folder.

    Track folder names do not encode the seed, flavour or crop, so completing a corpus with
    other values would silently mix two corpora.

    Args:
        out: corpus root.
        config: the arguments that fix track contents (seed, flavour, crop).

    Raises:
        ValueError: when ``out`` records other values.
    """
    path = os.path.join(out, CONFIG_NAME)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fhandle:
            recorded = json.load(fhandle)
        if recorded != config:
            raise ValueError(
                f"{out} holds a corpus rendered with {recorded} (see {path}), not {config}; "
                "use another output folder"
            )
    else:
        with open(path, "w", encoding="utf-8") as fhandle:
            fhandle.write(json.dumps(config, indent=2, sort_keys=True) + "\n")


def _remove_stale_temps(out: str, layout: str) -> int:
    """Delete temporary track folders left by an interrupted run.

    Args:
        out: corpus root.
        layout: ``"native"`` or ``"moisesdb"``.

    Returns:
        The number of folders deleted.
    """
    stale = [
        folder
        for root in layout_roots(out, layout)
        for folder in glob.glob(os.path.join(glob.escape(root), TEMP_PREFIX + "*"))
    ]
    for folder in stale:
        shutil.rmtree(folder)
    return len(stale)


def _run(
    pending: list[tuple[TrackPlan, str]], layout: str, max_seconds: float | None, workers: int
) -> Iterator[tuple[bool, float, str]]:
    """Render pending tracks, in this process or a pool, yielding ``_render_one`` results.

    Closing the generator early (Ctrl-C, an error) cancels the tracks not started and terminates
    the workers (:func:`_stop_pool`).
    """
    progress = tqdm(total=len(pending), desc="rendering", unit="track")
    try:
        if workers == 1 or len(pending) <= 1:
            for plan, folder in pending:
                yield _render_one(plan, folder, layout, max_seconds)
                progress.update()
            return
        # spawn: workers start clean instead of inheriting the caller's threads and state.
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init_worker, initargs=(os.getpid(),)
        )
        try:
            # The workers start here (one per submission, up to `workers`), and inherit an
            # ignored SIGINT: a Ctrl-C to the process group reaches this process only.
            with _sigint_ignored():
                futures = [
                    pool.submit(_render_one, plan, folder, layout, max_seconds)
                    for plan, folder in pending
                ]
            for future in as_completed(futures):
                yield future.result()
                progress.update()
        except BaseException:  # KeyboardInterrupt, GeneratorExit, an error of the pool
            _stop_pool(pool)
            raise
        pool.shutdown()
    finally:
        progress.close()


@contextlib.contextmanager
def _sigint_ignored():
    """Ignore SIGINT inside the block (in the main thread only, where signals are handled)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel the tracks not started and terminate the workers, without waiting for them.

    A track being written is left in its temporary folder, which the next run removes.
    """
    with _sigint_ignored():  # a second Ctrl-C must not interrupt the cleanup
        # The executor has no public handle on its processes; this is the documented attribute
        # of CPython's implementation since 3.2.
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(TERMINATE_SECONDS)


def _init_worker(parent: int) -> None:
    """Initializer of the pool's workers: Ctrl-C is the parent's, and the parent's death ends us.

    Args:
        parent: the parent's process id.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watchdog = threading.Thread(
        target=_exit_with_parent, args=(parent,), name="parent-watchdog", daemon=True
    )
    watchdog.start()


def _exit_with_parent(parent: int) -> None:
    """Exit this process at once when its parent has died (it is then reparented).

    Args:
        parent: the parent's process id.
    """
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)


def _render_one(
    plan: TrackPlan, folder: str, layout: str, max_seconds: float | None
) -> tuple[bool, float, str]:
    """Render one track into a temporary folder and move it into place.

    Args:
        plan: the track's plan.
        folder: the track's final folder.
        layout: ``"native"`` or ``"moisesdb"``.
        max_seconds: crop length, or None for the whole piece.

    Returns:
        ``(ok, audio_seconds, message)``; a piece that fails is reported, not raised, so one bad
        score never stops a run.
    """
    try:
        track = render_track(plan, max_seconds)
        with atomic_output(folder, folder=True) as temp:
            write_track(temp, track, layout, os.path.basename(folder))
        return True, track.seconds, ""
    except Exception as error:  # noqa: BLE001 - any failure of one piece is skipped and counted
        return False, 0.0, f"track {plan.index} ({plan.piece}): {type(error).__name__}: {error}"


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: render, then print the summary as JSON.

    Args:
        argv: arguments without the program name; None reads ``sys.argv``.

    Raises:
        SystemExit: 2 on bad arguments; 130 on Ctrl-C, after one line on stderr saying how many
            tracks are done.
    """
    parser = argparse.ArgumentParser(
        prog="python -m phalar_asteroid.data.render",
        description="Render the embedded multitrack corpus from music21's scores.",
    )
    parser.add_argument("--out", required=True, help="corpus root folder")
    parser.add_argument("--n-tracks", required=True, type=int, help="number of tracks")
    parser.add_argument("--seed", type=int, default=0, help="run seed (default 0)")
    parser.add_argument("--flavour", choices=FLAVOURS + ("all",), default="all")
    parser.add_argument("--layout", choices=LAYOUTS, default="native")
    parser.add_argument("--workers", type=int, default=2, help="parallel processes")
    parser.add_argument(
        "--max-seconds", type=float, default=None, help="crop every track to this length"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        summary = render_corpus(
            args.out,
            args.n_tracks,
            args.seed,
            flavour=args.flavour,
            layout=args.layout,
            workers=args.workers,
            max_seconds=args.max_seconds,
        )
    except (NotADirectoryError, ValueError) as error:
        parser.error(str(error))
    except RenderInterrupted as interrupted:
        print(interrupted, file=sys.stderr)
        raise SystemExit(130) from None
    json.dump(summary, sys.stdout, indent=2)
    sys.stdout.write("\n")
