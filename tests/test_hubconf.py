"""``torch.hub.load`` on this repository, with no network."""

import os

import torch

from phalar_asteroid.models import COCOLA, PHALAR

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_hub_loads_the_shipped_checkpoint():
    model = torch.hub.load(REPO, "phalar_embedded", source="local")
    shipped = PHALAR.from_pretrained("phalar-embedded").eval()
    assert type(model) is PHALAR and not model.training
    assert model.get_model_args() == shipped.get_model_args()
    x = 0.1 * torch.randn(1, 20000, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(model(x), shipped(x), rtol=0, atol=0)


def test_hub_entry_points():
    tiny = torch.hub.load(REPO, "phalar", source="local", depth=1, backbone_width=2, embed_dim=8)
    assert type(tiny) is PHALAR and tiny.get_model_args()["embed_dim"] == 8
    cocola = torch.hub.load(REPO, "cocola", source="local", features="mel", n_mels=32)
    assert type(cocola) is COCOLA and cocola.in_channels == 1
