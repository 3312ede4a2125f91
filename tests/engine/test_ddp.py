"""ContrastiveSystem under Lightning's DDP (2 CPU processes, gloo) with gathered negatives.

The DDP run is a real subprocess (``ddp_worker.py``, which Lightning re-executes for rank 1); this
process then replays every step on one "device": the concatenated batch of both ranks in one
model call, every anchor against every candidate, InfoNCE over all rows. Losses must agree to
1e-5 relative and every gradient element to 1e-5 of the step's largest gradient (float32; what
remains is summation order), and the ranks must hold bit-identical weights.
"""

import importlib.util
import os
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
import torch

from phalar_asteroid.engine import transpose_up

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
WORKER = os.path.join(HERE, "ddp_worker.py")
#: Largest difference allowed: relative to the reference loss, and for gradients relative to the
#: largest gradient magnitude of the step.
RTOL = 1e-5


def _load_worker():
    spec = importlib.util.spec_from_file_location("ddp_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


worker = _load_worker()


def _clean_env() -> dict:
    """This checkout first on the path, one thread, and no launcher variables (SLURM, torchrun)
    that would make Lightning join a cluster job instead of launching its own processes."""
    launcher = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK", "MASTER_ADDR")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLURM_", "TORCHELASTIC_", "PL_")) and k not in launcher
    }
    env.pop("MASTER_PORT", None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    env["OMP_NUM_THREADS"] = "1"
    return env


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, WORKER, str(out)],
        cwd=str(out),
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    print(f"DDP worker: {time.perf_counter() - start:.1f} s")
    return [torch.load(out / f"rank{r}.pt", weights_only=False) for r in range(worker.WORLD)]


