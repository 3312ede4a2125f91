"""Train a contrastive encoder (PHALAR, an ablation, or COCOLA) on stem pairs.

Asteroid's recipe conventions: ``local/conf.yml`` (plus overlays) gives the defaults, every leaf
is a command-line option, the merged configuration is written to ``exp_dir/conf.yml``, and the
run leaves ``checkpoints/``, logs, ``best_k_models.json`` and ``best_model.pth`` in ``exp_dir``.
A run killed part-way resumes from ``checkpoints/last.ckpt`` with the same data order and
optimiser state.
"""

import argparse
import datetime
import os
import sys

import pytorch_lightning as pl
import torch
import yaml
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger
from torch.utils.data import ConcatDataset, DataLoader

from phalar_asteroid.data.augment import AugmentConfig
from phalar_asteroid.data.datasets import Manifest
from phalar_asteroid.data.pairs import MixedPairDataset, RandomCropCollate, StemPairDataset
from phalar_asteroid.data.retrieval_lists import ListPairDataset, load_lists
from phalar_asteroid.engine import (
    ContrastiveSystem,
    HardNegativeSchedule,
    make_contrastive_optimizer,
)
from phalar_asteroid.engine.callbacks import TimeToAccuracy
from phalar_asteroid.engine.precision import auto_precision
from phalar_asteroid.engine.sampler import ResumableEpochSampler
from phalar_asteroid.losses import InfoNCELoss
from phalar_asteroid.utils.config import parse_with_conf
from phalar_asteroid.utils.io import atomic_output, write_json
from phalar_asteroid.utils.malloc import keep_freed_memory

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from local.config import build_model, overlay_paths  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--exp_dir", default="exp/tmp", help="Full path to save best validation model")
parser.add_argument(
    "--overlays",
    default="",
    help="Comma-separated overlays over local/conf.yml (e.g. presets/quick)",
)
parser.add_argument("--data_dir", default="data", help="Prepared manifests/ and lists/")
parser.add_argument("--datasets", default="", help="Comma-separated dataset names to train on")


def read_manifests(data_dir: str, names, split: str) -> dict:
    """Manifests ``data_dir/manifests/<name>_<split>.json`` that exist (empty ones skipped)."""
    out = {}
    for name in names:
        path = os.path.join(data_dir, "manifests", f"{name}_{split}.json")
        if not os.path.isfile(path):
            raise FileNotFoundError(f"Missing manifest {path}: run the recipe's stage 1 first")
        manifest = Manifest.load(path)
        if any(len(t["stems"]) >= 2 for t in manifest):
            out[name] = manifest
    return out


def make_loaders(conf: dict, data_dir: str, names) -> tuple:
    """Training loader (resumable, rank-sharded) and the fixed validation loader."""
    d, seed = conf["data"], conf["training"]["seed"]
    augment = AugmentConfig(
        **{k: v for k, v in conf["augment"].items() if k != "augment"}, **conf["recording"]
    )
    augment = augment if conf["augment"]["augment"] else None
    train = read_manifests(data_dir, names, "train")
    if not train:
        raise ValueError(f"No training track with 2 stems in {data_dir}/manifests for {names}")
    sources = [
        StemPairDataset(
            train[name],
            segment_seconds=d["train_seconds"],
            sample_rate=d["sample_rate"],
            epoch_pairs=d["epoch_pairs"],
            augment=augment,
            seed=seed,
            min_stem_db=d["min_stem_db"],
            same_track_fraction=d["same_track_fraction"],
            min_bar_shift=d["min_bar_shift"],
        )
        for name in sorted(train)
    ]
    # Equal weights per dataset; items are pure functions of the sampler's (epoch, index) keys.
    train_set = MixedPairDataset(sources, d["epoch_pairs"], seed)
    train_loader = DataLoader(
        train_set,
        batch_size=d["batch_size"],
        sampler=ResumableEpochSampler(len(train_set)),
        collate_fn=RandomCropCollate(
            d["min_crop_seconds"],
            d["train_seconds"],
            d["sample_rate"],
            seed,
            step_seconds=d["crop_step_seconds"],
        ),
        num_workers=d["num_workers"],
        drop_last=True,
        persistent_workers=d["num_workers"] > 0,
    )
    val_sets = []
    for name, manifest in sorted(read_manifests(data_dir, names, "valid").items()):
        path = os.path.join(data_dir, "lists", f"{name}_valid_other-track.json")
        if os.path.isfile(path):
            val_sets.append(ListPairDataset(load_lists(path), manifest))
    # Not sharded: under DDP every rank scores the whole fixed list (the synced val_acc is then
    # exactly the single-device value, and checkpoint selection does not depend on world size).
    val_loader = None
    if val_sets:
        # Loaded in the training process: a worker forked at the first validation copies the
        # trainer's heap by then (7.6 GB private in a CPU run of the harmony preset, held until
        # the next validation), and the fixed pairs take seconds to read.
        val_loader = DataLoader(
            ConcatDataset(val_sets), batch_size=d["val_batch_size"], num_workers=0, shuffle=False
        )
    return train_set, train_loader, val_loader


