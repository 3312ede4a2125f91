"""``from_pretrained`` resolves URLs and Hugging Face hub ids as Asteroid's ``cached_download``
does, with a cache that works offline. The download itself is mocked: no test needs a network."""

import os
import shutil
import urllib.error

import huggingface_hub
import pytest
import torch

from phalar_asteroid.models import PHALAR
from phalar_asteroid.models.base import resolve_pretrained

TINY_PHALAR = dict(
    hop_length=320, backbone_width=2, depth=1, lsp_channels=4, lsp_components=2, embed_dim=8
)
URL = "https://example.org/models/phalar_tiny.pth?download=1"
HUB_ID = "someone/phalar-tiny"


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    torch.manual_seed(3)
    model = PHALAR(**TINY_PHALAR).eval()
    path = str(tmp_path_factory.mktemp("remote") / "model.pth")
    torch.save(model.serialize(), path)
    return model, path


class Network:
    """Stand-in for the network: serves ``package`` while up, fails like urllib when down."""

    def __init__(self, source):
        self.source, self.up, self.calls = source, True, []

    def download_url_to_file(self, url, dst, *args, **kwargs):
        self.calls.append(url)
        if not self.up:
            raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
        shutil.copy(self.source, dst)

    def hf_hub_download(self, repo_id, filename, cache_dir, revision=None, **kwargs):
        path = os.path.join(cache_dir, repo_id.replace("/", "--"), revision or "main", filename)
        if kwargs.get("local_files_only"):
            if not os.path.isfile(path):
                raise huggingface_hub.errors.LocalEntryNotFoundError(f"{repo_id} not cached")
            return path
        self.calls.append((repo_id, filename, revision))
        if not self.up:
            raise ConnectionError("Failed to resolve 'huggingface.co'")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        shutil.copy(self.source, path)
        return path


@pytest.fixture
def network(package, monkeypatch):
    net = Network(package[1])
    monkeypatch.setattr(torch.hub, "download_url_to_file", net.download_url_to_file)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", net.hf_hub_download)
    return net


def same_output(a, b):
    x = 0.1 * torch.randn(1, 17000, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(a.eval()(x), b(x), rtol=0, atol=0)


@pytest.mark.parametrize(
    "reference", [URL, HUB_ID, f"{HUB_ID}@v1", f"https://huggingface.co/{HUB_ID}"]
)
def test_downloads_once_then_loads_offline_from_the_cache(package, network, tmp_path, reference):
    model, _ = package
    cache = str(tmp_path / "cache")
    same_output(PHALAR.from_pretrained(reference, cache_dir=cache), model)
    assert len(network.calls) == 1 and os.listdir(cache)
    network.up = False
    same_output(PHALAR.from_pretrained(reference, cache_dir=cache), model)
    if reference == f"{HUB_ID}@v1":
        assert network.calls[0] == (HUB_ID, "pytorch_model.bin", "v1")


@pytest.mark.parametrize("reference", [URL, HUB_ID])
def test_no_network_and_no_cache_is_a_clear_error(network, tmp_path, reference):
    network.up = False
    cache = str(tmp_path / "cache")
    with pytest.raises(ConnectionError, match=r"Cannot download .* no copy is cached in .*cache"):
        PHALAR.from_pretrained(reference, cache_dir=cache)


def test_local_files_and_shipped_names_never_touch_the_network(package, network):
    _, path = package
    network.up = False
    assert resolve_pretrained(path) == path
    assert resolve_pretrained("phalar-embedded").endswith("phalar-embedded.pth")
    with pytest.raises(FileNotFoundError, match="shipped: \\['phalar-embedded'\\]"):
        resolve_pretrained("exp/missing_model.pth")
    assert network.calls == []
