.DEFAULT_GOAL := help
.PHONY: help install fmt lint test test-unit test-integration test-matrix test-cluster-failover test-browser screenshot dev bench

help:              ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'
install:           ## editable install with the dev tools
	python -m pip install -e '.[dev]'
fmt:               ## format and apply safe fixes
	ruff format . && ruff check --fix .
lint:              ## format check, lint, strict types
	ruff format --check . && ruff check . && mypy
test: lint test-unit test-browser test-matrix test-cluster-failover  ## everything CI runs: lint, types, unit and browser tiers, then the server matrix
test-unit:         ## unit tier only (no server)
	python -m pytest tests/unit
test-integration:  ## real redis-server on a free port, and real processes (one server)
	python -m pytest tests/integration tests/e2e
test-matrix:       ## integration + e2e on Redis 7 (PATH), Valkey 8.1 and Redis 8.2
	python -m tests.matrix tests/integration tests/e2e --ignore=tests/e2e/test_cluster_failover.py
test-cluster-failover:  ## a cluster master killed mid-drain, in a process of its own (it failed inside the full e2e run on Redis 7.0; see the note)
	python -m pytest tests/e2e/test_cluster_failover.py
test-browser:      ## the dashboard in Debian's chromium (apt-get install chromium)
	python -m pytest tests/browser
screenshot:        ## regenerate docs/dashboard.png from a live run
	STREAMS_DASHBOARD_SCREENSHOT=docs/dashboard.png python -m pytest tests/browser/test_screenshot.py
dev:               ## run the whole system locally (embedded server when REDIS_URL is unset)
	streams dev
bench:             ## godo-streams vs a raw redis-py loop; `python -m bench --help` for quick runs
	python -m bench
