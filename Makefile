# partctl — see README.md. Every target runs as root on Debian.
SWIFT ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)
PARTCTL_ROOT ?= /var/lib/partctl
export PARTCTL_ROOT
# Release builds link the Swift runtime statically: partctl starts in a few milliseconds.
RELEASE_FLAGS = -c release --static-swift-stdlib
DEBUG_BIN = .build/debug/partctl
RELEASE_BIN = .build/release/partctl

.PHONY: all setup build release guest-image run test unit-test integration-test bench install clean

all: release

setup:
	sh scripts/setup.sh

build:
	$(SWIFT) build

release:
	$(SWIFT) build $(RELEASE_FLAGS)

guest-image: setup
	sh guest/build-image.sh

# The main job: partitions defined and started from profiles/, the tree printed.
run: setup guest-image release
	PARTCTL=$(RELEASE_BIN) sh scripts/main-job.sh

test: setup guest-image build
	PARTCTL_BIN=$(CURDIR)/$(DEBUG_BIN) $(SWIFT) test --no-parallel

bench: setup guest-image release
	PARTCTL=$(CURDIR)/$(RELEASE_BIN) sh bench/run.sh

install: release
	install -m 0755 $(RELEASE_BIN) /usr/local/bin/partctl

clean:
	rm -rf .build guest/build
