# The README's commands. `make demo` and `make test` set up everything they need on a
# fresh Debian machine (as root, or with sudo): system packages through apt-get, then a
# virtual environment in .venv with kerazoo and its Python dependencies.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BACKENDS_STAMP := $(VENV)/.backends
# graphviz: `dot` for diagrams; the rest are real datasets read offline.
APT_PACKAGES := graphviz dataset-fashion-mnist fortunes-min fortunes fortunes-de fortunes-es fortunes-it
# `make test` only: a real headless browser for the page of `kerazoo serve` (tests/serve).
TEST_APT_PACKAGES := chromium chromium-driver

.PHONY: setup system test-system demo serve test lint format catalog clean

setup: system $(STAMP)

system test-system:
	@missing=""; \
	for p in $(APT_PACKAGES) $(if $(filter test-system,$@),$(TEST_APT_PACKAGES)); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	$(PYTHON) -c "import ensurepip, venv" >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing system packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(STAMP): setup.cfg pyproject.toml
	@$(PYTHON) -c "import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 12) else 'kerazoo needs Python 3.10-3.12 (TensorFlow 2.21); found ' + sys.version.split()[0])"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

# The main job: train mnist_cnn for 5 epochs on real digits (full MNIST where it is cached,
# else the 5,000-digit sample, announced) and write runs/demo: metrics.json, model.keras,
# history/architecture/predictions/confusion-matrix pictures. Re-running replaces it.
demo: setup
	$(BIN)/kerazoo train mnist_cnn --epochs 5 --out runs/demo --overwrite

# The demo run behind TF Serving's REST API and a page to draw digits on:
# http://127.0.0.1:8500/ (`make demo` first; PORT=... to change the port).
PORT ?= 8500
serve: setup
	@test -f runs/demo/model.keras || { echo "runs/demo has no model yet: run \`make demo\` first"; exit 2; }
	$(BIN)/kerazoo serve runs/demo --port $(PORT)

# `make test` also installs Keras's JAX and torch backends (setup.cfg's `backends` extra:
# jax/jaxlib 0.10.2 and torch 2.13.0, CPU builds, about 1 GB), so tests/backends runs the
# model battery and `kerazoo train` on them. torch is pinned exactly (torch==2.13.0): pip
# takes the CPU wheel from the machine's local wheel folder where there is one; given a
# looser range it picks a CUDA build of several GB. `make demo` does not need them.
$(BACKENDS_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[backends]'
	@touch $(BACKENDS_STAMP)

# Two pytest workers, one per core of the reference machine (measured from a clean clone on
# 2 cores: 25m54s with the course, the kill-point matrix and the JAX/torch battery); a test file stays on one
# worker so its module fixtures are built once.
PYTEST_WORKERS ?= 2
test: setup test-system $(BACKENDS_STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=30

lint: setup
	$(BIN)/ruff check kerazoo tests bench examples tuning tools
	$(BIN)/ruff format --check kerazoo tests bench examples tuning tools

format: setup
	$(BIN)/ruff format kerazoo tests
	$(BIN)/ruff check --fix kerazoo tests

# Regenerate kerazoo/catalog.json (shipped in the wheel), docs/models.md and the diagram
# gallery (docs/gallery.md, docs/diagrams/) after adding or changing a model. The generators
# live in tools/ (not installed) and read the live registry.
catalog: setup
	$(BIN)/python -m tools.catalog
	$(BIN)/python -m tools.gallery

clean:
	rm -rf $(VENV) build dist *.egg-info runs .pytest_cache
