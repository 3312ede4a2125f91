# The two README commands: `make test` and `make demo`. Both build .venv from scratch when missing.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# glibc otherwise hands PyTorch's large temporaries back to the OS after every op (2x slower on
# CPU). Only for long single jobs (demo, benchmarks): memory is then never returned to the OS.
FAST_MALLOC := GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736

.PHONY: install test demo bench format lint clean

install: $(STAMP)

# madmom 0.16.1 needs cython, numpy and setuptools<81 present and no build isolation.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip "setuptools<81" wheel cython "numpy<3"
	$(PY) -m pip install -q --no-build-isolation madmom==0.16.1
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q tests

demo: $(STAMP)
	cd recipes/stem_retrieval && $(FAST_MALLOC) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ./run.sh --stage 0 --preset quick

bench: $(STAMP)
	for b in benchmarks/*.py; do $(FAST_MALLOC) $(PY) $$b || exit 1; done

format: $(STAMP)
	$(VENV)/bin/black phalar_asteroid tests recipes examples benchmarks

lint: $(STAMP)
	$(VENV)/bin/black --check phalar_asteroid tests recipes examples benchmarks

clean:
	rm -rf $(VENV) .pytest_cache
