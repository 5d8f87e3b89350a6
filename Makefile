# ConvScope: `make run` serves the app, `make test` sets everything up and runs every test.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 8000
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test docker-test lint bench train loadtest browser-deps clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/convscope serve --host $(HOST) --port $(PORT)

# Debian's chromium drives the browser tests (never `playwright install`: it downloads a browser).
browser-deps:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  elif command -v sudo >/dev/null; then \
	    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing and cannot be installed: browser tests will fail"; fi; \
	fi

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/hadolint --failure-threshold info Dockerfile

# axe-core for the browser tests' accessibility checks (package.json / package-lock.json pin it).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

test: $(VENV)/.dev-installed browser-deps node_modules/.installed
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

# Builds the Docker image for real (on a local stand-in for the base image) and runs it:
# installs docker.io and mmdebstrap when missing (as root) and starts a throwaway dockerd if needed.
docker-test:
	bash scripts/docker_test.sh

bench: $(VENV)/.dev-installed
	$(PY) -m bench

# A bounded burst of concurrent uploads against a real uvicorn on 127.0.0.1 (stops by itself).
loadtest: $(VENV)/.dev-installed
	$(PY) -m bench.loadtest

train: $(VENV)/.installed
	$(VENV)/bin/convscope train --model lenet5 --out app/models
	$(VENV)/bin/convscope train --model lenet5-classic --out app/models
	$(VENV)/bin/convscope train --model mlp --out app/models
	$(VENV)/bin/convscope train --model resnet-mini --out app/models
	OPENBLAS_NUM_THREADS=1 $(PY) -m app.models.training_recurrent
	OPENBLAS_NUM_THREADS=1 $(PY) -m app.models.colour_training
	OPENBLAS_NUM_THREADS=1 $(PY) scripts/train_text_cnn.py
	OPENBLAS_NUM_THREADS=1 $(PY) -m app.models.autoencoder

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache tests/artifacts
