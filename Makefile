# Set-up and everyday commands. `make demo` and `make test` work on a fresh Debian/Ubuntu machine.
VENV ?= .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test test-sqlite test-postgres test-encrypted lint bench system-deps clean

$(VENV)/.installed: pyproject.toml Makefile  # Makefile: the extras installed are named there
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,postgres]'
	touch $@

# axe-core, the accessibility checker the browser tests inject into pages (from the npm registry)
AXE := $(VENV)/axe/node_modules/axe-core/axe.min.js
$(AXE):
	npm install --prefix $(VENV)/axe axe-core@4 --no-audit --no-fund --silent

# exiftool is the independent metadata reader the tests check derivatives with; libGL/glib are
# what OpenCV's wheel links against; chromium is the real browser the page tests drive (never a
# downloaded one); openssl checks published signatures the way a reader of the site would;
# postgresql is the server the second pass of the tests keeps its catalogs on.
system-deps:
	@missing=""; \
	command -v exiftool >/dev/null || missing="$$missing libimage-exiftool-perl"; \
	command -v ffprobe >/dev/null || missing="$$missing ffmpeg"; \
	ldconfig -p | grep -q 'libGL.so.1 ' || missing="$$missing libgl1"; \
	ldconfig -p | grep -q 'libgthread-2.0.so.0 ' || missing="$$missing libglib2.0-0"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	command -v openssl >/dev/null || missing="$$missing openssl"; \
	fc-list 2>/dev/null | grep -qi dejavu || missing="$$missing fonts-dejavu-core"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

demo: system-deps $(VENV)/.installed
	$(PY) -m temoin.demo demo

lint: $(VENV)/.installed
	$(PY) -m ruff check src tests bench
	$(PY) -m ruff format --check src tests bench
	$(PY) -m mypy

# Three passes, beside a private PostgreSQL cluster started for them and stopped after (.ci/):
# every test on SQLite; the suites that touch the catalog again with each archive's catalog on
# PostgreSQL; the suites of the stages that write the archive's files again with every archive
# encrypted at rest. `make test-sqlite`, `make test-postgres` or `make test-encrypted` runs one.
PG_SUITES := tests/catalog tests/sort tests/protect tests/publish tests/serve
ENCRYPTED_SUITES := tests/collect tests/keep tests/protect tests/publish

test: system-deps $(VENV)/.installed $(AXE) lint
	TEMOIN_AXE=$(AXE) .ci/with-postgres $(MAKE) --no-print-directory --keep-going test-sqlite test-postgres test-encrypted

test-encrypted: $(VENV)/.installed $(AXE)
	TEMOIN_AXE=$(AXE) TEMOIN_TEST_ENCRYPT=1 $(PY) -m pytest $(ENCRYPTED_SUITES)

test-sqlite: $(VENV)/.installed $(AXE)
	TEMOIN_AXE=$(AXE) $(PY) -m pytest

test-postgres: $(VENV)/.installed $(AXE)
	@if [ -z "$$TEMOIN_TEST_POSTGRES_URL" ]; then \
	  TEMOIN_AXE=$(AXE) .ci/with-postgres $(MAKE) --no-print-directory test-postgres; \
	else \
	  TEMOIN_AXE=$(AXE) TEMOIN_TEST_CATALOG=postgresql $(PY) -m pytest $(PG_SUITES); \
	fi

bench: $(VENV)/.installed
	$(PY) bench/ingest.py
	$(PY) bench/sort.py
	$(PY) bench/redact.py
	$(PY) bench/publish.py
	$(PY) bench/serve.py

clean:
	rm -rf $(VENV) demo .pytest_cache .ruff_cache
