# Two commands on a fresh clone: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
# pytest-xdist workers: one per core (each test file runs whole on one worker).
TEST_WORKERS ?= auto
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard ecoflow/translations/*/LC_MESSAGES/messages.po))

.PHONY: run test install migrate demo federation lint format screenshots bench clean

run: install migrate demo  ## serve on 127.0.0.1:5000 with the demo data and the scheduler
	ECOFLOW_SCHEDULER=1 ECOFLOW_WARM_UP=1 $(FLASK) run --host 127.0.0.1 --port 5000

federation: install  ## three instances, one bureau each, over the exchange: BJ :5001, TJ :5002, HE :5003
	$(BIN)/python scripts/federation.py

test: install  ## the whole suite (set TEST_DATABASE_URL for PostgreSQL)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

screenshots: install  ## the browser tests, saving every page they visit in docs/screenshots/
	ECOFLOW_SCREENSHOTS=docs/screenshots $(BIN)/pytest tests/test_browser.py

install: $(VENV)/.installed $(CATALOGUES)

# The officer UI's message catalogues, compiled from the .po files (the .mo are not committed).
ecoflow/translations/%/LC_MESSAGES/messages.mo: ecoflow/translations/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/pybabel compile -d ecoflow/translations -l $* 2>&1 | grep -v '^compiling' || true

$(VENV)/.installed: requirements.txt requirements-test.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-test.txt
	touch $@

migrate: install
	$(FLASK) db upgrade

demo: install
	$(FLASK) ecoflow seed-demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
