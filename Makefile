# The two commands of README.md:
#   make run    set up and run the app on its embedded default (SQLite under instance/, demo data,
#               background tasks in-process, no Redis or PostgreSQL) at http://127.0.0.1:5000
#   make test   set up and run the whole test suite (SQLite, and PostgreSQL + Redis where they run)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TRANSLATIONS := grants/translations

.PHONY: run test install translations lint browser pdf-libraries clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

translations: install
	$(BIN)/pybabel compile --use-fuzzy --statistics -d $(TRANSLATIONS)

run: translations pdf-libraries
	SUBVENTIA_CONFIG=development $(BIN)/flask --app wsgi db upgrade
	SUBVENTIA_CONFIG=development $(BIN)/flask --app wsgi demo seed
	SUBVENTIA_CONFIG=development $(BIN)/python -m worker.embedded

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# The end-to-end tests' browser: Debian's Chromium, installed where missing when we are root (CI).
# Elsewhere the e2e tests skip with the reason (under CI=true they fail instead).
browser:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && DEBIAN_FRONTEND=noninteractive apt-get update -qq \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver; } \
	  || echo "Chromium is not installed: the end-to-end tests (tests/e2e) will be skipped"

# WeasyPrint's system libraries (the conventions' PDFs): Pango, HarfBuzz and fonts, installed where
# missing when we are root; elsewhere install them with your system's packages.
pdf-libraries:
	@ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && DEBIAN_FRONTEND=noninteractive apt-get update -qq \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libpango-1.0-0 \
	     libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core; } \
	  || echo "Pango is not installed: generating a convention's PDF will fail (see README, Conventions)"

test: translations lint browser pdf-libraries
	$(BIN)/python -m pytest -n 2 -p no:cacheprovider

clean:
	rm -rf $(VENV) instance .pytest_cache
