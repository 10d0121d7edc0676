#!/usr/bin/env bash
# The system side of the libvirt extra: libvirt's library and headers and pkg-config, which
# libvirt-python builds against (its own test:/// driver, used by the tests, is in the library).
set -euo pipefail
if ! pkg-config --exists libvirt 2>/dev/null; then
  echo "installing libvirt-dev and pkg-config from Debian's packages" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libvirt-dev pkg-config) >&2
fi
pkg-config --exists libvirt
