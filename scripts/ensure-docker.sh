#!/usr/bin/env bash
# Makes sure a Docker engine answers: installs Debian's docker.io when missing and starts dockerd without
# a bridge. Set LAMBDA_SKIP_DOCKER=1 to opt out (tests needing Docker are then left out),
# LAMBDA_START_DOCKER=0 to only check (systemd: the engine is docker.service's job, not ours).
set -euo pipefail

if [ "${LAMBDA_SKIP_DOCKER:-}" = "1" ]; then
  echo "-----> LAMBDA_SKIP_DOCKER=1: not checking for a Docker engine" >&2
  exit 0
fi

if docker info >/dev/null 2>&1; then
  exit 0
fi

if [ "${LAMBDA_START_DOCKER:-1}" = "0" ]; then
  echo " !     No Docker engine answers (LAMBDA_START_DOCKER=0: not starting one). Start it: systemctl start docker" >&2
  exit 1
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
  # setsid: the engine gets a session and process group of its own, so stopping `npm start` the way a
  # terminal or systemd does (a signal to the whole group) leaves the engine and its containers alone.
  setsid -f dockerd --bridge=none --iptables=false >"$log" 2>&1 </dev/null
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
