# The oversampled-PSF patch series on the PyAutoLens 2026.5.1.4 release.
#
#   make build    download the pinned wheels, apply the series, repack into dist/, install into .venv
#   make test     build if needed, then the base suites, our unit tests, the differential suite and the workspace scripts
#   make base-suites  the release's own test suites on the patched stack and on the pristine release
#   make demo     build if needed, then run autolens_workspace/scripts/imaging/simulator.py
#   make dev      turn each patched library into an editable git tree under dev/, imported by .venv
#   make export   write the dev/ trees' commits back into PyAutoArray/ PyAutoGalaxy/ PyAutoLens/ patches
#   make undev    point .venv back at the dist/ wheels
#
# All logic lives in tools/stack.py; this file only records what depends on what, so that a re-run
# rebuilds only what changed.
#
# PY is the Python .venv is made with. Left empty, tools/stack.py chooses: python3.12 or python3.13 where the machine
# has one (the release's first-class versions), else python3. `make build PY=python3.11` asks for another; a .venv of
# another Python is then made again. tools/stack.py itself runs on python3 (it needs only the standard library).

PY      ?=
STACK   := PSFOS_PYTHON="$(PY)" python3 tools/stack.py
VPY     := .venv/bin/python
STAMPS  := build/.stamps
PYTEST_ARGS ?=

.PHONY: build wheels test base-suites demo dev export undev status bench prefixes clean FORCE

build: $(STAMPS)/installed $(STAMPS)/pristine

$(STAMPS)/fetched:
	@mkdir -p $(STAMPS)
	$(STACK) fetch
	@touch $@

$(STAMPS)/wheel-%: $(STAMPS)/fetched tools/stack.py
	$(STACK) wheel $*
	@touch $@

# Each wheel depends on its own series.
$(STAMPS)/wheel-autoarray:  $(wildcard PyAutoArray/patches/*)
$(STAMPS)/wheel-autogalaxy: $(wildcard PyAutoGalaxy/patches/*)
$(STAMPS)/wheel-autolens:   $(wildcard PyAutoLens/patches/*)

wheels: $(STAMPS)/wheel-autoarray $(STAMPS)/wheel-autogalaxy $(STAMPS)/wheel-autolens

# The Python .venv is to have, rewritten only when it changes, so that another Python reinstalls .venv.
$(STAMPS)/python: FORCE
	@$(STACK) python --record $@

$(STAMPS)/installed: $(STAMPS)/wheel-autoarray $(STAMPS)/wheel-autogalaxy $(STAMPS)/wheel-autolens tools/constraints.txt \
                     $(STAMPS)/python
	$(STACK) install
	@touch $@

$(STAMPS)/pristine: $(STAMPS)/fetched
	$(STACK) pristine
	@touch $@

# Both steps always run; the target fails if either does. pytest runs last, so its summary closes the output.
test: build
	@status=0; $(VPY) tools/base_suites.py || status=1; $(VPY) -m pytest $(PYTEST_ARGS) || status=1; exit $$status

# The base release's own suites (../shared/base-suites) on both stacks; fails on any test that passes on the
# pristine release and not on the patched stack.
base-suites: build
	$(VPY) tools/base_suites.py

demo: build
	$(VPY) autolens_workspace/scripts/imaging/simulator.py

bench: build
	$(VPY) benchmarks/oversampled_psf.py

dev: build
	$(STACK) dev

export:
	$(STACK) export

undev:
	$(STACK) undev
	@touch $(STAMPS)/installed

status:
	$(STACK) status

# Every prefix of the series (autoarray, then autogalaxy, then autolens) must import and pass the
# differential suite; this builds each prefix beside .venv and runs the suite on it.
prefixes: build
	$(VPY) tools/stack.py prefixes

clean:
	rm -rf build dist .pristine