def trainer_devices(conf: dict) -> tuple:
    """(accelerator, devices, strategy, precision) from the training group."""
    t = conf["training"]
    cuda = torch.cuda.is_available()
    accelerator = "gpu" if cuda else "cpu"
    devices = t["devices"]
    n_devices = torch.cuda.device_count() if (devices == "auto" and cuda) else 1
    if devices != "auto":
        n_devices = len(str(devices).split(",")) if "," in str(devices) else int(devices)
    strategy = "ddp" if n_devices > 1 or t["num_nodes"] > 1 else "auto"
    precision = auto_precision(cuda) if t["precision"] == "auto" else t["precision"]
    return accelerator, devices, strategy, precision


def main(conf):
    exp_dir = conf["main_args"]["exp_dir"]
    data_dir = conf["main_args"]["data_dir"]
    names = [n for n in conf["main_args"]["datasets"].split(",") if n]
    t = conf["training"]
    # Before the loaders: their forked workers inherit the allocator's settings.
    if t["keep_freed_memory"] and not keep_freed_memory():
        print("keep_freed_memory: this C library has no mallopt; left as it is", flush=True)
    pl.seed_everything(t["seed"], workers=True)
    os.makedirs(exp_dir, exist_ok=True)
    conf_path = os.path.join(exp_dir, "conf.yml")
    with atomic_output(conf_path) as tmp, open(tmp, "w") as fhandle:
        yaml.safe_dump(conf, fhandle)

    train_set, train_loader, val_loader = make_loaders(conf, data_dir, names)
    model = build_model(conf)
    optimizer = make_contrastive_optimizer(model, **conf["optim"])
    is_cocola = conf["model"]["arch"] == "COCOLA"
    negatives = conf["negatives"]
    system = ContrastiveSystem(
        model=model,
        optimizer=optimizer,
        loss_func=InfoNCELoss(conf["loss"]["positive_target"]),
        train_loader=train_loader,
        val_loader=val_loader,
        config=conf,
        random_channel_masks=is_cocola
        and conf["cocola"]["features"] == "hpss"
        and conf["cocola"]["random_channel_masks"],
        seed=t["seed"],
        transpose_fraction=negatives["transpose_fraction"],
        transpose_semitones=(
            negatives["transpose_min_semitones"],
            negatives["transpose_max_semitones"],
        ),
        hard_schedule=HardNegativeSchedule(
            negatives["hard_start_step"], negatives["hard_ramp_steps"]
        ),
        gather_negatives=t["gather_negatives"],
    )

    ckpt_dir = os.path.join(exp_dir, "checkpoints")
    best = ModelCheckpoint(
        dirpath=ckpt_dir,
        filename="{epoch}-{step}",
        monitor="val_acc",
        mode="max",
        save_top_k=t["save_top_k"] if val_loader is not None else 0,
        verbose=True,
    )
    last = ModelCheckpoint(
        dirpath=ckpt_dir,
        every_n_train_steps=t["ckpt_every_n_steps"],
        save_top_k=0,
        save_last=True,
    )
    timer = TimeToAccuracy(t["target_val_acc"])
    accelerator, devices, strategy, precision = trainer_devices(conf)
    trainer = pl.Trainer(
        max_epochs=t["epochs"],
        max_steps=t["max_steps"],
        max_time=datetime.timedelta(minutes=t["max_minutes"]) if t["max_minutes"] > 0 else None,
        callbacks=[best, last, timer],
        default_root_dir=exp_dir,
        logger=[
            TensorBoardLogger(exp_dir, name="lightning_logs"),
            CSVLogger(exp_dir, name="csv_logs"),
        ],
        accelerator=accelerator,
        devices=devices,
        num_nodes=t["num_nodes"],
        strategy=strategy,
        precision=precision,
        use_distributed_sampler=False,  # ResumableEpochSampler shards by rank itself
        num_sanity_val_steps=0,
        log_every_n_steps=10,
        limit_val_batches=1.0 if val_loader is not None else 0,
    )
    resume = os.path.isfile(os.path.join(ckpt_dir, "last.ckpt"))
    trainer.fit(system, ckpt_path="last" if resume else None)
    if not trainer.is_global_zero:
        return

    best_k = {k: float(v) for k, v in best.best_k_models.items()}
    write_json(best_k, os.path.join(exp_dir, "best_k_models.json"), indent=0)
    # "last": the weights as training left them (this process holds them, whether fit just ran
    # or stopped at once because a resumed run was already complete).
    best_path = best.best_model_path if t["select_weights"] == "best" else ""
    if best_path:
        state = torch.load(best_path, map_location="cpu", weights_only=True)
        system.load_state_dict(state["state_dict"])
    system.cpu()
    to_save = system.model.serialize()
    to_save.update(train_set.get_infos())
    out = os.path.join(exp_dir, "best_model.pth")
    with atomic_output(out) as tmp:
        torch.save(to_save, tmp)
    summary = {
        "global_step": int(trainer.global_step),
        "train_seconds": timer.elapsed,
        "select_weights": t["select_weights"],
        "best_model_path": best_path,
        "best_val_acc": float(best.best_model_score) if best.best_model_score is not None else None,
        "target_val_acc": t["target_val_acc"],
        "seconds_to_target": timer.seconds_to_target,
        "steps_to_target": timer.steps_to_target,
        "val_history": timer.history,
        "n_parameters": sum(p.numel() for p in system.model.parameters()),
    }
    write_json(summary, os.path.join(exp_dir, "train_summary.json"), indent=1)


if __name__ == "__main__":
    pre_args, _ = parser.parse_known_args()
    overlays = overlay_paths(pre_args.overlays, os.path.join(HERE, "local"))
    main(parse_with_conf(parser, os.path.join(HERE, "local", "conf.yml"), overlays))
