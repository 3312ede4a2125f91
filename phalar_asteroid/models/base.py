"""Shared interface of the contrastive encoders: input checks, scoring, serialisation."""

import os
import re

import numpy as np
import torch
from asteroid.models.base_models import BaseModel

from ..data.silence import SILENCE_DB, rms_db
from ..nn.complex import from_complex, to_complex
from ..utils.cache import cache_dir as user_cache_dir

PRETRAINED_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "pretrained")


def software_versions() -> dict:
    """Versions as plain strings, so checkpoints load under ``torch.load(weights_only=True)``."""
    import asteroid
    import pytorch_lightning as pl

    from .. import __version__

    return {
        "torch_version": str(torch.__version__),
        "pytorch_lightning_version": str(pl.__version__),
        "asteroid_version": str(asteroid.__version__),
        "phalar_asteroid_version": str(__version__),
    }


#: A Hugging Face hub model id, ``owner/name`` with an optional ``@revision``.
HUB_ID = re.compile(r"[\w.-]+/[\w.-]+(@[\w./-]+)?")
CHECKPOINT_SUFFIXES = (".pth", ".pt", ".ckpt")


def _download_url(url: str, cache_dir: str) -> str:
    """The cached copy of ``url`` (Asteroid's cache layout), downloading it if absent."""
    from asteroid.utils.hub_utils import url_to_filename

    path = os.path.join(cache_dir, url_to_filename(url), "model.pth")
    if not os.path.isfile(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        torch.hub.download_url_to_file(url, path, progress=False)
    return path


def _download_hub(model_id: str, cache_dir: str) -> str:
    """The cached model file of a Hugging Face hub id, from the network or else the cache."""
    import huggingface_hub

    repo_id, _, revision = model_id.partition("@")
    kwargs = dict(
        repo_id=repo_id,
        filename=huggingface_hub.PYTORCH_WEIGHTS_NAME,
        cache_dir=cache_dir,
        revision=revision or None,
        library_name="phalar_asteroid",
    )
    try:
        return huggingface_hub.hf_hub_download(**kwargs)
    except Exception as err:  # network errors vary with the transport: fall back to the cache
        try:
            return huggingface_hub.hf_hub_download(**kwargs, local_files_only=True)
        except Exception:
            raise err from None


def resolve_pretrained(name_or_path: str, cache_dir: str = None) -> str:
    """Maps a model reference to a local file, downloading it into the cache if needed.

    Accepted, in this order: a file path; the name of a checkpoint shipped in the package
    (``phalar_asteroid/pretrained/<name>.pth``); an ``http(s)://`` URL; a Hugging Face hub id
    (``owner/name`` or ``owner/name@revision``), as Asteroid's ``cached_download`` accepts. A
    downloaded file is kept in ``cache_dir`` and used from there without the network.

    Args:
        name_or_path (str): file path, shipped name, URL or hub id.
        cache_dir (str, optional): download cache; by default the package's
            (:func:`phalar_asteroid.utils.cache.cache_dir`, subfolder ``models``), which
            ``$PHALAR_CACHE_DIR`` moves.

    Returns:
        str: an existing file path.

    Raises:
        FileNotFoundError: no such file or shipped name, and not a URL or hub id.
        IsADirectoryError: a directory (the message names the checkpoints in it).
        ConnectionError: a URL or hub id that cannot be downloaded and is not in the cache.
    """
    if os.path.isfile(name_or_path):
        return name_or_path
    if os.path.isdir(name_or_path):
        inside = sorted(f for f in os.listdir(name_or_path) if f.endswith(CHECKPOINT_SUFFIXES))
        raise IsADirectoryError(
            f"{name_or_path}: a directory, not a model file: pass a checkpoint file "
            + (f"in it ({', '.join(inside[:3])})" if inside else "(e.g. a recipe's best_model.pth)")
        )
    shipped = os.path.join(PRETRAINED_DIR, f"{name_or_path}.pth")
    if os.path.isfile(shipped):
        return shipped
    if name_or_path.startswith("https://huggingface.co/"):
        name_or_path = name_or_path[len("https://huggingface.co/") :]
    is_url = name_or_path.startswith(("http://", "https://"))
    is_hub = HUB_ID.fullmatch(name_or_path) and not name_or_path.endswith(CHECKPOINT_SUFFIXES)
    if is_url or is_hub:
        cache_dir = user_cache_dir("models") if cache_dir is None else cache_dir
        try:
            if is_url:
                return _download_url(name_or_path, cache_dir)
            return _download_hub(name_or_path, cache_dir)
        except Exception as err:
            raise ConnectionError(
                f"Cannot download {name_or_path!r} and no copy is cached in {cache_dir} "
                f"({type(err).__name__}: {err}). Connect to the network once, or pass a local "
                "file."
            ) from err
    available = (
        sorted(f[:-4] for f in os.listdir(PRETRAINED_DIR) if f.endswith(".pth"))
        if os.path.isdir(PRETRAINED_DIR)
        else []
    )
    raise FileNotFoundError(
        f"No model file, shipped checkpoint, URL or hub id {name_or_path!r} (shipped: "
        f"{available})"
    )


# Scripted when traced: traced shape reads record the resolved, positive axis, so a trace from
# (batch, time) would read the length of (batch, 1, time) from its channel axis.
@torch.jit.script_if_tracing
def mono_batch(wav: torch.Tensor) -> torch.Tensor:
    """``(batch, time)`` or ``(batch, 1, time)`` waveforms as ``(batch, time)``."""
    return wav.reshape(-1, wav.shape[-1])


class ContrastiveEncoder(BaseModel):
    r"""Base of PHALAR and COCOLA: waveform in, embedding out, a learned similarity inside.

    Subclasses define ``forward`` (validated waveform → embeddings), ``min_samples``,
    ``is_complex`` and ``get_model_args``, and set ``self.similarity``.

    Asteroid's separation interface (``separate``, ``torch_separate``, ``numpy_separate``,
    ``file_separate``, ``forward_wav``) raises ``NotImplementedError``: an embedding is no source.
    ``in_channels`` is BaseModel's count of audio channels, 1 (mono).

    Args:
        sample_rate (int): the only sample rate the model accepts.
    """

    is_complex = False

    def __init__(self, sample_rate: int = 16000):
        super().__init__(sample_rate=sample_rate)

    @property
    def min_samples(self) -> int:
        """Shortest accepted input in samples."""
        raise NotImplementedError

    def prepare_input(self, wav, sample_rate: int = None) -> torch.Tensor:
        """Validates a batch of mono waveforms and returns it as ``(batch, time)`` float32.

        Args:
            wav (torch.Tensor or np.ndarray): ``(batch, time)`` or ``(batch, 1, time)``.
            sample_rate (int, optional): rate of ``wav``; must equal the model's.

        Returns:
            torch.Tensor: ``(batch, time)`` on the model's device.

        Raises:
            ValueError: wrong rank, several channels, NaN/Inf samples, too short, wrong rate.
        """
        if sample_rate is not None and int(sample_rate) != int(self.sample_rate):
            raise ValueError(
                f"sample_rate={sample_rate} Hz, but the model takes {int(self.sample_rate)} Hz "
                "audio: resample first (e.g. torchaudio.functional.resample)"
            )
        if isinstance(wav, np.ndarray):
            # torch takes neither read-only memory nor negative strides (a one-row view read
            # backwards keeps them although numpy calls it contiguous): copy such views.
            reversed_axis = min(wav.strides, default=0) < 0
            if reversed_axis or not (wav.flags.c_contiguous and wav.flags.writeable):
                wav = wav.copy()
            wav = torch.from_numpy(wav)
        if not torch.is_tensor(wav):
            raise ValueError(f"Expected a tensor or numpy array, got {type(wav).__name__}")
        if wav.dim() == 3:
            if wav.shape[1] != 1:
                raise ValueError(
                    f"Expected mono audio (batch, 1, time), got {wav.shape[1]} channels "
                    f"(shape {tuple(wav.shape)}): average the channels first"
                )
            wav = wav[:, 0]
        elif wav.dim() != 2:
            raise ValueError(
                f"Expected waveform of rank 2 (batch, time) or 3 (batch, 1, time), got rank "
                f"{wav.dim()} with shape {tuple(wav.shape)}"
            )
        if wav.shape[-1] < self.min_samples:
            raise ValueError(
                f"Audio of {wav.shape[-1]} samples ({wav.shape[-1] / self.sample_rate:.3f} s) is "
                f"shorter than the model's minimum of {self.min_samples} samples "
                f"({self.min_samples / self.sample_rate:.3f} s)"
            )
        if not torch.isfinite(wav).all():
            raise ValueError("Waveform contains NaN or Inf samples")
        param = next(self.parameters())
        return wav.to(device=param.device, dtype=torch.float32)

    def to_user_layout(self, emb: torch.Tensor) -> torch.Tensor:
        """Internal embeddings (what ``forward`` returns) in the layout :meth:`embed` returns.

        Args:
            emb (torch.Tensor): ``(batch, 2, dim)`` for complex models, else ``(batch, dim)``.

        Returns:
            torch.Tensor: complex64 ``(batch, dim)`` for complex models, else ``emb``.
        """
        return to_complex(emb) if self.is_complex else emb

    def _to_internal(self, emb: torch.Tensor, name: str) -> torch.Tensor:
        """Embeddings from :meth:`embed` in the layout the similarity module reads."""
        if not torch.is_tensor(emb) or emb.dim() != 2:
            shape = tuple(emb.shape) if torch.is_tensor(emb) else type(emb).__name__
            raise ValueError(f"{name}: expected (batch, dim) embeddings from embed(), got {shape}")
        if emb.is_complex() != self.is_complex:
            kind = "complex" if self.is_complex else "real"
            raise ValueError(
                f"{name}: {type(self).__name__} scores {kind} embeddings (as embed() returns), "
                f"got {emb.dtype}"
            )
        param = next(self.parameters())
        emb = from_complex(emb) if self.is_complex else emb
        return emb.to(device=param.device, dtype=param.dtype)

    def embed(self, wav, sample_rate: int = None, batch_size: int = None) -> torch.Tensor:
        """User-facing embeddings: complex ``(batch, dim)`` for complex models, else real.

        This is the one place where clips are embedded in batches: the CLI, the recipes and the
        evaluation call it. Silent clips are embedded like any other, as in training (crops may
        be quiet); :meth:`score` and :meth:`pairwise` refuse them.

        Args:
            wav (torch.Tensor or np.ndarray): ``(batch, time)`` or ``(batch, 1, time)``.
            sample_rate (int, optional): checked against the model's rate.
            batch_size (int, optional): clips per forward pass (each batch is moved to the
                model's device on its own); all at once by default.

        Returns:
            torch.Tensor: ``(batch, dim)`` on the model's device, complex64 for complex models.
        """
        if batch_size is None or len(wav) <= batch_size:
            return self.to_user_layout(self(self.prepare_input(wav, sample_rate)))
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        return torch.cat(
            [
                self.to_user_layout(self(self.prepare_input(wav[i : i + batch_size], sample_rate)))
                for i in range(0, len(wav), batch_size)
            ]
        )

    def score_embeddings(self, a, b, all_pairs: bool = False, symmetric: bool = True):
        r"""Scores embeddings as :meth:`embed` returns them (e.g. a library embedded once).

        Args:
            a (torch.Tensor): embeddings ``(B_a, dim)``, complex for complex models.
            b (torch.Tensor): embeddings ``(B_b, dim)``.
            all_pairs (bool): the ``(B_a, B_b)`` matrix instead of matched rows.
            symmetric (bool): average both argument orders; for PHALAR this is the Hermitian
                form :math:`s_H`.

        Returns:
            torch.Tensor: ``(B,)`` or ``(B_a, B_b)`` scores.
        """
        a, b = self._to_internal(a, "a"), self._to_internal(b, "b")
        if not all_pairs and len(a) != len(b):
            raise ValueError(f"matched rows need equal batches: got {len(a)} and {len(b)}")
        return self.similarity.scores(a, b, all_pairs=all_pairs, symmetric=symmetric)

    def query_vectors(self, emb: torch.Tensor) -> torch.Tensor:
        """Real query vectors of embeddings: ``score_embeddings(a, b) = query(a) · key(b)``.

        Args:
            emb (torch.Tensor): embeddings ``(n, dim)`` from :meth:`embed`.

        Returns:
            torch.Tensor: float32 ``(n, features)``.

        Raises:
            ValueError: the model's similarity is not searchable (e.g. the cosine ablation).
        """
        return self.similarity.query_vectors(self._to_internal(emb, "emb"))

    def key_vectors(self, emb: torch.Tensor) -> torch.Tensor:
        """Real key vectors that a library stores (see :meth:`query_vectors`).

        Args:
            emb (torch.Tensor): embeddings ``(n, dim)`` from :meth:`embed`.

        Returns:
            torch.Tensor: float32 ``(n, features)``.

        Raises:
            ValueError: the model's similarity is not searchable.
        """
        return self.similarity.key_vectors(self._to_internal(emb, "emb"))

    def _embed_both(self, x, y, sample_rate, caller: str):
        """Embeddings of two batches of clips, refusing unequal lengths and silent clips."""
        x, y = self.prepare_input(x, sample_rate), self.prepare_input(y, sample_rate)
        if x.shape[-1] != y.shape[-1]:
            raise ValueError(
                f"{caller}(): x has {x.shape[-1]} samples and y {y.shape[-1]}: clips of "
                "different lengths cover different music, so even a true pair scores low; trim "
                "both to the same span, or use phalar_asteroid.inference.score_waveforms, which "
                "trims and averages aligned windows"
            )
        silent = []
        for name, wav in (("x", x), ("y", y)):
            rows = np.flatnonzero(rms_db(wav.detach().cpu().numpy()) < SILENCE_DB)
            if len(rows) > 10:
                first = ", ".join(str(row) for row in rows[:10].tolist())
                silent.append(f"{len(rows)} rows of {name} ({first}, …)")
            elif len(rows):
                silent.append(f"rows {rows.tolist()} of {name}")
        if silent:
            raise ValueError(
                f"{caller}(): {' and '.join(silent)} are silent (RMS below {SILENCE_DB:.0f} "
                "dBFS): a silent clip gets an arbitrary score (two silent clips score like a true "
                "pair); leave silent clips out"
            )
        # One call, as in training: the batch-wide dB floor (if chosen) then matches.
        emb = self(torch.cat((x, y)))
        return emb[: len(x)], emb[len(x) :]

    def score(self, x, y, symmetric: bool = True, sample_rate: int = None) -> torch.Tensor:
        """Coherence score of matched pairs of clips (e.g. a partial mix and a stem).

        Matched clips must cover the same span of music: ``x`` and ``y`` must have the same
        length, and no clip may be silent (RMS below the -60 dBFS silence floor of the
        retrieval protocol, :data:`phalar_asteroid.data.silence.SILENCE_DB`). To score whole
        files of any lengths, use :func:`phalar_asteroid.inference.score_files`, which trims
        them and skips silent windows.

        Args:
            x, y: waveforms ``(batch, time)`` or ``(batch, 1, time)``, same batch size and
                length.
            symmetric (bool): symmetric (Hermitian) form, the default; else the training form.
            sample_rate (int, optional): checked against the model's rate.

        Returns:
            torch.Tensor: ``(batch,)`` scores (higher fits better).

        Raises:
            ValueError: different batch sizes or lengths, silent clips (the message names their
                rows), or input that :meth:`prepare_input` refuses.
        """
        if len(x) != len(y):
            raise ValueError(f"score() pairs rows: got batches of {len(x)} and {len(y)}")
        a, b = self._embed_both(x, y, sample_rate, "score")
        return self.similarity.scores(a, b, symmetric=symmetric)

    def pairwise(self, x, y, symmetric: bool = True, sample_rate: int = None) -> torch.Tensor:
        """Scores of every clip in ``x`` against every clip in ``y``.

        As in :meth:`score`, all clips must have the same length and none may be silent.

        Args:
            x, y: waveforms ``(batch, time)`` or ``(batch, 1, time)`` of one length.
            symmetric (bool): symmetric (Hermitian) form, the default; else the training form.
            sample_rate (int, optional): checked against the model's rate.

        Returns:
            torch.Tensor: ``(len(x), len(y))`` scores.

        Raises:
            ValueError: different lengths, silent clips (the message names their rows), or
                input that :meth:`prepare_input` refuses.
        """
        a, b = self._embed_both(x, y, sample_rate, "pairwise")
        return self.similarity.scores(a, b, all_pairs=True, symmetric=symmetric)

    def _refuse_separation(self, *args, **kwargs):
        raise NotImplementedError(
            f"{type(self).__name__} is a contrastive encoder: it embeds and scores audio and "
            "separates no sources. Use embed(), score() or pairwise() (or the phalar command)."
        )

    # Asteroid's separation interface (and asteroid.separate's functions, through forward_wav)
    # would return the embedding as if it were separated sources, or write it as audio files.
    separate = torch_separate = numpy_separate = file_separate = _refuse_separation
    forward_wav = _refuse_separation

    def serialize(self) -> dict:
        """Asteroid's model package, with versions stored as plain strings (torch >= 2.6)."""
        return {
            "model_name": self.__class__.__name__,
            "state_dict": self.get_state_dict(),
            "model_args": self.get_model_args(),
            "infos": {"software_versions": software_versions()},
        }

    @classmethod
    def from_pretrained(cls, pretrained_model_conf_or_path, *args, cache_dir=None, **kwargs):
        """Loads a model package: a dict, a file, a shipped name, a URL or a hub id.

        Args:
            pretrained_model_conf_or_path (dict or str): see :func:`resolve_pretrained`.
            *args: positional model arguments.
            cache_dir (str, optional): download cache (see :func:`resolve_pretrained`).
            **kwargs: model arguments overriding those of the package.

        Returns:
            ContrastiveEncoder: the model.

        Raises:
            FileNotFoundError: no such file or shipped name.
            ConnectionError: a URL or hub id that is neither downloadable nor cached.
            ValueError: the file is not a model package of this library.
        """
        conf = pretrained_model_conf_or_path
        if isinstance(conf, (str, os.PathLike)):
            path = resolve_pretrained(str(conf), cache_dir)
            try:
                conf = torch.load(path, map_location="cpu", weights_only=True)
            except Exception as err:
                raise ValueError(f"Cannot read model file {path}: {err}") from err
            if not isinstance(conf, dict):
                raise ValueError(f"{path} is not a model package (got {type(conf).__name__})")
        return super().from_pretrained(conf, *args, **kwargs)
