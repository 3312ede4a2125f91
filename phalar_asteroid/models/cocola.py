"""COCOLA, the baseline: HPSS log-Mel → EfficientNet-B0 → bilinear similarity.

See docs/model.md#cocola-baseline.
"""

from functools import partial

import torch
from torch import nn

from ..nn.frontend import MelFrontend
from ..nn.hpss import MASK_MODES, HPSSLogMel, mask_channels
from ..nn.similarity import COCOLASimilarity
from .base import ContrastiveEncoder, mono_batch

FEATURES = ("hpss", "mel")
EFFICIENTNET_B0_CHANNELS = 1280
STEM_CHANNELS = 32


def efficientnet_b0_features(in_channels: int, stochastic_depth: float) -> nn.Sequential:
    """EfficientNet-B0 without its classifier, from scratch, with an ``in_channels`` stem.

    torchvision's implementation, with efficientnet_pytorch's BatchNorm settings (momentum 0.01
    in PyTorch terms, eps 1e-3) so training dynamics match the COCOLA reference.

    Args:
        in_channels (int): input channels (2 for HPSS, 1 for Mel).
        stochastic_depth (float): largest drop-connect rate, ramped linearly over the blocks.

    Returns:
        nn.Sequential: ``(batch, in_channels, H, W) -> (batch, 1280, ~H/32, ~W/32)``.
    """
    from torchvision.models import efficientnet_b0

    net = efficientnet_b0(
        weights=None,
        stochastic_depth_prob=stochastic_depth,
        norm_layer=partial(nn.BatchNorm2d, eps=1e-3, momentum=0.01),
    )
    features = net.features
    stem = nn.Conv2d(in_channels, STEM_CHANNELS, 3, stride=2, padding=1, bias=False)
    # torchvision's own initialisation of every other convolution.
    nn.init.kaiming_normal_(stem.weight, mode="fan_out")
    features[0][0] = stem
    return features


