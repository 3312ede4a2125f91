# The two README commands: `make test` and `make demo`. Both build .venv from scratch when missing.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# glibc otherwise hands PyTorch's large temporaries back to the OS after every op (2x slower on
# CPU). Only for long single jobs (demo, benchmarks): memory is then never returned to the OS.
FAST_MALLOC := GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736

.PHONY: install lock test demo bench format lint clean

install: $(STAMP)

# Every package is installed at the version in requirements/lock.txt (`make lock` regenerates it).
# madmom 0.16.1 has no build metadata of its own: its build prerequisites (cython, numpy,
# setuptools<81, all in the lock) go in first and it is built without isolation.
LOCK := requirements/lock.txt
UV := $(VENV)/bin/uv
UV_INSTALL := $(UV) pip install -q -p $(PY)
$(STAMP): pyproject.toml $(LOCK) requirements/bootstrap.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements/bootstrap.txt
	$(UV_INSTALL) -c $(LOCK) cython numpy setuptools pip
	$(UV_INSTALL) -r $(LOCK) --no-build-isolation-package madmom
	$(UV_INSTALL) --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Re-resolve the whole environment (Python 3.11, Linux x86-64) from pyproject.toml. Run it after
# any change to pyproject.toml's dependencies, then `make clean test` from a fresh clone.
lock: $(STAMP)
	$(UV) pip compile pyproject.toml --extra dev -p $(PY) --python-version 3.11 \
		--python-platform x86_64-manylinux_2_28 --no-build-isolation-package madmom \
		--no-header --annotation-style line -o $(LOCK) \
		requirements/tools.in

# The environment test goes first, so a broken stack fails on one named package, not on
# collection errors.
test: $(STAMP)
	$(PY) -m pytest -q tests/test_environment.py
	$(PY) -m pytest -q tests --deselect tests/test_environment.py

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
