"""How well generated stems fit their mixes, as a torchmetrics ``Metric`` with fixed preprocessing.

The score of one (mix, stem) pair is the one ``phalar score`` prints
(:func:`~phalar_asteroid.inference.score.score_waveforms`); this module only conditions tensors
the way :func:`~phalar_asteroid.inference.audio.load_audio` conditions files, keeps the per-pair
scores as torchmetrics list states and summarises them. See docs/metrics.md.
"""

import numpy as np
import scipy.stats
import torch
import torchaudio
from torchmetrics import Metric
from torchmetrics.utilities.data import dim_zero_cat
from torchmetrics.utilities.distributed import gather_all_tensors

from ..inference.audio import HOP_SECONDS, WINDOW_SECONDS
from ..inference.calibration import load_calibration, percentile
from ..inference.model import LoadedModel, load_model
from ..inference.score import score_waveforms

#: The checkpoint scored with when none is given.
DEFAULT_MODEL = "phalar-embedded"
#: Quantiles that :meth:`StemCoherence.compute` reports (linear interpolation, numpy's default).
QUANTILES = {"q25": 0.25, "median": 0.5, "q75": 0.75}


def _check_rate(sample_rate, name: str) -> int:
    """``sample_rate`` as an int; ValueError naming ``name`` unless it is a positive integer."""
    try:
        rate = float(sample_rate)
    except (TypeError, ValueError):
        rate = float("nan")
    if isinstance(sample_rate, (bool, str)) or not rate.is_integer() or rate <= 0:
        raise ValueError(
            f"{name}: a sample rate is a positive whole number of Hz, got {sample_rate!r}"
        )
    return int(rate)


def _mono_batch(audio, name: str) -> torch.Tensor:
    """A batch of waveforms as float32 ``(batch, time)`` on the CPU, channels averaged.

    Args:
        audio (torch.Tensor): ``(batch, time)`` or ``(batch, channels, time)``.
        name (str): the argument's name, for error messages.

    Raises:
        TypeError: not a floating-point tensor.
        ValueError: another rank, an empty batch or no samples.
    """
    if not torch.is_tensor(audio) or not audio.is_floating_point():
        kind = f"a {audio.dtype} tensor" if torch.is_tensor(audio) else type(audio).__name__
        raise TypeError(f"{name}: expected a floating-point torch.Tensor of samples, got {kind}")
    if audio.dim() not in (2, 3):
        raise ValueError(
            f"{name}: expected (batch, time) or (batch, channels, time), got shape "
            f"{tuple(audio.shape)}"
        )
    if audio.shape[0] == 0 or audio.shape[-1] == 0:
        raise ValueError(f"{name}: no audio (shape {tuple(audio.shape)})")
    audio = audio.detach().to("cpu", torch.float32)
    # The downmix of load_audio: the arithmetic mean of the channels.
    return audio.mean(dim=1) if audio.dim() == 3 else audio


