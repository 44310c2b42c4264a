# The two commands of the README:
#   make demo   - the main job on built-in demo data
#   make test   - the whole test suite (fmt, clippy, tests)
# Both do their own set-up (scripts/setup.sh) on a fresh machine.
CARGO ?= cargo

.PHONY: setup build demo test bench
setup:
	@scripts/setup.sh

build: setup
	$(CARGO) build --release

demo: build
	target/release/sentio demo

test: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) test --workspace
