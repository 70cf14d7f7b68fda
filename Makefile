# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test test-unit lint bench browser finetune catalogs clean screenshot notebook

# Translations (docs/japanese.md): the .po files are in git, the .mo files are built here.
LOCALE := i18n/locale
PO_FILES := $(wildcard $(LOCALE)/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)
BABEL_KEYWORDS := -k lazy_ngettext:1,2 -k lazy_pgettext:1c,2

# The project itself is installed editable (no dependencies of its own): the `attention-maps`
# command in .venv/bin runs this checkout's code from any directory.
$(VENV)/.installed: requirements.txt pyproject.toml scripts/fetch_bertviz_assets.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	bash scripts/fetch_bertviz_assets.sh
	$(VENV)/bin/pybabel compile --domain messages --directory $(LOCALE) --statistics
	touch $@

$(LOCALE)/%/LC_MESSAGES/messages.mo: $(LOCALE)/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(VENV)/bin/pybabel compile --domain messages --input-file $< --output-file $@

# After changing user-facing text: re-extract, merge into every language, then translate
# the new entries in i18n/locale/ja/LC_MESSAGES/messages.po (tests/unit/test_catalogs.py checks).
catalogs: $(VENV)/.installed
	$(VENV)/bin/pybabel extract --mapping-file babel.cfg $(BABEL_KEYWORDS) --add-comments TRANSLATORS: \
	  --add-location file --sort-by-file --project attention-map-analysis --output-file $(LOCALE)/messages.pot .
	$(VENV)/bin/pybabel update --input-file $(LOCALE)/messages.pot --domain messages --output-dir $(LOCALE) \
	  --ignore-obsolete --no-fuzzy-matching

# The notebook kernel "python3" is written into .venv with this venv's python by its full path,
# so nbclient (`make test`, `make notebook`) and any Jupyter that reads .venv run the cells here.
$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

# Debian's Chromium, for kaleido image export and the browser tests (no browser download),
# poppler-utils, whose pdftotext lets the tests read an exported PDF, and fonts-noto-cjk,
# so Japanese figure text renders in PNG/SVG/PDF exports instead of empty boxes.
BROWSER_PACKAGES := chromium chromium-driver poppler-utils fonts-noto-cjk
browser:
	@{ command -v chromium && command -v pdftotext && fc-list :lang=ja | grep -q .; } >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -q && apt-get install -y -q $(BROWSER_PACKAGES)) >/dev/null || echo "could not install $(BROWSER_PACKAGES)"; \
	  else echo "missing: install the Debian packages $(BROWSER_PACKAGES)"; fi; }

run: $(VENV)/.installed $(MO_FILES)
	$(VENV)/bin/streamlit run app.py

test: $(VENV)/.installed-dev $(MO_FILES) browser lint
	$(PY) -m pytest -q

# The style the code keeps (pyproject.toml [tool.ruff]): run by `make test`.
lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test-unit: $(VENV)/.installed-dev $(MO_FILES)
	$(PY) -m pytest -q tests/unit

bench: $(VENV)/.installed-dev browser
	$(PY) bench/main.py

# A fine-tuned MiniLM for `cli.py compare` (offline, about a minute of CPU): out/minilm-finetuned
finetune: $(VENV)/.installed
	$(PY) scripts/finetune_minilm.py --out out/minilm-finetuned

# docs/screenshot.png, the analysis page in headless Chromium (README): needs `make browser`
screenshot: $(VENV)/.installed-dev $(MO_FILES) browser
	$(PY) scripts/screenshot.py

# notebooks/quickstart.ipynb run in .venv's kernel; the executed copy, with its outputs and
# head.png, is written to out/quickstart/ (the committed notebook stays clean): docs/notebook.md
notebook: $(VENV)/.installed-dev
	mkdir -p out/quickstart
	cp notebooks/quickstart.ipynb out/quickstart/quickstart.ipynb
	$(VENV)/bin/jupyter-execute --inplace --kernel_name=python3 --timeout=300 out/quickstart/quickstart.ipynb
	@echo "executed: out/quickstart/quickstart.ipynb (open it in VS Code or Jupyter, see docs/notebook.md)"

clean:
	rm -rf $(VENV) .pytest_cache
