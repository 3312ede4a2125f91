"""ContrastiveSystem: logits, logged metrics, and bit-exact resumption after a kill."""

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint
from torch.utils.data import DataLoader

from phalar_asteroid.data.pairs import RandomCropCollate, StemPairDataset
from phalar_asteroid.engine import ContrastiveSystem, make_contrastive_optimizer, top1_accuracy
from phalar_asteroid.engine.sampler import ResumableEpochSampler
from phalar_asteroid.losses import InfoNCELoss
from phalar_asteroid.models import PHALAR

#: A PHALAR small enough for a CPU training step in well under a second.
TINY_PHALAR = dict(
    hop_length=320, backbone_width=2, depth=1, lsp_channels=4, lsp_components=2, embed_dim=8
)


def test_top1_accuracy_counts_diagonal_argmax():
    logits = torch.tensor([[3.0, 1.0, 0.0, 5.0], [0.0, 2.0, 1.0, 0.0], [4.0, 0.0, 1.0, 0.0]])
    # Rows 0 and 2 pick another column; row 1 picks its own (an extra negative column is allowed).
    assert top1_accuracy(logits).item() == pytest.approx(1 / 3)


def _system(loader=None, val_loader=None, seed=5):
    model = PHALAR(**TINY_PHALAR)
    return ContrastiveSystem(
        model, make_contrastive_optimizer(model), InfoNCELoss(), loader, val_loader, seed=seed
    )


def test_batch_logits_one_call_with_extra_negatives():
    torch.manual_seed(0)
    system = _system().eval()
    calls = []
    system.model.register_forward_hook(lambda mod, inp, out: calls.append(inp[0].shape))
    anchors, positives, extras = torch.randn(3, 2, 20000).unbind(0)
    extras = extras[:1]
    logits = system.batch_logits((anchors, positives, extras), train=False)
    assert calls == [torch.Size([5, 20000])]  # anchors, positives and extras in one call
    assert logits.shape == (2, 3)
    with torch.no_grad():
        emb = system.model(torch.cat((anchors, positives, extras)))
        expected = system.model.similarity(emb[:2], emb[2:])  # training (plain) form
    torch.testing.assert_close(logits, expected)
    loss = system.common_step((anchors, positives), 0, train=False)
    torch.testing.assert_close(loss, InfoNCELoss()(logits[:, :2]))


def test_rejects_malformed_batches():
    system = _system()
    with pytest.raises(TypeError, match="anchors, positives"):
        system.batch_logits(torch.zeros(2, 20000))
    with pytest.raises(ValueError, match="share their length"):
        system.batch_logits((torch.zeros(2, 20000), torch.zeros(2, 19000)))


class _NoSkipSampler(ResumableEpochSampler):
    """The sampler without its resume skip: a restarted epoch starts from its first batch."""

    def skip_once(self, n_items):
        pass


def _loader(manifest, sampler_cls):
    dataset = StemPairDataset(manifest, segment_seconds=1.5, epoch_pairs=6, augment=True, seed=3)
    return DataLoader(
        dataset,
        batch_size=2,
        sampler=sampler_cls(len(dataset)),
        collate_fn=RandomCropCollate(1.1, 1.5, seed=3),
        drop_last=True,
    )


def _fit(
    manifest, ckpt_dir, max_steps, resume, init_seed, every=2, sampler_cls=ResumableEpochSampler
):
    """Trains the tiny model; 3 steps per epoch, a checkpoint (last.ckpt) every ``every`` steps."""
    pl.seed_everything(init_seed)
    system = _system(_loader(manifest, sampler_cls))
    trainer = pl.Trainer(
        max_steps=max_steps,
        accelerator="cpu",
        callbacks=[
            ModelCheckpoint(ckpt_dir, every_n_train_steps=every, save_top_k=0, save_last=True)
        ],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        use_distributed_sampler=False,
    )
    trainer.fit(system, ckpt_path="last" if resume else None)
    return system.model.state_dict(), trainer.global_step


@pytest.fixture(scope="module")
def uninterrupted(manifest, tmp_path_factory):
    return _fit(manifest, str(tmp_path_factory.mktemp("full")), 5, False, init_seed=0)


@pytest.mark.parametrize("kill_step", [2, 3], ids=["mid-epoch", "epoch-end"])
def test_resume_equals_uninterrupted_run(manifest, tmp_path, uninterrupted, kill_step):
    """5 steps in one go vs ``kill_step`` steps, a kill, and the rest from last.ckpt."""
    full, full_steps = uninterrupted
    _fit(manifest, str(tmp_path), kill_step, False, init_seed=0, every=kill_step)
    # A different initialisation: everything must come from the checkpoint.
    resumed, steps = _fit(manifest, str(tmp_path), 5, True, init_seed=123, every=kill_step)
    assert steps == full_steps == 5
    for name, value in full.items():
        assert torch.equal(value, resumed[name]), name


def test_resume_without_the_skip_sees_other_data(manifest, tmp_path, uninterrupted):
    """The same experiment without the skip repeats the epoch's first batches."""
    full, _ = uninterrupted
    _fit(manifest, str(tmp_path), 2, False, init_seed=0, sampler_cls=_NoSkipSampler)
    resumed, _ = _fit(manifest, str(tmp_path), 5, True, init_seed=0, sampler_cls=_NoSkipSampler)
    assert not all(torch.equal(v, resumed[k]) for k, v in full.items())


def test_validation_without_logger_does_not_crash(manifest):
    """Asteroid's System logs hp_metric through trainer.logger, which is None here."""
    pairs = StemPairDataset(manifest, 1.5, epoch_pairs=4, augment=False)
    val = DataLoader([pairs[i] for i in range(len(pairs))], batch_size=2)
    system = _system(val_loader=val)
    trainer = pl.Trainer(
        accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False
    )
    (metrics,) = trainer.validate(system, dataloaders=val)
    assert set(metrics) == {"val_acc", "val_loss"}
    assert 0.0 <= metrics["val_acc"] <= 1.0
