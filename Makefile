# nvlb — the two set-up commands of README: `make demo` and `make test`.
SWIFT        ?= swift
CONFIG       ?= Config/example.yaml
OUT          ?= out
SYSTEM_DEPS  := libpcap-dev libnuma-dev libxdp-dev libbpf-dev clang
TEST_DEPS    := tshark tcpreplay iproute2 bird2 exabgp curl chromium chromium-driver
RELEASE_BIN  := .build/release/nvlb

.PHONY: all deps test-deps build release xdp demo test test-unit test-tsan bench clean help

all: build

help:
	@echo "make demo   install missing system packages, build, run nvlb on $(CONFIG)"
	@echo "make test   install missing system packages, build, run the whole test suite"
	@echo "make bench  release build, in-memory data plane benchmark"
	@echo "make fuzz   libFuzzer campaigns of the pipeline, the loader and the management API (FUZZ_SECONDS each)"
	@echo "make soak   the lab under traffic and reloads for SOAK_SECONDS (default 1800); RSS, fds flat"

# Installs whatever is missing among the Debian packages given in PKGS.
define install_missing
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "make: missing Debian packages:$$missing" >&2; \
	    echo "make: run as root, or install them first: sudo apt-get install -y$$missing" >&2; exit 1; \
	  fi; \
	  echo "make: installing$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	fi
endef

deps:
	$(call install_missing,$(SYSTEM_DEPS))

test-deps: deps
	$(call install_missing,$(TEST_DEPS))
	@python3 -c 'import schemathesis, prometheus_client, selenium' 2>/dev/null || pip install -q schemathesis prometheus-client selenium

build: deps
	$(SWIFT) build
	$(call build_xdp,)

release: deps
	$(SWIFT) build -c release
	$(call build_xdp,-c release)

# The XDP program of `nvlb run --io af_xdp` (docs/afxdp.md), compiled for the BPF target
# into the build folder of a configuration, next to the nvlb binary, where nvlb finds it.
BPF_SRC := bpf/nvlb_xdp.c
define build_xdp
	@bin=$$($(SWIFT) build $(1) --show-bin-path) && mkdir -p "$$bin" && \
	  clang -O2 -g -target bpf -I/usr/include/$$(uname -m)-linux-gnu -Wall -c $(BPF_SRC) -o "$$bin/nvlb_xdp.o" && \
	  echo "make: XDP program $$bin/nvlb_xdp.o"
endef
xdp: deps
	$(call build_xdp,)

# The main job on the embedded default: validate the example, generate traffic of its
# tenants (clients of every VIP and the DIPs' answers), replay it through all workers,
# and leave the captures for Wireshark in $(OUT)/.
demo: release
	@mkdir -p $(OUT)
	$(RELEASE_BIN) check --config $(CONFIG)
	@echo
	$(RELEASE_BIN) gen --config $(CONFIG) --output $(OUT)/demo-in.pcap --flows 20000 --replies --seed 7
	@echo
	$(RELEASE_BIN) replay --config $(CONFIG) --input $(OUT)/demo-in.pcap --output $(OUT)/demo-out.pcap --stats $(OUT)/demo-stats.json
	@echo
	@echo "captures: $(OUT)/demo-in.pcap (what nvlb received), $(OUT)/demo-out.pcap (what it sent); statistics: $(OUT)/demo-stats.json"

# The whole suite, as CI runs it (.ci/run): unit, golden, property, replay, CLI, live I/O and
# lab tests; the concurrency suites under ThreadSanitizer; the release build (the hot-path
# settings apply there); the format lint; a short fuzzing smoke of every harness.
test: test-deps build
	$(SWIFT) test --skip NVLBLabTests
	$(SWIFT) test --skip-build --filter NVLBLabTests
	$(MAKE) test-tsan
	$(MAKE) release
	$(MAKE) lint
	$(MAKE) fuzz FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS)

# `swift format` (ships with the toolchain) against the committed .swift-format.
.PHONY: lint format
lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Benchmarks/Benchmarks Fuzz/Sources Package.swift
format:
	$(SWIFT) format --in-place --recursive Sources Tests Benchmarks/Benchmarks Fuzz/Sources Package.swift

# The concurrency suites again under ThreadSanitizer (own build folder): the runtime's, and
# the management change path under traffic (1,000 API changes, two workers).
test-tsan:
	$(SWIFT) test --sanitize=thread --scratch-path .build-tsan --filter 'NVLBRuntimeTests|NVLBManagementTests.ConcurrencyTests'

bench: release
	$(RELEASE_BIN) bench --config Config/bench.yaml --flows 1000000

clean:
	rm -rf .build .build-tsan .build-fuzz $(OUT)

# package-benchmark suite (Benchmarks/, a nested package): runs every benchmark, then
# checks the committed thresholds (zero allocations per packet); fails on a regression.
# Slow (a release build of the suite, then two ~40 s runs): not part of `make test`.
bench-suite:
	cd Benchmarks && $(SWIFT) package benchmark --no-progress
	cd Benchmarks && $(SWIFT) package benchmark thresholds check --no-progress
.PHONY: bench-suite

# Forwarding over a veth pair: naive pcap_inject vs batched sendmmsg (root; bench/LIVE-BENCH.md).
.PHONY: live-bench
live-bench: release
	bash bench/live-bench.sh

# libFuzzer harnesses (Fuzz/, a nested package built with -sanitize=fuzzer,address in its own
# build folder): the packet pipeline, the configuration loader and the management API's
# request decoding, FUZZ_SECONDS each.
# `make test` runs a short smoke of each; findings go to Fuzz/Regressions/ (replayed by swift test).
FUZZ_SECONDS       ?= 300
FUZZ_SMOKE_SECONDS ?= 20
FUZZ_ONLY          ?=
.PHONY: fuzz fuzz-build
fuzz-build: deps
	cd Fuzz && $(SWIFT) build -c release --scratch-path ../.build-fuzz -Xswiftc -sanitize=fuzzer,address
fuzz: fuzz-build
	bash Fuzz/run.sh $(FUZZ_SECONDS) .build-fuzz $(FUZZ_ONLY)

# Soak of `nvlb run` in the lab (root; docs/lab.md "Soak"): SOAK_SECONDS of real TCP traffic with a
# reload every 10 s; fails if nvlb's RSS, descriptors or threads grow. Not part of `make test`.
SOAK_SECONDS ?= 1800
SOAK_SAMPLE  ?= 30
.PHONY: soak
soak: build
	bash lab/soak.sh --seconds $(SOAK_SECONDS) --sample $(SOAK_SAMPLE)
