# partctl — see README.md. Every target runs as root on Debian.
SWIFT ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)
PARTCTL_ROOT ?= /var/lib/partctl
export PARTCTL_ROOT
# Release builds link the Swift runtime statically: partctl starts in a few milliseconds. What
# else shortens every start (measured with bench/wpar-run.sh and `partctl --version`):
# - metadata of concrete generic types through accessor calls instead of mangled names, whose
#   generic requirements the runtime would check by scanning all ~6700 conformance records once
#   per type and protocol (-0.5 ms --version, -0.7 ms run);
# - lld with packed relative relocations (DT_RELR, glibc 2.36): the dynamic loader applies the
#   ~80k relative relocations of the position-independent binary from a compact bitmap
#   (-0.3 ms --version).
RELEASE_FLAGS = -c release --static-swift-stdlib \
	-Xswiftc -Xfrontend -Xswiftc -disable-concrete-type-metadata-mangled-name-accessors \
	-Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs
# The supervisor (one idle process per running WPAR, host and guest) is linked as a static, non-PIE
# executable instead (docs/bench.md). Position-independent, the loader's relocations make the pages
# of Swift metadata (.data.rel.ro, .data) and those of libstdc++ and libc private and dirty in every
# process: ~420 KiB of 654 KiB PSS per WPAR with 50 WPARs. At a fixed address, glibc included, those
# pages stay shared page cache: 235 KiB (bench/wpar-density.sh). Cost: its code and data are not
# randomized (stack, heap and mmap still are); it parses nothing a WPAR sends (console bytes are
# copied, not read), in memory-safe Swift.
SUPERVISOR_FLAGS = -c release --static-swift-stdlib -Xswiftc -static-executable \
	-Xswiftc -Xfrontend -Xswiftc -disable-concrete-type-metadata-mangled-name-accessors \
	-Xswiftc -use-ld=lld
# Its own scratch path: other flags than partctl's would rebuild everything in .build/release.
SUPERVISOR_BUILD = .build/supervisor
SUPERVISOR_BIN = $(SUPERVISOR_BUILD)/release/partctl-supervisor
DEBUG_BIN = .build/debug/partctl
RELEASE_BIN = .build/release/partctl

.PHONY: all setup build release supervisor guest-image run test unit-test integration-test bench install clean fuzz fuzz-build fuzz-smoke

all: release

setup:
	sh scripts/setup.sh

build:
	$(SWIFT) build

release: supervisor
	$(SWIFT) build $(RELEASE_FLAGS)
	install -m 0755 $(SUPERVISOR_BIN) .build/release/partctl-supervisor

supervisor:
	$(SWIFT) build $(SUPERVISOR_FLAGS) --scratch-path $(SUPERVISOR_BUILD) --product partctl-supervisor

# The guest image carries partagent and the WPAR supervisor, built statically in their own scratch
# path (so the host's debug and release builds are not rebuilt each time) and stripped.
GUEST_BUILD = .build-guest
# The agent starts at every guest boot: the same flags as partctl (the supervisor: its own, above).
GUEST_SWIFT = $(SWIFT) build $(RELEASE_FLAGS) --scratch-path $(GUEST_BUILD)
guest-image: setup supervisor
	$(GUEST_SWIFT) --product partagent
	mkdir -p $(GUEST_BUILD)/image
	strip -o $(GUEST_BUILD)/image/partagent $(GUEST_BUILD)/release/partagent
	strip -o $(GUEST_BUILD)/image/partctl-supervisor $(SUPERVISOR_BIN)
	PARTAGENT=$(CURDIR)/$(GUEST_BUILD)/image/partagent PARTCTL_SUPERVISOR=$(CURDIR)/$(GUEST_BUILD)/image/partctl-supervisor \
		sh guest/build-image.sh

# The main job: partitions defined and started from profiles/, the tree printed.
run: setup guest-image release
	PARTCTL=$(RELEASE_BIN) sh scripts/main-job.sh

# The hermetic tests: no root, no libvirtd, no namespaces; seconds once built.
UNIT_TESTS = PartitionModelTests|AgentProtocolTests|PartitionCommandsTests|PartitionCoreTests|SystemKitTests|LibvirtKitTests\.(Domain|Error)|WorkloadEngineTests\.(CgroupLayout|CgroupV2Writer|CgroupLimit|NetworkAddress|RuntimeStateProcessIdentity|SeccompFilter)
unit-test:
	$(SWIFT) test --filter '$(UNIT_TESTS)'

test: setup guest-image build fuzz-smoke
	PARTCTL_BIN=$(CURDIR)/$(DEBUG_BIN) $(SWIFT) test --no-parallel

# libFuzzer on the profile reader and the agent protocol's decoders (docs/security.md, Fuzzing). The
# fuzz targets exist only when PARTCTL_FUZZ is set (Package.swift), in their own scratch path, built
# with the fuzzer and address sanitizers (Yams' C parser too); lld links them (gold fails on them).
FUZZ_BUILD = .build-fuzz
FUZZ_SWIFT = PARTCTL_FUZZ=1 $(SWIFT) build -c release --scratch-path $(FUZZ_BUILD) \
	-Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address -Xswiftc -use-ld=lld
# Seconds per target: minutes for `make fuzz`, seconds for the smoke run in `make test`.
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 15

fuzz-build:
	$(FUZZ_SWIFT) --product FuzzProfiles
	$(FUZZ_SWIFT) --product FuzzAgentFrames

fuzz: fuzz-build
	sh fuzz/run.sh $(FUZZ_SECONDS)

# Every input of fuzz/corpus (seeds and past crashes) and a few seconds of new ones; a crash fails it.
fuzz-smoke: fuzz-build
	sh fuzz/run.sh $(FUZZ_SMOKE_SECONDS) smoke

bench: setup guest-image release
	PARTCTL=$(CURDIR)/$(RELEASE_BIN) sh bench/run.sh

install: release
	install -m 0755 $(RELEASE_BIN) /usr/local/bin/partctl
	install -D -m 0755 .build/release/partctl-supervisor /usr/local/libexec/partctl/partctl-supervisor

clean:
	rm -rf .build .build-guest .build-fuzz guest/build