class StemCoherence(Metric):
    r"""Coherence of generated stems with their mixes: PHALAR's score, windowed and summarised.

    Each ``update`` scores every (mix, generated stem) pair of a batch as ``phalar score`` scores
    two files, after this fixed preprocessing, so that two labs with the same checkpoint report
    the same number:

    1. **Mono**: a ``(batch, channels, time)`` tensor is averaged over its channels (the
       arithmetic mean, as :func:`~phalar_asteroid.inference.audio.load_audio` downmixes files);
       ``(batch, time)`` is taken as mono.
    2. **Rate**: audio at ``sample_rate`` is resampled to the model's rate (16 kHz for the
       shipped checkpoint) with ``torchaudio.functional.resample(wav, sample_rate, model_rate)``
       and its defaults (windowed sinc, Hann window, ``lowpass_filter_width=6``,
       ``rolloff=0.99``), one pair item at a time, in float32.
    3. **No normalisation**: samples are scored at the level they have (the model was trained on
       loudness-normalised stems and un-normalised sums of them).
    4. **Windows**: mix and stem, of equal length, are cut into windows of
       :data:`~phalar_asteroid.inference.audio.WINDOW_SECONDS` (10 s) every
       :data:`~phalar_asteroid.inference.audio.HOP_SECONDS` (5 s); a tail shorter than a hop
       after the last full window is dropped. A pair shorter than one window is scored once, as
       a single window of its own length (no padding), as ``phalar score`` does; a pair shorter
       than the model's minimum input (4,097 samples at 16 kHz for the shipped model's CQT)
       is refused.
    5. **Silence**: windows with RMS below -60 dBFS are skipped; the pair's score is the mean,
       over the windows active in both mix and stem, of the symmetric (Hermitian) score
       :math:`s_H(a, b) = \tfrac12 (s(a, b) + s(b, a))`. A pair with no such window (a silent
       generated stem, say) is refused, never scored as 0 or dropped: catch the ``ValueError``
       to count such failures yourself.
    6. **Checkpoint**: report :attr:`fingerprint` (SHA-256 of the checkpoint file) with the
       numbers; :meth:`report` puts both, with these settings, in one dict.

    :meth:`compute` summarises the per-pair scores: mean, its 95 % Student-t interval, standard
    deviation, quartiles, range, count, windows scored, and the mean percentile of the scores
    among the built-in random (mismatched) pairs of
    :mod:`~phalar_asteroid.inference.calibration`, as ``phalar score`` prints it (50 is what
    unrelated stems get on average; near 100 means the stems fit as well as the true ones).

    Per-pair scores are list states reduced by concatenation, so under DDP ``compute`` returns
    what one process would on all the pairs, also when some processes scored nothing (a short
    last shard): they take part in the gather with empty states.

    The model is not a child module: it is neither in the metric's ``state_dict`` nor moved,
    cast or put in train mode with it, and it runs in eval mode without gradients.

    Args:
        sample_rate (int): the rate of the audio passed to :meth:`update`, in Hz.
        model (str or LoadedModel): a checkpoint (a path, a shipped name, a URL or a hub id, as
            :func:`~phalar_asteroid.inference.model.load_model` takes) or an already loaded
            one (put in eval mode); the shipped ``phalar-embedded`` by default.
        device (str or torch.device, optional): where the model runs when loaded from a name;
            cuda when available by default. The metric's states follow the metric's own device.
        batch_size (int): windows per forward pass.
        calibrate (bool): report ``mean_percentile`` (built, then cached, on the first
            :meth:`compute` of a checkpoint: 64 clips embedded); NaN when False.
        **kwargs: torchmetrics' ``Metric`` options (``sync_on_compute``, ``process_group``, …).

    Example:
        >>> from phalar_asteroid.metrics import StemCoherence
        >>> coherence = StemCoherence(sample_rate=44100)
        >>> for mix, generated in loader:  # (batch, time) or (batch, channels, time) tensors
        ...     coherence.update(mix, generated)
        >>> coherence.compute()["mean"]
        >>> coherence.report()  # floats, the checkpoint's SHA-256 and the preprocessing
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(
        self,
        sample_rate: int,
        model=DEFAULT_MODEL,
        device=None,
        batch_size: int = 16,
        calibrate: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.sample_rate = _check_rate(sample_rate, "sample_rate")
        if batch_size < 1:
            raise ValueError(f"batch_size: must be at least 1, got {batch_size}")
        self.batch_size, self.calibrate = batch_size, calibrate
        loaded = model if isinstance(model, LoadedModel) else load_model(model, device)
        loaded.model.eval()
        # A dataclass attribute, not a Module one: nn.Module does not register the model as a
        # child, so the metric's state_dict, .to(), .half() and .train() leave it alone.
        self._loaded = loaded
        self._calibration = None
        self.add_state("scores", default=[], dist_reduce_fx="cat")
        self.add_state("n_windows", default=[], dist_reduce_fx="cat")

    @property
    def model(self):
        """The scoring model (eval mode)."""
        return self._loaded.model

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the checkpoint file: report it with the numbers."""
        return self._loaded.fingerprint

    @property
    def checkpoint(self) -> str:
        """The checkpoint file."""
        return self._loaded.path

    def _at_model_rate(self, mono: torch.Tensor, name: str) -> torch.Tensor:
        """Mono ``(batch, time)`` at the model's rate (step 2), NaN/Inf refused."""
        if not torch.isfinite(mono).all():
            row = int((~torch.isfinite(mono)).any(dim=1).nonzero()[0])
            raise ValueError(f"{name}[{row}]: NaN or Inf samples")
        model_rate = int(self.model.sample_rate)
        if self.sample_rate == model_rate:
            return mono
        return torch.stack(
            [torchaudio.functional.resample(row, self.sample_rate, model_rate) for row in mono]
        )

    def update(self, mix: torch.Tensor, generated_stem: torch.Tensor, sample_rate=None) -> None:
        """Scores each generated stem against its mix (nothing is kept if one pair fails).

        Args:
            mix (torch.Tensor): the mixes (or partial mixes) the stems were generated for.
            generated_stem (torch.Tensor): the stems, as long as the mixes.
            sample_rate (int, optional): the rate of both; must be the metric's ``sample_rate``
                (a check for pipelines that carry the rate with the audio).

        Shape:
            - mix: ``(batch, time)`` or ``(batch, channels, time)``.
            - generated_stem: ``(batch, time)`` or ``(batch, channels, time)``; the channel
              counts of the two may differ.

        Raises:
            TypeError: not floating-point tensors.
            ValueError: another sample rate, shapes whose batch or length differ, NaN/Inf
                samples, a pair shorter than the model's minimum or with no window active in
                both (the message names the argument and the row).
        """
        if sample_rate is not None and _check_rate(sample_rate, "sample_rate") != self.sample_rate:
            raise ValueError(
                f"sample_rate: got {sample_rate} Hz audio, but this metric was built for "
                f"{self.sample_rate} Hz: build one with sample_rate={sample_rate}"
            )
        mixes, stems = _mono_batch(mix, "mix"), _mono_batch(generated_stem, "generated_stem")
        if mixes.shape != stems.shape:
            raise ValueError(
                f"generated_stem: shape {tuple(generated_stem.shape)} does not match mix "
                f"{tuple(mix.shape)}: pass one stem per mix, of the mix's length"
            )
        mixes = self._at_model_rate(mixes, "mix")
        stems = self._at_model_rate(stems, "generated_stem")
        pairs = [
            score_waveforms(
                self.model,
                m.numpy(),
                s.numpy(),
                self.batch_size,
                (f"mix[{row}]", f"generated_stem[{row}]"),
            )
            for row, (m, s) in enumerate(zip(mixes, stems))
        ]
        self.scores.append(
            torch.tensor([p.score for p in pairs], dtype=torch.float64, device=self.device)
        )
        self.n_windows.append(torch.tensor([p.n_windows for p in pairs], device=self.device))

    def _sync_dist(self, dist_sync_fn=gather_all_tensors, process_group=None) -> None:
        """torchmetrics' gather, with an empty tensor standing in for an empty list state.

        torchmetrics gathers nothing for an empty list, so a process that scored no pair would
        skip the collective calls that the others wait in; an empty tensor of the state's dtype
        joins them and adds no row.
        """
        for name, dtype in (("scores", torch.float64), ("n_windows", torch.int64)):
            if not getattr(self, name):
                setattr(self, name, [torch.zeros(0, dtype=dtype, device=self.device)])
        super()._sync_dist(dist_sync_fn, process_group)

    def calibration(self) -> np.ndarray:
        """Sorted scores of the checkpoint's random pairs (built or read from the cache once)."""
        if self._calibration is None:
            self._calibration = load_calibration(self._loaded, self.batch_size)
        return self._calibration

    def compute(self) -> dict:
        """Summary of every pair scored since the last reset (on all processes).

        Returns:
            dict: float64 scalar tensors ``mean``, ``ci95_low`` and ``ci95_high`` (Student-t
            interval of the mean; NaN for one pair), ``std`` (n - 1 denominator), ``q25``,
            ``median``, ``q75``, ``min``, ``max``, ``mean_percentile`` (NaN without
            calibration), and int64 ``count`` (pairs) and ``n_windows`` (windows averaged, all
            pairs together).

        Raises:
            ValueError: no pair was scored.
        """
        scores = dim_zero_cat(self.scores).double().cpu() if len(self.scores) else []
        count = len(scores)
        if count == 0:
            raise ValueError("StemCoherence.compute: no pair scored yet: call update() first")
        mean = scores.mean()
        std = scores.std() if count > 1 else torch.tensor(float("nan"), dtype=torch.float64)
        low, high = scipy.stats.t.interval(
            0.95, df=max(count - 1, 1), loc=float(mean), scale=float(std) / count**0.5
        )
        quantiles = torch.quantile(
            scores, torch.tensor(list(QUANTILES.values()), dtype=torch.float64)
        )
        ranks = percentile(self.calibration(), scores.numpy()) if self.calibrate else np.nan
        return {
            "mean": mean,
            "ci95_low": torch.tensor(low, dtype=torch.float64),
            "ci95_high": torch.tensor(high, dtype=torch.float64),
            "std": std,
            **dict(zip(QUANTILES, quantiles)),
            "min": scores.min(),
            "max": scores.max(),
            "count": torch.tensor(count),
            "n_windows": dim_zero_cat(self.n_windows).sum().cpu(),
            "mean_percentile": torch.tensor(np.mean(ranks), dtype=torch.float64),
        }

    def report(self) -> dict:
        """:meth:`compute` as plain numbers, with what a reader needs to reproduce them.

        Returns:
            dict: ``stem_coherence`` (the summary as floats and ints), ``model`` (checkpoint
            file), ``model_sha256``, ``sample_rate`` (of the input), ``model_sample_rate``,
            ``window_seconds``, ``hop_seconds``, ``n_random_pairs`` (0 without calibration).
        """
        summary = {k: v.item() for k, v in self.compute().items()}
        return {
            "stem_coherence": summary,
            "model": self.checkpoint,
            "model_sha256": self.fingerprint,
            "sample_rate": self.sample_rate,
            "model_sample_rate": int(self.model.sample_rate),
            "window_seconds": WINDOW_SECONDS,
            "hop_seconds": HOP_SECONDS,
            "n_random_pairs": len(self.calibration()) if self.calibrate else 0,
        }
