#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh Debian machine with a
# Rust toolchain. Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install Rust (https://rustup.rs) first" >&2
  exit 1
fi
# Debian packages: ZooKeeper, for the leader-election tests (its package
# ships the server jar that tests/common/zookeeper.rs starts on a free
# port; Java comes with the machine image), and curl, tar and unzip, which
# mesos-fetcher uses to download and unpack executors' URIs. docker.io
# (dockerd and Debian's docker client at /usr/bin/docker) for the Docker
# containerizer, whose tests start a private dockerd; busybox-static, the
# rootfs of the image those tests build locally (no registry is reachable).
# dnsutils for dig, which the mesos-dns tests query it with.
missing=()
[ -f /usr/share/java/zookeeper.jar ] || missing+=(zookeeper)
[ -x /usr/sbin/dockerd ] && [ -x /usr/bin/docker ] || missing+=(docker.io)
[ -x /bin/busybox ] || missing+=(busybox-static)
command -v dig >/dev/null 2>&1 || missing+=(dnsutils)
for tool in curl tar unzip; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=
  if [ "$(id -u)" -ne 0 ]; then
    sudo=sudo
  fi
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Fetch crates up front so a network problem shows here, not mid-build.
cargo fetch --locked 2>/dev/null || cargo fetch

# pymesos, the third-party client that proves API compatibility, in a venv
# of the project's own. Its dependency http-parser 0.9.0 does not compile
# its C extension on CPython 3.11; pymesos works with that package's
# pure-Python parser, so it is built without the extension.
VENV=.venv
if ! "$VENV/bin/python" -c 'import pymesos' >/dev/null 2>&1; then
  python3 -m venv "$VENV"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  "$VENV/bin/pip" install --quiet --upgrade pip
  "$VENV/bin/pip" download --quiet --no-deps --no-binary :all: http-parser==0.9.0 -d "$tmp"
  tar -xzf "$tmp/http-parser-0.9.0.tar.gz" -C "$tmp"
  rm -f "$tmp"/http-parser-0.9.0/http_parser/*.so
  sed -i 's/^    run_setup(not IS_PYPY)$/    run_setup(False)/' "$tmp/http-parser-0.9.0/setup.py"
  "$VENV/bin/pip" install --quiet "$tmp/http-parser-0.9.0" pymesos==0.3.15
fi

# avmesos-cli, the operator CLI (its command is `mesos-cli`), in the same
# venv, for the operator-client tests. 1.0.0 is its last release that
# installs on CPython 3.11 (later ones require 3.12); it imports requests
# without declaring it, so requests is installed beside it.
if ! "$VENV/bin/python" -c 'import avmesos.cli, requests' >/dev/null 2>&1; then
  "$VENV/bin/pip" install --quiet avmesos-cli==1.0.0 requests==2.32.3
fi

# dnspython, the resolver library the deployment guide's apps use, in the
# same venv, for the mesos-dns tests.
if ! "$VENV/bin/python" -c 'import dns.resolver' >/dev/null 2>&1; then
  "$VENV/bin/pip" install --quiet dnspython==2.7.0
fi
