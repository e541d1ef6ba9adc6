#!/usr/bin/env bash
# Installs what the tests drive besides the engine, when missing: Debian's chromium (the dashboard's browser tests,
# through playwright-core), openssh-server (the VM deploy script, tried against sshd on loopback) and golang-go (the
# go runtime's toolchain, which the server would otherwise install inside the first Go test's push) and docker-registry
# (the registry the swarm tests run on their manager).
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
[ -x /usr/bin/g++ ] && [ -x /usr/bin/make ] || missing+=(g++ make) # the node20 install image's toolchain (native addons)
command -v go >/dev/null 2>&1 || missing+=(golang-go)
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo " !     Missing for the tests: ${missing[*]}. Install them (Debian: apt-get install ${missing[*]})." >&2
  exit 1
fi
echo "-----> Installing Debian's ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The package starts a registry of its own on every interface where systemd runs; the tests start theirs.
if [[ " ${missing[*]} " == *" docker-registry "* ]] && systemctl is-active --quiet docker-registry 2>/dev/null; then
  systemctl disable --now docker-registry >/dev/null 2>&1
fi
