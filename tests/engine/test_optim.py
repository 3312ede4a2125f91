"""Optimiser factory: exact group membership, and updates equal to torch's Muon and AdamW."""

import pytest
import torch

from phalar_asteroid.engine import MuonAdamW, make_contrastive_optimizer, split_parameters
from phalar_asteroid.engine.optim import newton_schulz
from phalar_asteroid.models import PHALAR


@pytest.fixture(scope="module")
def phalar():
    return PHALAR()


def _ids(params):
    return {id(p) for p in params}


def test_reference_groups_membership(phalar):
    opt = make_contrastive_optimizer(phalar)
    assert isinstance(opt, MuonAdamW)
    groups = {g["name"]: g for g in opt.param_groups}
    assert list(groups) == ["muon", "encoder", "similarity"]
    sim = _ids(phalar.similarity.parameters())
    expected_muon = {id(p) for p in phalar.parameters() if p.dim() >= 2 and id(p) not in sim}
    expected_adam = {id(p) for p in phalar.parameters() if p.dim() < 2 and id(p) not in sim}
    assert _ids(groups["muon"]["params"]) == expected_muon
    assert _ids(groups["encoder"]["params"]) == expected_adam
    assert _ids(groups["similarity"]["params"]) == sim
    # Every parameter exactly once.
    counts = sum(len(g["params"]) for g in opt.param_groups)
    assert counts == len(list(phalar.parameters()))
    # The reference's named members: the stem conv, the LSP projection, both head matrices.
    named = dict(phalar.named_parameters())
    for name in (
        "backbone.stem.weight",
        "pool.project.weight",
        "head.linear_in.weight",
        "head.linear_out.weight",
        "backbone.blocks.0.freq.conv_in.weight",
    ):
        assert id(named[name]) in expected_muon, name
    for name in (
        "head.norm.weight",
        "head.act.bias",
        "backbone.blocks.0.freq.scale.scale",
        "backbone.blocks.0.freq.conv_in.bias",
    ):
        assert id(named[name]) in expected_adam, name
    # Numbers of the default model (2,293,104 parameters in all).
    assert sum(p.numel() for p in groups["similarity"]["params"]) == 524_288
    assert sum(p.numel() for g in opt.param_groups for p in g["params"]) == 2_293_104


def test_reference_hyper_parameters(phalar):
    groups = {g["name"]: g for g in make_contrastive_optimizer(phalar).param_groups}
    assert groups["muon"]["use_muon"] and groups["muon"]["lr"] == 0.02
    assert groups["muon"]["momentum"] == 0.95 and groups["muon"]["weight_decay"] == 1e-3
    assert groups["muon"]["nesterov"] and groups["muon"]["ns_steps"] == 5
    for name in ("encoder", "similarity"):
        g = groups[name]
        assert not g["use_muon"]
        assert (g["lr"], g["betas"], g["eps"], g["weight_decay"]) == (
            4e-3,
            (0.9, 0.95),
            1e-10,
            1e-3,
        )


def test_adamw_only_and_cocola_adam(phalar):
    adamw = make_contrastive_optimizer(phalar, optimizer="adamw")
    assert type(adamw) is torch.optim.AdamW
    assert [g["name"] for g in adamw.param_groups] == ["encoder", "similarity"]
    assert _ids(adamw.param_groups[1]["params"]) == _ids(phalar.similarity.parameters())
    adam = make_contrastive_optimizer(
        phalar, optimizer="adam", adam_lr=1e-3, adam_b2=0.999, adam_eps=1e-8, adam_wd=0.0
    )
    assert type(adam) is torch.optim.Adam
    (group,) = adam.param_groups
    assert (group["lr"], group["betas"], group["weight_decay"]) == (1e-3, (0.9, 0.999), 0.0)
    assert len(group["params"]) == len(list(phalar.parameters()))
    with pytest.raises(ValueError, match="optimizer must be one of"):
        make_contrastive_optimizer(phalar, optimizer="sgd")


def test_split_requires_a_similarity():
    with pytest.raises(ValueError, match="similarity"):
        split_parameters(torch.nn.Linear(3, 3))
    matrices, others, sim = split_parameters(PHALAR(backbone_width=2, depth=1, embed_dim=8))
    assert all(p.dim() >= 2 for p in matrices) and all(p.dim() < 2 for p in others)


def test_muon_group_rejects_vectors():
    with pytest.raises(ValueError, match="rank >= 2"):
        MuonAdamW([dict(params=[torch.nn.Parameter(torch.zeros(3))], use_muon=True)])
    with pytest.raises(ValueError, match="use_muon"):
        MuonAdamW([dict(params=[torch.nn.Parameter(torch.zeros(3))])])


@pytest.mark.parametrize("shape", [(6, 4, 3, 1), (3, 8, 1, 3), (5, 7)])
def test_updates_match_torch_muon_and_adamw(shape):
    """A conv weight is updated as torch.optim.Muon updates its (out, in*kh*kw) matrix."""
    torch.manual_seed(0)
    weight = torch.nn.Parameter(torch.randn(shape))
    bias = torch.nn.Parameter(torch.randn(6))
    matrix = torch.nn.Parameter(weight.detach().reshape(shape[0], -1).clone())
    bias_ref = torch.nn.Parameter(bias.detach().clone())
    ours = MuonAdamW(
        [
            dict(params=[weight], use_muon=True, lr=0.02, weight_decay=1e-3),
            dict(params=[bias], use_muon=False, lr=4e-3, weight_decay=1e-3),
        ],
        ns_dtype=torch.bfloat16,  # torch's Muon always iterates in bf16
    )
    muon = torch.optim.Muon([matrix], lr=0.02, weight_decay=1e-3)
    adamw = torch.optim.AdamW([bias_ref], lr=4e-3, betas=(0.9, 0.95), eps=1e-10, weight_decay=1e-3)
    for _ in range(3):
        grad, grad_b = torch.randn(shape), torch.randn(6)
        weight.grad, matrix.grad = grad.clone(), grad.reshape(shape[0], -1).clone()
        bias.grad, bias_ref.grad = grad_b.clone(), grad_b.clone()
        ours.step(), muon.step(), adamw.step()
    assert torch.equal(weight.detach().reshape(shape[0], -1), matrix.detach())
    assert torch.equal(bias.detach(), bias_ref.detach())
    state = ours.state_dict()
    assert set(state["state"][0]) == {"momentum_buffer"}
    assert set(state["state"][1]) == {"step", "exp_avg", "exp_avg_sq"}
    assert state["state"][1]["step"].item() == 3.0


def test_float32_newton_schulz_on_cpu_is_close_to_bf16():
    torch.manual_seed(0)
    g = torch.randn(40, 24)
    fp32 = newton_schulz(g, 5, (3.4445, -4.7750, 2.0315), torch.float32)
    bf16 = newton_schulz(g, 5, (3.4445, -4.7750, 2.0315), torch.bfloat16).float()
    assert fp32.dtype == torch.float32 and fp32.shape == (40, 24)
    assert torch.allclose(fp32, bf16, atol=0.05)
    # Roughly orthogonal columns: singular values within Muon's (0.5, 1.5) band.
    singular = torch.linalg.svdvals(fp32)
    assert singular.min() > 0.5 and singular.max() < 1.5


def test_newton_schulz_leaves_its_input_alone():
    g = torch.randn(7, 5)
    before = g.clone()
    newton_schulz(g, 5, (3.4445, -4.7750, 2.0315), torch.float32)
    assert torch.equal(g, before)