class COCOLA(ContrastiveEncoder):
    r"""COCOLA baseline: HPSS log-Mel features, EfficientNet-B0 from scratch, bilinear similarity.

    ``features → EfficientNet-B0 (no top) → global average pooling → Dropout → Linear(1280, 512)``
    gives the embedding; :class:`~phalar_asteroid.nn.similarity.COCOLASimilarity` scores
    :math:`\tanh(\mathrm{LN}(x))^T W \tanh(\mathrm{LN}(y))`. The LayerNorm and tanh that the
    reference applies at the end of its encoder live in the similarity here, so :meth:`embed`
    returns the Linear output.

    **Parameters: exactly 4,926,300** with HPSS input, equal to the reference's count:
    EfficientNet-B0 features with a 2-channel stem 4,007,260, Linear 655,872, LayerNorm 1,024,
    W 262,144. The Mel variant (1-channel stem) has 4,926,012.

    The backbone is torchvision's EfficientNet-B0 (maintained, pinned with torch), not
    efficientnet_pytorch 0.7.1 as in the reference. Same blocks, widths, SiLU, squeeze-excitation
    and parameter count; the differences:

    - Padding: torchvision pads every convolution symmetrically by ``(k - 1) // 2``;
      efficientnet_pytorch uses static TensorFlow "same" padding computed for 224-pixel images,
      which pads stride-2 convolutions asymmetrically (the extra row/column at the bottom/right)
      whatever the real input size. Feature maps may differ by one row or column (e.g. 251 vs
      250 frames after the stem for 501 input frames), so reference weights cannot be loaded
      unchanged.
    - BatchNorm: set here to the reference's momentum 0.01 and eps 1e-3 (torchvision's defaults
      are 0.1 and 1e-5), so the running statistics move as slowly as in the reference.
    - Initialisation: torchvision's (Kaiming-normal fan-out convolutions, the stem included;
      uniform Linear) instead of PyTorch's layer defaults in efficientnet_pytorch.
    - Stochastic depth: identical (block ``i`` of 16 drops its residual branch per example with
      rate ``0.2 * i / 16``).

    Channel masks (HPSS only): ``channel_mode`` (``"both"`` by default, the evaluation mode;
    ``"harmonic"`` or ``"percussive"``) is applied on every call. For training with COCOLA's
    ``RANDOM`` mode, draw :func:`~phalar_asteroid.nn.hpss.draw_mask_choices` once per pair and
    pass the choices of anchors and positives to :meth:`forward` (``mask_choices``).

    Args:
        sample_rate (int): input rate (16 kHz).
        features (str): ``"hpss"`` (two channels, the released model) or ``"mel"`` (torchaudio
            power Mel, HTK scale, to dB without a floor; one channel).
        n_mels (int): Mel bands per channel.
        embed_dim (int): embedding size.
        dropout (float): dropout before the projection.
        stochastic_depth (float): EfficientNet's largest drop-connect rate.
        channel_mode (str): ``"both"``, ``"harmonic"`` or ``"percussive"`` (HPSS only).

    Attributes:
        feature_channels (int): channels of the features (2 for HPSS, 1 for Mel); Asteroid's
            ``in_channels`` stays BaseModel's count of audio channels, 1 (mono).

    Shape:
        - Input of ``forward``: waveforms :math:`(batch, time)` or :math:`(batch, 1, time)`
          (validated, 16 kHz, at least :attr:`min_samples`) or features
          :math:`(batch, channels, n\_mels, frames)` from :meth:`features`. A trace from
          waveforms takes waveforms of either rank; with HPSS features, tracing raises (see
          :class:`~phalar_asteroid.nn.hpss.HPSSLogMel`).
        - Output of ``forward``: :math:`(batch, embed\_dim)`.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        features: str = "hpss",
        n_mels: int = 64,
        embed_dim: int = 512,
        dropout: float = 0.1,
        stochastic_depth: float = 0.2,
        channel_mode: str = "both",
    ):
        super().__init__(sample_rate=sample_rate)
        if features not in FEATURES:
            raise ValueError(f"features must be one of {FEATURES}, got {features!r}")
        self.model_args = dict(
            sample_rate=int(sample_rate),
            features=features,
            n_mels=int(n_mels),
            embed_dim=int(embed_dim),
            dropout=float(dropout),
            stochastic_depth=float(stochastic_depth),
            channel_mode=channel_mode,
        )
        self.n_mels = int(n_mels)
        if features == "hpss":
            self.frontend = HPSSLogMel(sample_rate, n_mels=n_mels)
            self.feature_channels = 2
        else:
            import torchaudio

            # COCOLA's Mel variant: same STFT and band edges as the HPSS features.
            self.frontend = nn.Sequential(
                MelFrontend(sample_rate, n_mels=n_mels, hop_length=160),
                torchaudio.transforms.AmplitudeToDB(stype="power", top_db=None),
            )
            self.feature_channels = 1
        self.channel_mode = channel_mode
        self.encoder = efficientnet_b0_features(self.feature_channels, stochastic_depth)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.projection = nn.Linear(EFFICIENTNET_B0_CHANNELS, embed_dim)
        self.similarity = COCOLASimilarity(embed_dim)

    @property
    def channel_mode(self) -> str:
        """Fixed channel mask applied on every call (``"both"``: none)."""
        return self._channel_mode

    @channel_mode.setter
    def channel_mode(self, mode: str):
        fixed = tuple(m for m in MASK_MODES if m != "random")
        if mode not in fixed:
            raise ValueError(
                f"channel_mode must be one of {fixed}, got {mode!r}; for COCOLA's random "
                "training masks pass mask_choices to forward()"
            )
        if mode != "both" and self.feature_channels != 2:
            raise ValueError(f"channel_mode={mode!r} needs features='hpss'")
        self._channel_mode = mode
        self.model_args["channel_mode"] = mode

    @property
    def min_samples(self) -> int:
        if self.model_args["features"] == "hpss":
            return self.frontend.min_samples
        return self.frontend[0].min_samples

    def features(self, wav: torch.Tensor) -> torch.Tensor:
        """Unmasked input features of validated waveforms.

        Args:
            wav (torch.Tensor): ``(batch, time)``.

        Returns:
            torch.Tensor: ``(batch, 2, n_mels, time // 160 + 1)`` for HPSS (channel 0 harmonic,
            1 percussive, dB in [-80, 0]); ``(batch, 1, n_mels, time // 160 + 1)`` for Mel.
        """
        feats = self.frontend(wav)
        return feats if feats.dim() == 4 else feats.unsqueeze(1)

    def _check_features(self, feats: torch.Tensor):
        if feats.shape[1] != self.feature_channels or feats.shape[2] != self.n_mels:
            raise ValueError(
                f"Expected features (batch, {self.feature_channels}, {self.n_mels}, frames), got "
                f"{tuple(feats.shape)}"
            )

    def embed_features(self, feats: torch.Tensor, mask_choices: torch.Tensor = None):
        """Channel mask, EfficientNet, pooling and projection on features.

        Args:
            feats (torch.Tensor): output of :meth:`features`.
            mask_choices (torch.Tensor, optional): ``(batch,)`` per-example random-mask draws
                (:func:`~phalar_asteroid.nn.hpss.draw_mask_choices`); overrides
                :attr:`channel_mode`.

        Returns:
            torch.Tensor: ``(batch, embed_dim)``.
        """
        self._check_features(feats)
        if mask_choices is not None:
            if self.feature_channels != 2:
                raise ValueError("mask_choices need features='hpss'")
            feats = mask_channels(feats, "random", choices=mask_choices)
        elif self.feature_channels == 2:
            feats = mask_channels(feats, self.channel_mode)
        pooled = self.pool(self.encoder(feats)).flatten(1)
        return self.projection(self.dropout(pooled))

    def forward(self, x: torch.Tensor, mask_choices: torch.Tensor = None) -> torch.Tensor:
        """Embeds validated waveforms ``(batch, time)`` or precomputed features.

        See :meth:`embed` for raw (unvalidated) audio.

        Args:
            x (torch.Tensor): ``(batch, time)``, ``(batch, 1, time)`` or the 4-d output of
                :meth:`features`.
            mask_choices (torch.Tensor, optional): see :meth:`embed_features`.

        Returns:
            torch.Tensor: ``(batch, embed_dim)``.
        """
        if x.dim() == 3 and x.shape[1] != 1:
            raise ValueError(f"Expected mono waveforms (batch, 1, time), got {tuple(x.shape)}")
        if x.dim() in (2, 3):
            x = self.features(mono_batch(x))
        elif x.dim() != 4:
            raise ValueError(
                f"Expected waveforms (batch, time) or features (batch, channels, n_mels, frames), "
                f"got shape {tuple(x.shape)}"
            )
        return self.embed_features(x, mask_choices)

    def get_model_args(self) -> dict:
        return dict(self.model_args)
