#!/bin/sh
# scripts/deps.sh — install the Debian 12 packages secai's build, tests and benches need.
# Idempotent: checks each package with dpkg-query and installs only what is missing.
# As root it runs apt-get; otherwise it prints the exact command and exits 1.
set -eu
PKGS="build-essential clang llvm libclang-rt-14-dev pkg-config make git
libssl-dev libsodium-dev libmicrohttpd-dev libcurl4-openssl-dev libyaml-dev libjansson-dev
libseccomp-dev libcmocka-dev zlib1g-dev python3 python3-pytest bubblewrap unicode-data openssl curl
ca-certificates"
missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	echo "deps: all build and test packages present"
	exit 0
fi
echo "deps: missing:$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: run as root:  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends $missing
echo "deps: installed:$missing"
