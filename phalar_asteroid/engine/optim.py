"""Optimisers of the contrastive recipes (docs/model.md#optimiser).

Asteroid's ``make_optimizer`` cannot express parameter groups, so the groups are built here from
the model: by parameter rank and module identity, never by substrings of names.
"""

import math

import torch
from torch.optim import Optimizer
from torch.optim.adamw import adamw as _adamw_update

OPTIMIZERS = ("muon_adamw", "adamw", "adam")


def _as_matrix(t: torch.Tensor) -> torch.Tensor:
    # Conv weights (out, in, kh, kw) are orthogonalised as (out, in·kh·kw) matrices, as in the
    # Muon repository.
    return t.reshape(t.shape[0], -1) if t.dim() > 2 else t


def newton_schulz(g: torch.Tensor, steps: int, coefficients, dtype) -> torch.Tensor:
    """Approximate orthogonalisation of a matrix: Muon's quintic Newton–Schulz iteration.

    Same operations, in the same order, as ``torch.optim.Muon`` (which always uses bf16), so
    with ``dtype=torch.bfloat16`` the result is identical to torch's.

    Args:
        g (torch.Tensor): ``(rows, cols)`` update.
        steps (int): iterations.
        coefficients (tuple): (a, b, c) of the quintic.
        dtype (torch.dtype): computation type.

    Returns:
        torch.Tensor: ``(rows, cols)`` in ``dtype``.
    """
    a, b, c = coefficients
    x = g.to(dtype)
    if g.size(0) > g.size(1):
        x = x.T
    # Out of place: ``g.to(dtype)`` may be ``g`` itself (e.g. the momentum buffer).
    x = x / x.norm().clamp(min=1e-7)
    for _ in range(steps):
        gram = x @ x.T
        x = torch.addmm(x, torch.addmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
    return x.T if g.size(0) > g.size(1) else x


class MuonAdamW(Optimizer):
    r"""One optimiser with Muon groups and AdamW groups (the single-device ``MuonWithAuxAdam``).

    A group with ``use_muon=True`` is updated by Muon (momentum, Nesterov, 5 Newton–Schulz
    iterations, decoupled weight decay, step scaled by :math:`\sqrt{\max(1, rows/cols)}`),
    exactly as ``torch.optim.Muon`` does, except that its weights may have any rank >= 2 (conv
    weights are viewed as ``(out, in·kh·kw)`` matrices; torch's Muon refuses them) and that the
    Newton–Schulz iterations run in bf16 on GPU (as torch and the reference do) but in float32 on
    CPU, where bf16 matrix products are about 3x slower. Other groups are updated by
    ``torch.optim``'s functional AdamW. One optimiser object, because Lightning's automatic
    optimisation takes one; its ``state_dict`` is a plain ``Optimizer``'s.

    Args:
        param_groups (list[dict]): groups with ``params``, ``use_muon`` and optionally their own
            hyper-parameters (``lr``, ``weight_decay``; Muon: ``momentum``, ``nesterov``,
            ``ns_steps``; AdamW: ``betas``, ``eps``).
        lr (float): default learning rate.
        weight_decay (float): default decoupled weight decay.
        momentum (float): Muon momentum.
        nesterov (bool): Muon Nesterov momentum.
        ns_steps (int): Newton–Schulz iterations.
        betas (tuple): AdamW betas.
        eps (float): AdamW epsilon.
        ns_dtype (torch.dtype, optional): Newton–Schulz type; None: bf16 on GPU, fp32 on CPU.
    """

    def __init__(
        self,
        param_groups,
        lr: float = 0.02,
        weight_decay: float = 0.0,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_steps: int = 5,
        betas=(0.9, 0.95),
        eps: float = 1e-10,
        ns_dtype=None,
    ):
        param_groups = list(param_groups)
        for group in param_groups:
            if "use_muon" not in group:
                raise ValueError("Every parameter group of MuonAdamW needs a 'use_muon' flag")
            if group["use_muon"]:
                for p in group["params"]:
                    if p.dim() < 2:
                        raise ValueError(
                            f"Muon groups take weights of rank >= 2, got shape {tuple(p.shape)}"
                        )
        defaults = dict(
            lr=lr,
            weight_decay=weight_decay,
            momentum=momentum,
            nesterov=nesterov,
            ns_steps=ns_steps,
            ns_coefficients=(3.4445, -4.7750, 2.0315),
            betas=tuple(betas),
            eps=eps,
            ns_dtype=ns_dtype,
        )
        super().__init__(param_groups, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        """Performs one optimisation step.

        Args:
            closure (callable, optional): re-evaluates the model and returns the loss.

        Returns:
            The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            if group["use_muon"]:
                self._muon_step(group, params)
            else:
                self._adamw_step(group, params)
        return loss

    def _muon_step(self, group, params):
        for p in params:
            state = self.state[p]
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            buf = state["momentum_buffer"]
            buf.lerp_(p.grad, 1 - group["momentum"])
            update = p.grad.lerp(buf, group["momentum"]) if group["nesterov"] else buf
            dtype = group["ns_dtype"] or (torch.bfloat16 if p.is_cuda else torch.float32)
            matrix = _as_matrix(update)
            ortho = newton_schulz(matrix, group["ns_steps"], group["ns_coefficients"], dtype)
            scale = math.sqrt(max(1.0, matrix.size(0) / matrix.size(1)))
            p.mul_(1 - group["lr"] * group["weight_decay"])
            p.add_(ortho.reshape(p.shape).to(p.dtype), alpha=-group["lr"] * scale)

    def _adamw_step(self, group, params):
        exp_avgs, exp_avg_sqs, steps = [], [], []
        for p in params:
            state = self.state[p]
            if "step" not in state:
                state["step"] = torch.tensor(0.0, dtype=torch.float32)
                state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            exp_avgs.append(state["exp_avg"])
            exp_avg_sqs.append(state["exp_avg_sq"])
            steps.append(state["step"])
        beta1, beta2 = group["betas"]
        _adamw_update(
            params,
            [p.grad for p in params],
            exp_avgs,
            exp_avg_sqs,
            [],
            steps,
            amsgrad=False,
            beta1=beta1,
            beta2=beta2,
            lr=group["lr"],
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            maximize=False,
        )


def split_parameters(model: torch.nn.Module):
    """Splits a contrastive encoder's trainable parameters into the three reference groups.

    Args:
        model (torch.nn.Module): a model with a ``similarity`` sub-module.

    Returns:
        tuple[list, list, list]: (encoder weights of rank >= 2, other encoder parameters,
        similarity parameters), each in ``named_parameters`` order.
    """
    if not isinstance(getattr(model, "similarity", None), torch.nn.Module):
        raise ValueError(f"{type(model).__name__} has no 'similarity' module to group apart")
    similarity_ids = {id(p) for p in model.similarity.parameters()}
    matrices, others, similarity = [], [], []
    for p in model.parameters():
        if not p.requires_grad:
            continue
        if id(p) in similarity_ids:
            similarity.append(p)
        elif p.dim() >= 2:
            matrices.append(p)
        else:
            others.append(p)
    return matrices, others, similarity


def make_contrastive_optimizer(
    model: torch.nn.Module,
    optimizer: str = "muon_adamw",
    muon_lr: float = 0.02,
    muon_momentum: float = 0.95,
    muon_wd: float = 1e-3,
    adam_lr: float = 4e-3,
    adam_b1: float = 0.9,
    adam_b2: float = 0.95,
    adam_eps: float = 1e-10,
    adam_wd: float = 1e-3,
) -> Optimizer:
    """Builds the optimiser of a contrastive encoder.

    - ``"muon_adamw"`` (PHALAR reference): Muon on every encoder weight of rank >= 2; AdamW on
      the other encoder parameters; a separate AdamW group for the similarity.
    - ``"adamw"``: AdamW everywhere, same two AdamW groups, the Muon weights joining the encoder
      group.
    - ``"adam"`` (original COCOLA): plain Adam on all parameters (``adam_wd`` is L2, use 0).

    Args:
        model (torch.nn.Module): model with a ``similarity`` sub-module.
        optimizer (str): one of :data:`OPTIMIZERS`.
        muon_lr, muon_momentum, muon_wd: Muon settings.
        adam_lr, adam_b1, adam_b2, adam_eps, adam_wd: (Adam)AdamW settings.

    Returns:
        torch.optim.Optimizer: a single optimiser; its groups carry a ``name``.
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    betas = (adam_b1, adam_b2)
    if optimizer == "adam":
        params = [p for p in model.parameters() if p.requires_grad]
        return torch.optim.Adam(params, lr=adam_lr, betas=betas, eps=adam_eps, weight_decay=adam_wd)
    matrices, others, similarity = split_parameters(model)
    if optimizer == "adamw":
        groups = [
            dict(params=matrices + others, name="encoder"),
            dict(params=similarity, name="similarity"),
        ]
        return torch.optim.AdamW(
            [g for g in groups if g["params"]],
            lr=adam_lr,
            betas=betas,
            eps=adam_eps,
            weight_decay=adam_wd,
        )
    adam_group = dict(lr=adam_lr, betas=betas, eps=adam_eps, weight_decay=adam_wd, use_muon=False)
    groups = [
        dict(
            params=matrices,
            name="muon",
            use_muon=True,
            lr=muon_lr,
            momentum=muon_momentum,
            weight_decay=muon_wd,
        ),
        dict(params=others, name="encoder", **adam_group),
        dict(params=similarity, name="similarity", **adam_group),
    ]
    return MuonAdamW([g for g in groups if g["params"]])
