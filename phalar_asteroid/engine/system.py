"""Lightning system of the contrastive encoders (docs/model.md#loss, docs/asteroid.md#system)."""

import torch
from asteroid.engine.system import System

from .hard_negatives import HardNegativeSchedule, transpose_up


def top1_accuracy(logits: torch.Tensor) -> torch.Tensor:
    """Fraction of rows whose largest logit is on the diagonal (the positive).

    Args:
        logits (torch.Tensor): ``(B, N)`` with ``N >= B``; row i's positive is column i.

    Returns:
        torch.Tensor: scalar accuracy.
    """
    targets = torch.arange(logits.shape[0], device=logits.device)
    return (logits.argmax(dim=1) == targets).float().mean()


class ContrastiveSystem(System):
    r"""Trains a contrastive encoder (PHALAR, COCOLA) on time-aligned (anchor, positive) pairs.

    Each step encodes ``cat(anchors, positives[, extras])`` in **one** model call (so that a
    batch-wide dB floor sees the whole batch, as in the reference), scores every anchor against
    every positive (and the extra negatives) with the model's training-form similarity, and
    applies the loss to the ``(B, B + B_e + B_t)`` logits with targets on the diagonal (``B_e``
    extras from the data, ``B_t`` transposed positives).

    **Several devices** (DDP, ``world_size > 1``): with ``gather_negatives`` (the default), each
    training step all-gathers every rank's candidate embeddings, with gradients, so that the
    local anchors are scored against the global batch: the logits are ``(B, W·B + ΣB_e + ΣB_t)``
    over the W ranks, and each rank's loss is the mean over its own B anchors. DDP averages the
    gradients over ranks and the gather's backward sums each candidate's gradient over the ranks
    that scored it, so the update is the single-device one on the concatenated batch of W·B
    pairs (with the same B on every rank, as :class:`~.sampler.ResumableEpochSampler` and
    ``drop_last`` give; ``tests/engine/test_ddp.py`` checks it). The candidates gathered are the
    positives, the extras and the transposed positives, i.e. all of them; the per-rank counts of
    extras and transposed positives may differ (rows are padded for the gather and dropped
    after it).
    What stays per device: the model call (a ``db_floor="batch"`` floor or the real head's
    ``BatchNorm1d`` see the local batch only) and validation (every rank scores the same fixed
    pairs, which would otherwise appear W times among the candidates). Without
    ``gather_negatives`` each anchor sees the ``B - 1 + B_e + B_t`` candidates of its own device,
    as in the reference implementation.

    Logged: ``loss``, ``acc`` (top-1 in-batch accuracy) and ``negatives`` (candidates per anchor
    minus its positive, all ranks' when gathered) per step; ``val_loss`` and
    ``val_acc`` per validation epoch, on the validation loader's fixed pairs. Checkpoints are
    selected on ``val_acc`` (:attr:`default_monitor`).

    Args:
        model (ContrastiveEncoder): the encoder, with a ``similarity`` sub-module.
        optimizer (torch.optim.Optimizer): see :func:`~phalar_asteroid.engine.optim.make_contrastive_optimizer`.
        loss_func (callable): ``(logits (B, N)) -> scalar``, e.g.
            :class:`~phalar_asteroid.losses.InfoNCELoss`.
        train_loader, val_loader: loaders of ``(anchors, positives)`` or ``(anchors, positives,
            extras)`` batches, each ``(B, T)``.
        scheduler: as in :class:`asteroid.engine.System`.
        config (dict): the run's two-level configuration, saved in checkpoints.
        random_channel_masks (bool): COCOLA's ``RANDOM`` embedding mode in training: one mask
            draw per pair, shared by anchor and positive (models with ``mask_choices``).
        seed (int): seed of the per-step random draws (dropout, channel masks), which depend
            only on (seed, global step, rank) so that a resumed run draws the same ones.
        transpose_fraction (float): share of the pairs whose positive, transposed up by a random
            number of semitones in ``transpose_semitones``, joins the candidates as an extra
            negative (training only). Needs a model with ``spectrogram`` /
            ``embed_spectrogram`` and a whole number of bins per semitone (PHALAR's CQT).
        transpose_semitones (tuple): smallest and largest transposition, in semitones.
        hard_schedule (HardNegativeSchedule, optional): ramps the hard negatives in, both the
            transposed ones and the batch's extras (same-track negatives): at weight w, a share
            w of the extras and ``w * transpose_fraction`` of the pairs are used. None: all of
            them from the first step.
        gather_negatives (bool): in training on several devices, score every rank's anchors
            against all ranks' candidates (see above); no effect on one device. The loss must
            take ``(B, N)`` logits with the positives on the diagonal (e.g.
            :class:`~phalar_asteroid.losses.InfoNCELoss`; not the square-only
            :class:`~phalar_asteroid.losses.SymmetricInfoNCELoss`). False: per-device negatives.

    Shape:
        - batch: ``(anchors (B, T), positives (B, T)[, extras (B_e, T)])``
    """

    default_monitor = "val_acc"

    def __init__(
        self,
        model,
        optimizer,
        loss_func,
        train_loader,
        val_loader=None,
        scheduler=None,
        config=None,
        random_channel_masks: bool = False,
        seed: int = 42,
        transpose_fraction: float = 0.0,
        transpose_semitones: tuple = (1, 11),
        hard_schedule: HardNegativeSchedule = None,
        gather_negatives: bool = True,
    ):
        super().__init__(model, optimizer, loss_func, train_loader, val_loader, scheduler, config)
        self.random_channel_masks = random_channel_masks
        self.seed = seed
        if not 0.0 <= transpose_fraction <= 1.0:
            raise ValueError(f"transpose_fraction must lie in [0, 1], got {transpose_fraction}")
        low, high = transpose_semitones
        if not 1 <= low <= high:
            raise ValueError(f"transpose_semitones must be 1 <= low <= high, got {(low, high)}")
        self.transpose_fraction = transpose_fraction
        self.transpose_semitones = (int(low), int(high))
        self.hard_schedule = hard_schedule or HardNegativeSchedule()
        self.bins_per_semitone = self._bins_per_semitone() if transpose_fraction > 0 else 0
        self.gather_negatives = gather_negatives

    def _bins_per_semitone(self) -> int:
        args = self.model.get_model_args()
        if args.get("frontend") != "cqt" or not hasattr(self.model, "embed_spectrogram"):
            raise ValueError(
                "transpose_fraction > 0 needs a model with a CQT front end (PHALAR), got "
                f"{type(self.model).__name__} with frontend={args.get('frontend')!r}"
            )
        per_octave = args["bins_per_octave"]
        if per_octave % 12:
            raise ValueError(
                f"transposition needs bins_per_octave divisible by 12, got {per_octave}"
            )
        return per_octave // 12

    def _step_seed(self) -> int:
        return (self.seed * 1_000_003 + self.global_step) * 1_009 + self.global_rank

    def on_train_batch_start(self, batch, batch_idx):
        """Seeds torch's global generators (dropout, drop-connect) from (seed, step, rank).

        Lightning checkpoints do not hold the global random state; seeding per step makes a
        resumed run draw the same dropout masks as an uninterrupted one.
        """
        torch.manual_seed(self._step_seed())

    def _mask_choices(self, n_pairs: int, n_extras: int) -> torch.Tensor:
        from ..nn.hpss import draw_mask_choices

        gen = torch.Generator().manual_seed(self._step_seed())
        pairs = draw_mask_choices(n_pairs, generator=gen)
        extras = draw_mask_choices(n_extras, generator=gen)
        return torch.cat((pairs, pairs, extras)).to(self.device)

    def gathers_negatives(self) -> bool:
        """Whether training steps score the local anchors against every rank's candidates.

        Returns:
            bool: ``gather_negatives`` and a trainer with ``world_size > 1``.
        """
        return (
            bool(self.gather_negatives)
            and self._trainer is not None
            and self.trainer.world_size > 1
        )

    def batch_logits(self, batch, train: bool = True) -> torch.Tensor:
        """Embeds a batch in one call and returns its ``(B, B + B_e + B_t)`` training-form logits.

        ``B_e`` extras (same-track negatives) and ``B_t`` transposed positives are the hard
        negatives in use at this step (see ``hard_schedule``); both are 0 outside training.
        When training steps gather negatives (:meth:`gathers_negatives`), the columns are the
        candidates of every rank (:meth:`global_candidates`), the local positives first.

        Args:
            batch: ``(anchors, positives)`` or ``(anchors, positives, extras)``.
            train (bool): training step (random channel masks apply only then).

        Returns:
            torch.Tensor: logits, row i's positive in column i.
        """
        if not isinstance(batch, (list, tuple)) or len(batch) not in (2, 3):
            raise TypeError(
                "Expected a batch (anchors, positives) or (anchors, positives, extras), got "
                f"{type(batch).__name__} of length {len(batch) if hasattr(batch, '__len__') else '?'}"
            )
        anchors, positives = batch[0], batch[1]
        extras = batch[2] if len(batch) == 3 else anchors[:0]
        if anchors.shape != positives.shape or extras.shape[1:] != anchors.shape[1:]:
            raise ValueError(
                f"Anchors {tuple(anchors.shape)}, positives {tuple(positives.shape)} and extra "
                f"negatives {tuple(extras.shape)} must share their length"
            )
        n = len(anchors)
        weight = self.hard_schedule.weight(self.global_step) if train else 1.0
        extras = extras[: round(weight * len(extras))]
        n_transposed = round(weight * self.transpose_fraction * n) if train else 0
        wav = torch.cat((anchors, positives, extras))
        if train and self.random_channel_masks:
            emb = self.model(wav, mask_choices=self._mask_choices(n, len(extras)))
        elif n_transposed:
            emb = self._embed_with_transposed(wav, n, n_transposed)
        else:
            emb = self.model(wav)
        candidates = emb[n:]
        if train and self.gathers_negatives():
            candidates = self.global_candidates(candidates, (n, len(extras), n_transposed))
        return self.model.similarity(emb[:n], candidates)

    def global_candidates(self, candidates: torch.Tensor, counts: tuple) -> torch.Tensor:
        """Every rank's candidate embeddings, gathered with gradients, this rank's positives first.

        The ranks' candidate counts may differ: the rows are padded to the largest count for
        :meth:`~pytorch_lightning.core.LightningModule.all_gather` and the padding is dropped
        after it. This rank's own rows are the local tensor itself; every other rank's rows
        carry their gradient back to that rank (the gather's backward sums over the ranks).

        Args:
            candidates (torch.Tensor): this rank's ``(B + B_e + B_t, ...)`` embeddings: positives,
                extras, transposed positives.
            counts (tuple): ``(B, B_e, B_t)`` of this rank.

        Returns:
            torch.Tensor: ``(Σ_r B_r + B_e,r + B_t,r, ...)``: this rank's positives (row i's
            positive stays in column i), the other ranks' positives in rank order, then every
            rank's extras, then every rank's transposed positives.
        """
        counts = torch.tensor(counts, device=candidates.device)
        all_counts = self.all_gather(counts).view(-1, 3).tolist()  # (world, 3)
        size = max(sum(row) for row in all_counts)
        padding = candidates.new_zeros((size - len(candidates), *candidates.shape[1:]))
        gathered = self.all_gather(torch.cat((candidates, padding)), sync_grads=True)
        rank = self.global_rank
        kinds = ([], [], [])  # positives, extras, transposed: one tensor per rank each
        for r, row in enumerate(all_counts):
            rows = candidates if r == rank else gathered[r, : sum(row)]
            for kind, part in zip(kinds, rows.split(row)):
                kind.append(part)
        positives = kinds[0]
        positives = [positives[rank]] + positives[:rank] + positives[rank + 1 :]
        return torch.cat(positives + kinds[1] + kinds[2])

    def _embed_with_transposed(self, wav, n: int, n_transposed: int) -> torch.Tensor:
        """Embeds ``wav`` plus ``n_transposed`` transposed positives, from one spectrogram pass.

        The pairs and their semitone shifts are drawn from the step's seed, so a resumed run
        draws the same ones.
        """
        gen = torch.Generator().manual_seed(self._step_seed())
        pairs = torch.randperm(n, generator=gen)[:n_transposed]
        low, high = self.transpose_semitones
        semitones = torch.randint(low, high + 1, (n_transposed,), generator=gen)
        spec = self.model.spectrogram(wav)
        shifted = transpose_up(spec[n + pairs.to(spec.device)], semitones * self.bins_per_semitone)
        return self.model.embed_spectrogram(torch.cat((spec, shifted)))

    def common_step(self, batch, batch_nb, train=True):
        """Loss of one batch; logs the top-1 accuracy (``acc`` or ``val_acc``).

        Returns:
            torch.Tensor: the scalar loss.
        """
        logits = self.batch_logits(batch, train=train)
        loss = self.loss_func(logits)
        acc = top1_accuracy(logits.detach())
        if train:
            self.log("acc", acc, on_step=True, prog_bar=True, batch_size=len(logits))
            # Candidates per anchor minus its positive: in-batch, same-track and transposed, of
            # every rank when the negatives are gathered.
            self.log("negatives", float(logits.shape[1] - 1), on_step=True, batch_size=len(logits))
        else:
            self.log(
                "val_acc",
                acc,
                on_epoch=True,
                prog_bar=True,
                sync_dist=True,
                batch_size=len(logits),
            )
        return loss

    def training_step(self, batch, batch_nb):
        loss = self.common_step(batch, batch_nb, train=True)
        self.log("loss", loss, on_step=True, prog_bar=True, batch_size=len(batch[0]))
        return loss

    def validation_step(self, batch, batch_nb):
        loss = self.common_step(batch, batch_nb, train=False)
        self.log(
            "val_loss",
            loss,
            on_epoch=True,
            prog_bar=True,
            sync_dist=True,
            batch_size=len(batch[0]),
        )

    def _data_position(self) -> tuple:
        """(epoch, batches done in it) of the training data, from the optimiser step count.

        Derived from ``global_step`` (restored exactly from a checkpoint, and one step per batch
        here) rather than from Lightning's epoch counter, which can skip a number when a run
        resumes from a checkpoint taken on the last batch of an epoch.
        """
        return divmod(self.global_step, max(1, len(self.train_loader)))

    def train_dataloader(self):
        """The training loader, positioned where the (possibly restored) run stands.

        Lightning creates the first iterator of a fit, and of a resumed fit, before it calls
        ``set_epoch``. Here, after the checkpoint's loop state is restored, the sampler gets the
        data epoch and (with :class:`~.sampler.ResumableEpochSampler`) skips the batches of
        this epoch that the checkpointed run already trained on.
        """
        loader = self.train_loader
        sampler = getattr(loader, "sampler", None)
        if self._trainer is not None and hasattr(sampler, "set_epoch"):
            epoch, done = self._data_position()
            sampler.set_epoch(epoch)
            if done and hasattr(sampler, "skip_once"):
                sampler.skip_once(done * loader.batch_size)
        return loader

    def on_train_epoch_start(self):
        """Sets the sampler's epoch from the step count (see :meth:`_data_position`)."""
        sampler = getattr(self.train_loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(self._data_position()[0])

    def on_validation_epoch_end(self):
        """Logs ``hp_metric`` (= ``val_acc``); Asteroid's version crashes without a logger."""
        metric = self.trainer.callback_metrics.get(self.default_monitor)
        if metric is not None and self.trainer.logger is not None:
            self.trainer.logger.log_metrics(
                {"hp_metric": float(metric)}, step=self.trainer.global_step
            )
