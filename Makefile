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

.PHONY: all setup build release supervisor guest-binaries guest-image deb run test unit-test unit-test-unprivileged integration-test bench install uninstall docs-generated clean fuzz fuzz-build fuzz-smoke

all: release deb

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
guest-binaries: supervisor
	$(GUEST_SWIFT) --product partagent
	mkdir -p $(GUEST_BUILD)/image
	strip -o $(GUEST_BUILD)/image/partagent $(GUEST_BUILD)/release/partagent
	strip -o $(GUEST_BUILD)/image/partctl-supervisor $(SUPERVISOR_BIN)

guest-image: setup guest-binaries
	PARTAGENT=$(CURDIR)/$(GUEST_BUILD)/image/partagent PARTCTL_SUPERVISOR=$(CURDIR)/$(GUEST_BUILD)/image/partctl-supervisor \
		sh guest/build-image.sh

# The partagent Debian package (docs/guest-image.md): the same two binaries, a systemd unit and a
# udev rule, for any Debian-family guest and for the Debian image. The fixed name is what the image
# recipe installs; the versioned one is for `apt install ./partagent_*.deb`.
DEB_DIR = $(GUEST_BUILD)/deb
deb: guest-binaries
	sh packaging/deb/build-deb.sh $(GUEST_BUILD)/image $(DEB_DIR)

# The main job: partitions defined and started from profiles/, the tree printed.
run: setup guest-image release
	PARTCTL=$(RELEASE_BIN) sh scripts/main-job.sh

# The hermetic tests: no root, no libvirtd (libvirt's in-process test driver only), no namespaces;
# seconds once built. Every other suite needs root, libvirtd or the guest image (docs/testing.md).
UNIT_TESTS = PartitionModelTests|PartitionNetworksTests\.(Network(Registry|Rendering|LeaseBook)|Forward(Syntax|Rules))Tests|PartitionImagesTests|AgentProtocolTests|PartitionCommandsTests|PartitionCoreTests|SystemKitTests|LibvirtKitTests\.(Domain|Error|Connection|Storage)|WorkloadEngineTests\.(CgroupLayout|CgroupV2Writer|CgroupLimit|NetworkAddress|RuntimeStateProcessIdentity|RuntimeState(AtomicFile|Lock|Paths)|SeccompFilter|SpawnPlanValidation)
unit-test:
	$(SWIFT) test --filter '$(UNIT_TESTS)'

# The same suites as user nobody, from a copy of the test bundle that nobody can read: proof that
# they need no privilege (a suite that did would fail here, not pass vacuously).
UNIT_COPY = /tmp/partctl-unit-test
unit-test-unprivileged:
	$(SWIFT) build --build-tests
	rm -rf $(UNIT_COPY) && mkdir -p $(UNIT_COPY)
	cp -r $$($(SWIFT) build --show-bin-path)/partctlPackageTests.xctest profiles $(UNIT_COPY)/
	chmod -R a+rX $(UNIT_COPY)
	cd $(UNIT_COPY) && setpriv --reuid=65534 --regid=65534 --clear-groups \
		./partctlPackageTests.xctest --testing-library swift-testing --filter '$(UNIT_TESTS)'
	rm -rf $(UNIT_COPY)

# The debian-12 image the tests share is built (or found up to date) first, in a state root of the
# tests' own that outlives the run (only a changed recipe, agent package or mirror rebuilds it); the
# systemd WPAR suites, host and nested, then run on its tree.
TEST_IMAGE_ROOT ?= /var/tmp/partctl-test-images
test: setup guest-image deb build fuzz-smoke
	$(MAKE) docs-generated DOCS_BIN=$(DEBUG_BIN)
	PARTCTL_TEST_IMAGE_ROOT=$(TEST_IMAGE_ROOT) PARTCTL_BIN=$(CURDIR)/$(DEBUG_BIN) $(SWIFT) test --no-parallel --filter DebianImageBuildTests
	PARTCTL_TEST_IMAGE_ROOT=$(TEST_IMAGE_ROOT) PARTCTL_TEST_DEBIAN_ROOTFS=$(TEST_IMAGE_ROOT)/store/debian-12/rootfs \
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

