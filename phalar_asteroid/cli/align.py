"""``phalar align MIX STEM``: the time offset at which a stem fits a mix best.

One window of the mix is fixed (:data:`~phalar_asteroid.cli.audio.WINDOW_SECONDS`, or the whole
mix when shorter, placed where the stem is loudest) and the stem is shifted under it: for an
offset ``d`` the stem excerpt ``stem[t0 - d : t0 - d + window]`` (zero outside the file) is scored
against ``mix[t0 : t0 + window]`` with the symmetric similarity. A positive offset means the stem
must be delayed by ``d`` to fit (the mix plays its content ``d`` later), a negative one that it
must be advanced (e.g. a stem exported late). PHALAR carries timing in the phases of its pooled
components, so the score curve peaks near the right offset for a trained model.
"""

import numpy as np
import torch

from ..data.datasets.audio import SILENCE_DB
from .audio import load_audio, window_length
from .errors import CliError
from .model import embed_batches, load_model, require_min_length
from .output import atomic_output


def _window_energy(wav: np.ndarray, window: int) -> np.ndarray:
    """Sum of squares of every window ``wav[i : i + window]``."""
    cumulative = np.concatenate(([0.0], np.cumsum(np.square(wav, dtype=np.float64))))
    return cumulative[window:] - cumulative[:-window]


def offset_curve(model, mix, stem, max_offset: int, step: int, batch_size: int, names=None):
    """Scores of the stem shifted by every offset against one mix window.

    Args:
        model (ContrastiveEncoder): in eval mode.
        mix (np.ndarray): mix waveform at the model's rate.
        stem (np.ndarray): stem waveform at the model's rate.
        max_offset (int): largest offset in samples.
        step (int): offset step in samples.
        batch_size (int): windows per forward pass.
        names (tuple, optional): file names of the mix and the stem, for error messages.

    Returns:
        dict: ``offsets`` (samples, ascending), ``scores`` (NaN where the shifted stem window is
        silent), ``mix_start`` and ``window`` (samples).
    """
    mix_name, stem_name = names or ("the mix", "the stem")
    window = window_length(len(mix), int(model.sample_rate))
    floor = window * 10 ** (SILENCE_DB / 10)  # energy of a window at the silence floor
    mix_energy = _window_energy(mix, window)
    usable = mix_energy >= floor
    if not usable.any():
        raise CliError(f"{mix_name}: every window is near-silent (RMS below -60 dBFS)")
    # Place the mix window where the (unshifted) stem is loudest, among active mix windows.
    stem_energy = _window_energy(np.pad(stem, (0, max(0, len(mix) - len(stem)))), window)
    mix_start = int(np.argmax(np.where(usable, stem_energy[: len(usable)], -1.0)))

    n_steps = max_offset // step
    offsets = np.arange(-n_steps, n_steps + 1) * step
    pad = n_steps * step + window
    padded = np.pad(stem, (pad, pad + max(0, len(mix) - len(stem))))
    # The stem window for offset d starts at mix_start + pad - d in `padded`: the last offset
    # starts first, so take the starts in ascending order and reverse (views, no copy).
    last = mix_start + pad - offsets[-1]
    starts = slice(last, last + len(offsets) * step, step)
    clips = np.lib.stride_tricks.sliding_window_view(padded, window)[starts][::-1]
    active = _window_energy(padded, window)[starts][::-1] >= floor
    if not active.any():
        raise CliError(
            f"{stem_name}: every window is near-silent at the offsets scanned under the mix window"
        )

    mix_emb = embed_batches(model, mix[None, mix_start : mix_start + window], 1)
    stem_emb = embed_batches(model, clips, batch_size, desc="align")
    with torch.no_grad():
        scores = model.similarity_scores(mix_emb.expand_as(stem_emb), stem_emb, symmetric=True)
    scores = np.where(active, scores.double().numpy(), np.nan)
    return dict(offsets=offsets, scores=scores, mix_start=mix_start, window=window)


def _write_csv(path, offsets_s, scores):
    with atomic_output(path) as tmp:
        np.savetxt(
            tmp,
            np.column_stack((offsets_s, scores)),
            fmt="%.6f",
            delimiter=",",
            header="offset_seconds,score",
            comments="",
        )


def _write_plot(path, offsets_s, scores, best):
    import matplotlib  # only when a plot is asked for

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(offsets_s, scores, lw=1.2)
    ax.axvline(best, color="tab:red", ls="--", lw=1, label=f"best {best:+.3f} s")
    ax.set_xlabel("stem offset (s): positive = delay the stem")
    ax.set_ylabel("symmetric score")
    ax.legend(loc="best")
    fig.tight_layout()
    try:
        with atomic_output(path) as tmp:
            fig.savefig(tmp)
    except ValueError as err:  # unsupported image format
        raise CliError(f"--plot {path}: {err}") from None
    finally:
        plt.close(fig)


def run(args):
    if not args.step > 0 or not args.max_offset >= 0:
        raise CliError("--step must be positive and --max-offset non-negative")
    loaded = load_model(args.model, args.device)
    model = loaded.model
    rate = int(model.sample_rate)
    step = round(args.step * rate)
    if step < 1:
        raise CliError(f"--step {args.step} is below one sample at {rate} Hz")
    mix, stem = load_audio(args.mix, rate), load_audio(args.stem, rate)
    require_min_length(model, mix, args.mix)
    require_min_length(model, stem, args.stem)
    max_offset = round(args.max_offset * rate)
    names = (args.mix, args.stem)
    curve = offset_curve(model, mix, stem, max_offset, step, args.batch_size, names)
    offsets_s, scores = curve["offsets"] / rate, curve["scores"]
    best = int(np.nanargmax(scores))
    offset = offsets_s[best]
    action = "delay" if offset >= 0 else "advance"
    print(
        f"best offset {offset:+.3f} s (score {scores[best]:.4f}): {action} the stem by "
        f"{abs(offset):.3f} s to fit the mix"
    )
    start = curve["mix_start"] / rate
    print(
        f"scanned {offsets_s[0]:+.3f} … {offsets_s[-1]:+.3f} s in {step / rate:.3f} s steps "
        f"under the mix window {start:.2f}–{start + curve['window'] / rate:.2f} s"
    )
    if args.csv:
        _write_csv(args.csv, offsets_s, scores)
    if args.plot:
        _write_plot(args.plot, offsets_s, scores, offset)
