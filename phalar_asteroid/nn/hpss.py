"""COCOLA's harmonic/percussive log-Mel features and their channel masks.

See docs/model.md#cocola-baseline and docs/model.md#cocola-channel-masks.
"""

import librosa
import numpy as np
import torch
from torch import nn

HARMONIC, PERCUSSIVE = 0, 1
MASK_MODES = ("both", "harmonic", "percussive", "random")
# Per-example draws of the "random" mode: zero channel 0, zero channel 1, or keep both.
ZERO_HARMONIC, ZERO_PERCUSSIVE, KEEP_BOTH = 0, 1, 2


class HPSSLogMel(nn.Module):
    r"""Two-channel log-Mel spectrogram of the harmonic and percussive parts of each clip.

    Per example, with librosa on the CPU as in the COCOLA reference: centred STFT (Hann,
    ``n_fft`` 1024, window 400, hop 160, librosa's default zero padding), median-filter HPSS on
    the complex STFT (kernel 31, soft masks), power Mel spectrogram of each component (Slaney
    scale and norm, 60–7800 Hz), then ``power_to_db(ref=max, top_db=80)`` per component, so
    every channel's maximum is 0 dB and its values lie in [-80, 0].

    Not differentiable (NumPy inside); the output is returned on the input's device. For the same
    reason it cannot be traced: a trace would freeze the features of the trace input as a
    constant, so tracing raises instead.

    Args:
        sample_rate (int): input rate.
        n_fft (int): FFT size.
        win_length (int): Hann window length.
        hop_length (int): hop in samples.
        n_mels (int): Mel bands per channel.
        f_min (float): lowest Mel frequency.
        f_max (float): highest Mel frequency.
        kernel_size (int): HPSS median-filter length (frames and bins).
        top_db (float): dynamic range kept below each channel's maximum.

    Shape:
        - Input: :math:`(batch, time)`, at least :attr:`min_samples` long
        - Output: :math:`(batch, 2, n\_mels, time // hop\_length + 1)`; channel 0 harmonic,
          channel 1 percussive
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        n_fft: int = 1024,
        win_length: int = 400,
        hop_length: int = 160,
        n_mels: int = 64,
        f_min: float = 60.0,
        f_max: float = 7800.0,
        kernel_size: int = 31,
        top_db: float = 80.0,
    ):
        super().__init__()
        self.n_fft = n_fft
        self.win_length = win_length
        self.hop_length = hop_length
        self.kernel_size = kernel_size
        self.top_db = top_db
        # A plain array, not a buffer: it is derived from the arguments, not learned state.
        self.mel_basis = librosa.filters.mel(
            sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=f_min, fmax=f_max
        )

    @property
    def min_samples(self) -> int:
        """Shortest input librosa analyses without its "n_fft too large" warning."""
        return self.n_fft

    def _log_mel(self, component: np.ndarray) -> np.ndarray:
        mel = self.mel_basis @ (np.abs(component) ** 2)
        return librosa.power_to_db(mel, ref=np.max, top_db=self.top_db)

    def features_one(self, wav: np.ndarray) -> np.ndarray:
        """Features of one clip.

        Args:
            wav (np.ndarray): ``(time,)`` float waveform.

        Returns:
            np.ndarray: ``(2, n_mels, frames)`` float32.
        """
        stft = librosa.stft(
            wav,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            win_length=self.win_length,
            window="hann",
            center=True,
        )
        harmonic, percussive = librosa.decompose.hpss(stft, kernel_size=self.kernel_size)
        return np.stack((self._log_mel(harmonic), self._log_mel(percussive))).astype(np.float32)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        if torch.jit.is_tracing():
            raise RuntimeError(
                "HPSSLogMel computes its features with librosa (NumPy), which a trace would "
                "record as a constant: trace COCOLA(features='mel'), or trace COCOLA on the "
                "4-d output of COCOLA.features()"
            )
        if wav.dim() != 2:
            raise ValueError(f"HPSSLogMel takes (batch, time), got shape {tuple(wav.shape)}")
        clips = wav.detach().to("cpu", torch.float32).numpy()
        out = np.stack([self.features_one(clip) for clip in clips])
        return torch.from_numpy(out).to(wav.device)


def draw_mask_choices(batch: int, generator: torch.Generator = None) -> torch.Tensor:
    """Per-example draws of the ``"random"`` mask, uniform over the three options.

    Draw once per pair and pass the same choices for anchor and positive, as COCOLA does.

    Args:
        batch (int): number of examples (pairs).
        generator (torch.Generator, optional): source of randomness.

    Returns:
        torch.Tensor: ``(batch,)`` int64 in {``ZERO_HARMONIC``, ``ZERO_PERCUSSIVE``,
        ``KEEP_BOTH``}.
    """
    return torch.randint(0, 3, (batch,), generator=generator)


def mask_channels(
    features: torch.Tensor,
    mode: str = "both",
    choices: torch.Tensor = None,
    generator: torch.Generator = None,
) -> torch.Tensor:
    r"""Zeroes the harmonic or percussive channel of HPSS features (a new tensor is returned).

    ``"harmonic"`` keeps the harmonic channel (zeroes channel 1), ``"percussive"`` keeps the
    percussive one (zeroes channel 0), ``"both"`` masks nothing and ``"random"`` applies one
    per-example draw of :func:`draw_mask_choices`. The masked channel is set to 0, as in the
    reference: with ``ref=max`` that is the *loudest* dB level, so the channel becomes a constant
    plane, not silence.

    Args:
        features (torch.Tensor): :math:`(batch, 2, n\_mels, frames)`.
        mode (str): one of :data:`MASK_MODES`.
        choices (torch.Tensor, optional): ``(batch,)`` draws for ``"random"`` (shared by an
            anchor and its positive); drawn here when omitted.
        generator (torch.Generator, optional): used when ``choices`` is drawn here.

    Returns:
        torch.Tensor: masked features, same shape.
    """
    if mode not in MASK_MODES:
        raise ValueError(f"mask mode must be one of {MASK_MODES}, got {mode!r}")
    if features.dim() != 4 or features.shape[1] != 2:
        raise ValueError(
            f"Channel masks need (batch, 2, n_mels, frames) features, got {tuple(features.shape)}"
        )
    if mode == "both":
        return features
    masked = features.clone()
    if mode == "harmonic":
        masked[:, PERCUSSIVE] = 0
    elif mode == "percussive":
        masked[:, HARMONIC] = 0
    else:
        if choices is None:
            choices = draw_mask_choices(len(features), generator)
        if choices.shape != (len(features),):
            raise ValueError(
                f"choices must have shape ({len(features)},), got {tuple(choices.shape)}"
            )
        choices = choices.to(features.device)
        masked[choices == ZERO_HARMONIC, HARMONIC] = 0
        masked[choices == ZERO_PERCUSSIVE, PERCUSSIVE] = 0
    return masked