# Installed layout (docs/install.md): partctl in $(PREFIX)/bin, its supervisor in
# $(PREFIX)/libexec/partctl (found there relative to partctl, whatever PREFIX is), completions where
# bash-completion, zsh and fish look under $(PREFIX)/share, and man pages in $(PREFIX)/share/man/man1.
# DESTDIR stages the whole tree elsewhere (packaging).
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(DESTDIR)$(PREFIX)/bin
LIBEXECDIR = $(DESTDIR)$(PREFIX)/libexec/partctl
MAN1DIR = $(DESTDIR)$(PREFIX)/share/man/man1
SHAREDIR = $(DESTDIR)$(PREFIX)/share/partctl
BASH_COMPLETIONS = $(DESTDIR)$(PREFIX)/share/bash-completion/completions
ZSH_COMPLETIONS = $(DESTDIR)$(PREFIX)/share/zsh/site-functions
FISH_COMPLETIONS = $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
# Completion scripts and man pages are generated from the command definitions (swift-argument-parser)
# by the binary being installed, into DOCS_OUT.
DOCS_OUT = .build/install-docs

# Completion scripts and man pages from the command definitions: the scripts from the binary
# itself, the pages (partctl.1, partctl.VERB.1) by swift-argument-parser's generate-manual plugin,
# which works offline from the package's checkout. The plugin builds every product first: in debug,
# so that it never rebuilds the release binaries without RELEASE_FLAGS.
DOCS_BIN ?= $(RELEASE_BIN)
docs-generated:
	rm -rf $(DOCS_OUT) && mkdir -p $(DOCS_OUT)/man1
	$(DOCS_BIN) --generate-completion-script bash > $(DOCS_OUT)/partctl.bash
	$(DOCS_BIN) --generate-completion-script zsh > $(DOCS_OUT)/_partctl
	$(DOCS_BIN) --generate-completion-script fish > $(DOCS_OUT)/partctl.fish
	$(SWIFT) package --disable-sandbox plugin generate-manual --configuration debug --multi-page \
		--authors "the partctl developers"
	cp .build/plugins/GenerateManual/outputs/partctl/*.1 $(DOCS_OUT)/man1/

install: release deb docs-generated
	install -D -m 0755 $(RELEASE_BIN) $(BINDIR)/partctl
	install -D -m 0755 .build/release/partctl-supervisor $(LIBEXECDIR)/partctl-supervisor
	install -D -m 0644 $(DOCS_OUT)/partctl.bash $(BASH_COMPLETIONS)/partctl
	install -D -m 0644 $(DOCS_OUT)/_partctl $(ZSH_COMPLETIONS)/_partctl
	install -D -m 0644 $(DOCS_OUT)/partctl.fish $(FISH_COMPLETIONS)/partctl.fish
	install -d $(MAN1DIR)
	install -m 0644 $(DOCS_OUT)/man1/*.1 $(MAN1DIR)/
	# Image recipes and their builders (partctl finds them in ../share/partctl/images), and the
	# partagent package that recipes with agent: true install.
	install -d $(SHAREDIR)/images
	cp -R images/. $(SHAREDIR)/images/
	install -m 0644 $(DEB_DIR)/partagent.deb $(SHAREDIR)/partagent.deb

uninstall:
	rm -f $(BINDIR)/partctl $(LIBEXECDIR)/partctl-supervisor
	-rmdir $(LIBEXECDIR) 2>/dev/null
	rm -f $(BASH_COMPLETIONS)/partctl $(ZSH_COMPLETIONS)/_partctl $(FISH_COMPLETIONS)/partctl.fish
	rm -f $(MAN1DIR)/partctl.1 $(MAN1DIR)/partctl.*.1
	rm -rf $(SHAREDIR)/images $(SHAREDIR)/partagent.deb
	-rmdir $(SHAREDIR) 2>/dev/null

clean:
	rm -rf .build .build-guest .build-fuzz guest/build
