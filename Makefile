# Two entry points for users: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint format bench clean

install: $(STAMP)

# torch goes in first and pinned, so nothing later pulls a CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev]"
	# headless Chromium renders the serving dashboard in its test (Debian's package)
	command -v chromium >/dev/null 2>&1 || apt-get install -y --no-install-recommends chromium
	touch $(STAMP)

# The main job on the bundled sample: check the data, then the whole experiment, tracked in
# ./mlruns.db (open it with `trademl ui`).
demo: install
	$(BIN)/trademl demo
	$(BIN)/trademl run examples/btc_1h_lightgbm.yaml

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n 2 --timeout 600

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache mlruns mlruns.db
