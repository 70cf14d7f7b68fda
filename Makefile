# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test test-unit bench browser finetune clean

$(VENV)/.installed: requirements.txt scripts/fetch_bertviz_assets.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	bash scripts/fetch_bertviz_assets.sh
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# Debian's Chromium, for kaleido image export and the browser tests (no browser download),
# and poppler-utils, whose pdftotext lets the tests read an exported PDF.
BROWSER_PACKAGES := chromium chromium-driver poppler-utils
browser:
	@{ command -v chromium && command -v pdftotext; } >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -q && apt-get install -y -q $(BROWSER_PACKAGES)) >/dev/null || echo "could not install $(BROWSER_PACKAGES)"; \
	  else echo "missing: install the Debian packages $(BROWSER_PACKAGES)"; fi; }

run: $(VENV)/.installed
	$(VENV)/bin/streamlit run app.py

test: $(VENV)/.installed-dev browser
	$(PY) -m pytest -q

test-unit: $(VENV)/.installed-dev
	$(PY) -m pytest -q tests/unit

bench: $(VENV)/.installed-dev browser
	$(PY) bench.py

# A fine-tuned MiniLM for `cli.py compare` (offline, about a minute of CPU): out/minilm-finetuned
finetune: $(VENV)/.installed
	$(PY) scripts/finetune_minilm.py --out out/minilm-finetuned

clean:
	rm -rf $(VENV) .pytest_cache