def _single_device_step(system, steps):
    """Loss, per-rank row losses, gradients and candidate count of one step on one device.

    ``steps[r]`` is rank r's record of the step. The batch is the ranks' pairs concatenated,
    embedded in one model call; each rank's transposed positives are drawn as that rank drew
    them (from its step seed), and its extras are its own.
    """
    model = system.model
    model.load_state_dict(steps[0]["weights"])
    model.zero_grad()
    anchors = torch.cat([s["batch"][0] for s in steps])
    positives = torch.cat([s["batch"][1] for s in steps])
    extras = torch.cat([s["batch"][2] for s in steps])
    n, n_all = len(steps[0]["batch"][0]), len(anchors)
    spec = model.spectrogram(torch.cat((anchors, positives, extras)))
    shifted = []
    for r, step in enumerate(steps):
        gen = torch.Generator().manual_seed(step["seed"])
        n_transposed = round(worker.TRANSPOSE_FRACTION * n)
        pairs = torch.randperm(n, generator=gen)[:n_transposed]
        low, high = system.transpose_semitones
        semitones = torch.randint(low, high + 1, (n_transposed,), generator=gen)
        source = spec[n_all + r * n + pairs]
        shifted.append(transpose_up(source, semitones * system.bins_per_semitone))
    emb = model.embed_spectrogram(torch.cat([spec] + shifted))
    logits = model.similarity(emb[:n_all], emb[n_all:])
    loss = system.loss_func(logits)
    loss.backward()
    targets = torch.arange(n_all)
    rows = [
        system.loss_func(logits[targets // n == r], targets[targets // n == r])
        for r in range(len(steps))
    ]
    grads = {k: p.grad.clone() for k, p in model.named_parameters()}
    return loss.detach(), torch.stack(rows).detach(), grads, logits.shape[1]


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b| relative to max |b|."""
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


def test_ddp_gathered_negatives_equal_single_device_run(ddp_run):
    records = ddp_run
    assert [r["rank"] for r in records] == [0, 1] and records[0]["world_size"] == 2
    assert len(records[0]["steps"]) == worker.STEPS
    # (a) Both ranks hold the same weights before every step and at the end, bit for bit.
    for r0, r1 in zip(records[0]["steps"], records[1]["steps"]):
        assert all(torch.equal(v, r1["weights"][k]) for k, v in r0["weights"].items())
    assert all(torch.equal(v, records[1]["final"][k]) for k, v in records[0]["final"].items())
    # The data differs between ranks, extras included (counts (1, 2), (2, 0), (0, 2)).
    extras = [[len(r["steps"][s]["batch"][2]) for r in records] for s in range(worker.STEPS)]
    assert extras == [[1, 2], [2, 0], [0, 2]]

    # (b) Every step equals one device on the concatenated batch.
    system = worker.build_system().train()
    worst = dict.fromkeys(("loss_abs", "loss_rel", "grad_abs", "grad_rel", "grad_rel_tensor"), 0.0)
    for s in range(worker.STEPS):
        steps = [r["steps"][s] for r in records]
        loss, rows, grads, n_candidates = _single_device_step(system, steps)
        ddp_rows = torch.stack([step["loss"] for step in steps])
        # Each rank's loss is the mean over its own anchors of the global-batch InfoNCE ...
        torch.testing.assert_close(ddp_rows, rows, rtol=RTOL, atol=0.0)
        # ... and their mean (what DDP's gradient averaging optimises) is the one-device loss.
        worst["loss_abs"] = max(worst["loss_abs"], float((ddp_rows.mean() - loss).abs()))
        worst["loss_rel"] = max(worst["loss_rel"], _rel(ddp_rows.mean(), loss))
        # Gradients: every element within RTOL of the step's largest gradient magnitude (a
        # tensor whose gradients are 1e4 times smaller only keeps float32's absolute accuracy).
        scale = max(float(g.abs().max()) for g in grads.values())
        for step in steps:
            assert step["negatives"] == n_candidates - 1  # the global count is logged
            for name, grad in grads.items():
                diff = float((step["grads"][name] - grad).abs().max())
                worst["grad_abs"] = max(worst["grad_abs"], diff)
                worst["grad_rel"] = max(worst["grad_rel"], diff / scale)
                worst["grad_rel_tensor"] = max(
                    worst["grad_rel_tensor"], _rel(step["grads"][name], grad)
                )
    print("max differences DDP vs one device:", worst)
    assert worst["loss_rel"] <= RTOL and worst["grad_rel"] <= RTOL, worst


def test_gathers_negatives_only_with_several_devices():
    system = worker.build_system()
    assert not system.gathers_negatives()  # no trainer
    system._trainer = SimpleNamespace(world_size=1)
    assert not system.gathers_negatives()
    system._trainer = SimpleNamespace(world_size=2)
    assert system.gathers_negatives()
    system.gather_negatives = False
    assert not system.gathers_negatives()


def test_global_candidates_puts_local_positives_first_and_drops_padding():
    """Rank 1 of 2, with a fake all-gather: rank 0 holds 2 positives, 1 extra, 1 transposed;
    rank 1 holds 2 positives, no extra, 1 transposed."""
    system = worker.build_system()
    system._trainer = SimpleNamespace(world_size=2, global_rank=1)
    mine = torch.tensor([[10.0], [11.0], [12.0]])  # positives 10, 11; transposed 12
    theirs = torch.tensor([[0.0], [1.0], [2.0], [3.0]])  # positives 0, 1; extra 2; transposed 3
    calls = []

    def fake_all_gather(x, sync_grads=False):
        calls.append(sync_grads)
        if x.dtype == torch.long:
            return torch.stack((torch.tensor([2, 1, 1]), x))
        assert len(x) == 4  # padded to the larger count
        return torch.stack((theirs, x))

    system.all_gather = fake_all_gather
    out = system.global_candidates(mine, (2, 0, 1))
    assert out.flatten().tolist() == [10.0, 11.0, 0.0, 1.0, 2.0, 3.0, 12.0]
    assert calls == [False, True]  # counts without gradients, embeddings with them
