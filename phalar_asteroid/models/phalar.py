"""PHALAR: the masker-free phase-aware encoder (docs/model.md)."""

import torch
from torch import nn

from ..filterbanks.cqt import CQTFB
from ..nn.backbone import FreqTimeSeparableBackbone
from ..nn.complex import CplxDropout
from ..nn.frontend import DecibelScaling, MelFrontend
from ..nn.heads import ComplexHead, RealHead
from ..nn.pooling import GlobalAveragePooling, LearnedSpectralPooling
from ..nn.similarity import COMPLEX_SIMILARITIES, make_similarity
from .base import ContrastiveEncoder, mono_batch


class PHALAR(ContrastiveEncoder):
    r"""CQT → separable CNN → Learned Spectral Pooling → complex head, with a learned similarity.

    The default configuration is the paper's model (2,293,104 parameters: encoder 1,768,816 and
    similarity 524,288). ``forward`` returns embeddings in the internal real layout
    ``(batch, 2, embed_dim)``; :meth:`embed` returns them as complex numbers.

    Args:
        sample_rate (int): input rate (16 kHz).
        frontend (str): ``"cqt"`` or ``"mel"`` (ablation).
        n_bins (int): CQT bins (or Mel bands).
        bins_per_octave (int): CQT bins per octave.
        fmin (float): lowest CQT centre frequency.
        hop_length (int): hop in samples (10 ms).
        db_floor (str): ``"clip"`` (default, batch-independent) or ``"batch"`` (reference).
        backbone_width (int): stem channels of the backbone.
        depth (int): backbone stages (each halves time).
        dropout (float): dropout of the backbone branches and of the pooled features.
        pool (str): ``"spectral"`` (LSP) or ``"average"`` (GAP ablation).
        lsp_channels (int): LSP projection size D.
        lsp_components (int): kept Fourier components C.
        lsp_padding (str): ``"center"`` or ``"right"``.
        lsp_norm (str): LSP magnitude normalisation.
        lsp_output (str): ``"complex"`` or ``"magnitude"`` (no-phase ablation).
        head (str): ``"complex"`` or ``"real"``.
        embed_dim (int): embedding size.
        similarity (str): ``"bilinear"`` (training form), ``"hermitian"``, ``"psd"``,
            ``"cosine"`` (complex heads) or ``"real_bilinear"`` (real heads).
        grad_checkpointing (bool): recompute backbone blocks in backward (GPU memory).

    Shape:
        - Input: :math:`(batch, time)` or :math:`(batch, 1, time)` at 16 kHz, longer than
          :attr:`min_samples` (16,384 samples for the CQT).
        - Output of ``forward``: :math:`(batch, 2, embed\_dim)` (complex head) or
          :math:`(batch, embed\_dim)` (real head).
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        frontend: str = "cqt",
        n_bins: int = 96,
        bins_per_octave: int = 12,
        fmin: float = 16.35,
        hop_length: int = 160,
        db_floor: str = "clip",
        backbone_width: int = 8,
        depth: int = 5,
        dropout: float = 0.1,
        pool: str = "spectral",
        lsp_channels: int = 80,
        lsp_components: int = 8,
        lsp_padding: str = "center",
        lsp_norm: str = "global",
        lsp_output: str = "complex",
        head: str = "complex",
        embed_dim: int = 512,
        similarity: str = "bilinear",
        grad_checkpointing: bool = False,
    ):
        super().__init__(sample_rate=sample_rate)
        self._check_config(frontend, pool, lsp_output, head, similarity)
        self.model_args = dict(
            sample_rate=int(sample_rate),
            frontend=frontend,
            n_bins=int(n_bins),
            bins_per_octave=int(bins_per_octave),
            fmin=float(fmin),
            hop_length=int(hop_length),
            db_floor=db_floor,
            backbone_width=int(backbone_width),
            depth=int(depth),
            dropout=float(dropout),
            pool=pool,
            lsp_channels=int(lsp_channels),
            lsp_components=int(lsp_components),
            lsp_padding=lsp_padding,
            lsp_norm=lsp_norm,
            lsp_output=lsp_output,
            head=head,
            embed_dim=int(embed_dim),
            similarity=similarity,
            grad_checkpointing=bool(grad_checkpointing),
        )
        if frontend == "cqt":
            self.cqt = CQTFB(
                n_bins=n_bins,
                bins_per_octave=bins_per_octave,
                fmin=fmin,
                stride=hop_length,
                sample_rate=sample_rate,
            )
            self.db = DecibelScaling("magnitude", floor=db_floor)
        else:
            self.mel = MelFrontend(sample_rate, n_mels=n_bins, hop_length=hop_length)
            self.db = DecibelScaling("power", floor=db_floor)
        self.backbone = FreqTimeSeparableBackbone(
            backbone_width, depth, dropout=dropout, grad_checkpointing=grad_checkpointing
        )
        bb_channels = self.backbone.out_channels
        if pool == "spectral":
            self.pool = LearnedSpectralPooling(
                n_bins * bb_channels,
                lsp_channels,
                lsp_components,
                padding=lsp_padding,
                norm=lsp_norm,
                output=lsp_output,
            )
            pooled = lsp_channels * lsp_components
        else:
            self.pool = GlobalAveragePooling()
            pooled = bb_channels
        self.is_complex = head == "complex"
        if self.is_complex:
            self.pool_dropout = CplxDropout(dropout)
            self.head = ComplexHead(pooled, embed_dim)
        else:
            # A complex LSP feeding a real head passes Re and Im as separate features.
            in_features = 2 * pooled if pool == "spectral" and lsp_output == "complex" else pooled
            self.head = RealHead(in_features, embed_dim, dropout=dropout)
        self.similarity = make_similarity(similarity, embed_dim)

    @staticmethod
    def _check_config(frontend, pool, lsp_output, head, similarity):
        choices = dict(
            frontend=(frontend, ("cqt", "mel")),
            pool=(pool, ("spectral", "average")),
            lsp_output=(lsp_output, ("complex", "magnitude")),
            head=(head, ("complex", "real")),
        )
        for name, (value, allowed) in choices.items():
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        if head == "complex" and (pool != "spectral" or lsp_output != "complex"):
            raise ValueError("head='complex' needs pool='spectral' with lsp_output='complex'")
        if (head == "complex") != (similarity in COMPLEX_SIMILARITIES):
            raise ValueError(
                f"similarity={similarity!r} does not fit head={head!r}: complex heads take "
                f"{COMPLEX_SIMILARITIES}, real heads take 'real_bilinear' or 'cocola'"
            )

    @property
    def min_samples(self) -> int:
        front = self.cqt if self.model_args["frontend"] == "cqt" else self.mel
        return front.min_samples

    def frames(self, seconds: float, name: str = "seconds") -> int:
        """Number of spectrogram frames spanning ``seconds`` at this model's hop.

        Downstream recipes give windows and strides in seconds, so that one configuration fits
        models trained with different hops (4.8 s is 480 frames at hop 160, 240 at hop 320).

        Args:
            seconds (float): a duration that is a whole number of hops.
            name (str): the argument's name, for the error message.

        Returns:
            int: ``seconds * sample_rate / hop_length``.
        """
        hop = self.model_args["hop_length"] / self.sample_rate
        frames = seconds / hop
        if round(frames) < 1 or abs(frames - round(frames)) > 1e-6:
            raise ValueError(
                f"{name}={seconds} is not a positive whole number of this model's "
                f"{1000 * hop:g} ms hops"
            )
        return int(round(frames))

    def spectrogram(self, wav: torch.Tensor) -> torch.Tensor:
        """Scaled log spectrogram ``(batch, n_bins, frames)`` of validated ``(batch, time)``.

        Always float32, also under autocast: bf16 samples and kernels (8-bit mantissas) would
        raise a rounding-noise floor inside the 80 dB range the model sees, and the front end is
        under 5 % of a training step.
        """
        with torch.autocast(device_type=wav.device.type, enabled=False):
            wav = wav.float()
            if self.model_args["frontend"] == "cqt":
                spec = self.cqt.analysis(wav)
            else:
                spec = self.mel(wav)
            return self.db(spec)

    def embed_spectrogram(
        self, spec: torch.Tensor, lsp_padding: str = None, batch_size: int = None
    ) -> torch.Tensor:
        """Backbone, pooling and head on a scaled spectrogram ``(batch, n_bins, frames)``.

        Args:
            spec (torch.Tensor): output of :meth:`spectrogram` (or windows of it).
            lsp_padding (str, optional): overrides the LSP padding mode (``"right"`` for the
                sliding windows of the beat and chord recipes).
            batch_size (int, optional): spectrograms per backbone call, to bound memory when
                one spectrogram batch (one dB floor) holds many windows; all at once by default.

        Returns:
            torch.Tensor: embeddings in the internal layout.
        """
        if batch_size is not None and len(spec) > batch_size:
            return torch.cat(
                [
                    self.embed_spectrogram(spec[i : i + batch_size].contiguous(), lsp_padding)
                    for i in range(0, len(spec), batch_size)
                ]
            )
        features = self.backbone(spec.unsqueeze(1))
        if lsp_padding is not None and isinstance(self.pool, LearnedSpectralPooling):
            default, self.pool.padding = self.pool.padding, lsp_padding
            try:
                pooled = self.pool(features)
            finally:
                self.pool.padding = default
        else:
            pooled = self.pool(features)
        if self.is_complex:
            return self.head(self.pool_dropout(pooled).flatten(2))
        return self.head(pooled.flatten(1))

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        """Embeds validated waveforms ``(batch, time)`` or ``(batch, 1, time)``.

        See :meth:`embed` for raw input. A trace from either rank takes both.
        """
        if wav.dim() == 3 and wav.shape[1] != 1:
            raise ValueError(f"Expected mono waveforms (batch, 1, time), got {tuple(wav.shape)}")
        wav = mono_batch(wav)
        return self.embed_spectrogram(self.spectrogram(wav))

    @torch.no_grad()
    def embed_windows(
        self,
        wav,
        window_frames: int = 480,
        hop_frames: int = 2,
        batch_size: int = 64,
        lsp_padding: str = "right",
        sample_rate: int = None,
    ) -> torch.Tensor:
        """Sliding-window embeddings of one whole track from a single spectrogram.

        Window ``i`` covers spectrogram frames ``[i * hop, i * hop + window)`` (start aligned;
        4.8 s every 20 ms by default). The dB floor is set over the whole track, as in the
        reference's downstream wrapper.

        Args:
            wav: one track ``(time,)``, ``(1, time)`` or ``(1, 1, time)``.
            window_frames (int): window length in spectrogram frames.
            hop_frames (int): stride in frames.
            batch_size (int): windows per backbone call.
            lsp_padding (str): LSP padding of the windows.
            sample_rate (int, optional): checked against the model's rate.

        Returns:
            torch.Tensor: ``(n_windows, embed_dim)``, complex64 for complex models (the layout of
            :meth:`embed`).
        """
        if getattr(wav, "ndim", 0) == 1:
            wav = wav[None]
        wav = self.prepare_input(wav, sample_rate)
        if len(wav) != 1:
            raise ValueError(f"embed_windows takes one track, got a batch of {len(wav)}")
        spec = self.spectrogram(wav)[0]
        if spec.shape[-1] < window_frames:
            raise ValueError(
                f"Track of {spec.shape[-1]} frames is shorter than one window ({window_frames})"
            )
        windows = spec.unfold(-1, window_frames, hop_frames).permute(1, 0, 2)
        return self.to_user_layout(self.embed_spectrogram(windows, lsp_padding, batch_size))

    def get_model_args(self) -> dict:
        return dict(self.model_args)
