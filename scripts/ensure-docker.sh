#!/usr/bin/env bash
# Makes sure a Docker engine answers: installs Debian's docker.io when missing and starts dockerd without
# a bridge (design.md: where it runs). Set LAMBDA_SKIP_DOCKER=1 to opt out (tests needing Docker are then left out).
set -euo pipefail

if [ "${LAMBDA_SKIP_DOCKER:-}" = "1" ]; then
  echo "-----> LAMBDA_SKIP_DOCKER=1: not checking for a Docker engine" >&2
  exit 0
fi

if docker info >/dev/null 2>&1; then
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo " !     No Docker engine answers and dockerd is not installed." >&2
    echo " !     Install Docker (Debian: apt-get install docker.io) or set LAMBDA_SKIP_DOCKER=1 to skip the tests that need it." >&2
    exit 1
  fi
  echo "-----> Installing Debian's docker.io"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" != "0" ]; then
    echo " !     dockerd is installed but not running, and starting it needs root (sudo dockerd --bridge=none --iptables=false)." >&2
    exit 1
  fi
  echo "-----> Starting dockerd (no bridge, no iptables)"
  log="${LAMBDA_DOCKERD_LOG:-/var/log/lambda-dockerd.log}"
  nohup dockerd --bridge=none --iptables=false >"$log" 2>&1 &
  for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then break; fi
    sleep 1
  done
fi

if ! docker info >/dev/null 2>&1; then
  echo " !     dockerd did not answer within 60 s; see ${LAMBDA_DOCKERD_LOG:-/var/log/lambda-dockerd.log}" >&2
  exit 1
fi
echo "-----> Docker engine $(docker version --format '{{.Server.Version}}') answers"
