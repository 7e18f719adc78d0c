# Two entry points for users: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint format bench bench-envs bench-run clean

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

# Every benchmark, each against its alternative in the same run. The comparison libraries
# live in their own venvs (pandas-ta needs Python >= 3.12; vectorbt and skfolio would pull
# other numpy/pandas versions into ours); pinned so that anyone measures the same code.
# TA-Lib is the version of our own venv, so pandas-ta's TA-Lib mode runs the same C code.
BENCH_PYTHON ?= $(or $(wildcard $(HOME)/.pyenv/versions/3.12.1/bin/python),python3.12)
BENCH_ENVS := benchmarks/.venv-pandas-ta benchmarks/.venv-vectorbt benchmarks/.venv-skfolio
BENCH_PANDAS_TA := pandas-ta==0.4.71b0 TA-Lib==0.8.2 ta==0.11.0
BENCH_VECTORBT := vectorbt==1.2.0
BENCH_SKFOLIO := skfolio==1.12.2

bench-envs: $(addsuffix /.installed,$(BENCH_ENVS))

benchmarks/.venv-pandas-ta/.installed:
	$(BENCH_PYTHON) -m venv benchmarks/.venv-pandas-ta
	benchmarks/.venv-pandas-ta/bin/pip install --quiet $(BENCH_PANDAS_TA)
	touch $@

benchmarks/.venv-vectorbt/.installed:
	$(BENCH_PYTHON) -m venv benchmarks/.venv-vectorbt
	benchmarks/.venv-vectorbt/bin/pip install --quiet $(BENCH_VECTORBT)
	touch $@

benchmarks/.venv-skfolio/.installed:
	$(BENCH_PYTHON) -m venv benchmarks/.venv-skfolio
	benchmarks/.venv-skfolio/bin/pip install --quiet $(BENCH_SKFOLIO)
	touch $@

# Flags for a script whose full size is far too long for one `make bench`: deep.py's full
# size (100K windows, 5 models, 1 vs 2 threads, DDP, 2 repeats) takes over an hour on 2
# cores; here it runs 20K windows once each (the size its README figures are for).
BENCH_FLAGS_deep := --windows 20000 --repeats 1
# deep_compare.py trains every model through the whole pipeline: the transformer alone took
# 11 min here and the hybrid longer, so make bench compares the three fast ones
BENCH_FLAGS_deep_compare := --kinds lightgbm,lstm,tcn
# a subset: `make bench-run BENCH_SCRIPTS="benchmarks/features.py benchmarks/data_io.py"`
BENCH_SCRIPTS ?= $(wildcard benchmarks/[a-z]*.py)

# one after the other (two cores: parallel runs would measure each other); all of them run
# even when one misses its target, and the target fails at the end if any did
bench: install bench-envs
	@$(MAKE) --no-print-directory bench-run

# the benchmarks alone, with no set-up: `make bench-run BIN=/path/to/venv/bin` runs them
# with another venv's interpreter (the side venvs must exist: `make bench-envs`)
bench-run:
	@summary=""; failed=""; for script in $(BENCH_SCRIPTS); do \
	  name=$$(basename $$script .py); \
	  case $$name in deep) flags="$(BENCH_FLAGS_deep)";; \
	    deep_compare) flags="$(BENCH_FLAGS_deep_compare)";; *) flags="";; esac; \
	  printf '\n######## %s %s (load average %s)\n' "$$script" "$$flags" "$$(cut -d' ' -f1 /proc/loadavg)"; \
	  start=$$(date +%s); $(BIN)/python $$script $$flags; code=$$?; \
	  took=$$(( $$(date +%s) - start )); \
	  if [ $$code -eq 0 ]; then verdict="ok"; else verdict="exit $$code"; failed="$$failed $$name"; fi; \
	  summary="$$summary$$(printf '%-16s %6ss  %s' "$$name" "$$took" "$$verdict")\n"; \
	done; \
	printf '\n######## summary (exit 1: a target missed, or the script failed)\n%b' "$$summary"; \
	test -z "$$failed" || { echo "benchmarks that missed a target or failed:$$failed"; exit 1; }

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache mlruns mlruns.db
