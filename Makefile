# Two commands for a newcomer: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DB := data/garita.duckdb
PORT ?= 8501

.PHONY: run test db bench clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

$(DB): | $(STAMP)
	$(BIN)/python -m etl init --db $(DB)

db: $(DB)

run: $(STAMP) $(DB)
	$(BIN)/python -m garita.serve --server.port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m bench.load
	$(BIN)/python -m bench.pages

clean:
	rm -rf $(VENV) $(DB) $(DB).wal $(DB).published $(DB).lock
