# Two commands for a newcomer: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DB := data/garita.duckdb
PORT ?= 8501
REPLICAS ?= 2

.PHONY: run test db bench bench-tabs bench-readers serve clean

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

# Two workers, each test file on one of them (its browser and app server stay its own).
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile

# Every speed target against its baseline, on this machine (about 25 minutes; see README).
bench: $(STAMP)
	$(BIN)/python -m bench.load
	$(BIN)/python -m bench.pages
	$(BIN)/python -m bench.exports
	$(BIN)/python -m bench.tabs

# REPLICAS app processes behind Debian's nginx on PORT (apt-get install nginx); see README.
serve: $(STAMP) $(DB)
	$(BIN)/python -m garita.serve_many --replicas $(REPLICAS) --port $(PORT)

# A fresh browser tab of each page against a bare page, in headless Chromium (about 10 minutes).
bench-tabs: $(STAMP)
	$(BIN)/python -m bench.tabs

# Many readers at once, 1 and 2 app processes behind nginx (about 20 minutes; see README).
bench-readers: $(STAMP)
	$(BIN)/python -m pip install --quiet -r bench/requirements.txt
	$(BIN)/python -m bench.readers

clean:
	rm -rf $(VENV) $(DB) $(DB).wal $(DB).published $(DB).lock
