#!/usr/bin/env bash
# Turns a fresh Debian 12/13 or Ubuntu 22.04/24.04 VM into a running Lambda: the engine, Node 20, git, the `lambda`
# and `lambda-deploy` users, /opt/lambda, the data folder, the systemd unit, and a first build from this checkout.
# Every step checks first, so running it again changes nothing. Run as root from a checkout:
#   sudo LAMBDA_INSTALL_DOMAIN=fn.example.com LAMBDA_INSTALL_DEPLOY_KEY="ssh-ed25519 AAAA… ci" bash scripts/install-vm.sh
#   LAMBDA_INSTALL_DOMAIN      functions answer at <name>.<this domain> (a drop-in for the unit)        unset: localhost
#   LAMBDA_INSTALL_DEPLOY_KEY  the public half of the SSH key CI deploys with (lambda-deploy's login)   unset
#   LAMBDA_INSTALL_ROOT        write files under this folder instead of /, and only print the commands
#                              that would change the machine (packages, users, systemctl)              unset: the real /
set -euo pipefail
checkout=$(cd "$(dirname "$0")/.." && pwd)

root=${LAMBDA_INSTALL_ROOT:-}
domain=${LAMBDA_INSTALL_DOMAIN:-}
deploy_key=${LAMBDA_INSTALL_DEPLOY_KEY:-}
prefix=/opt/lambda
data=/var/lib/lambda
deployer=lambda-deploy
deployer_home=/home/$deployer

say() { echo "-----> $*"; }
detail() { echo "       $*"; }
die() { echo " !     $*" >&2; exit 1; }

if [ -n "$root" ]; then
  root=$(cd "$root" && pwd)
  say "Trying it out under $root: files are written there, commands that would change this machine are printed"
elif [ "$(id -u)" != "0" ]; then
  die "run it as root (sudo bash scripts/install-vm.sh), or set LAMBDA_INSTALL_ROOT to try it under a folder"
fi

# Runs a command that changes the machine, or prints it when trying out under a folder.
run() {
  if [ -n "$root" ]; then detail "would run: $*"; else "$@"; fi
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# Writes a file under the root when its content or mode differs; says which. Returns 0 when it wrote.
put() {
  local file=$root$1 mode=$2 content=$3
  if [ -f "$file" ] && [ "$(cat "$file")" = "$content" ] && [ "$(stat -c %a "$file")" = "$mode" ]; then
    detail "$1 unchanged"
    return 1
  fi
  mkdir -p "$(dirname "$file")"
  printf '%s\n' "$content" >"$file.new"
  chmod "$mode" "$file.new"
  mv -f "$file.new" "$file"
  detail "$1 written"
}

# A folder under the root with its mode and owner; the owner is set only where that user exists.
folder() {
  local dir=$root$1 mode=$2 owner=$3
  [ -d "$dir" ] || { mkdir -p "$dir"; detail "$1 made"; }
  [ "$(stat -c %a "$dir")" = "$mode" ] || { chmod "$mode" "$dir"; detail "$1 mode $mode"; }
  own "$1" "$owner"
}

own() {
  local path=$root$1 owner=$2
  if ! getent passwd "${owner%%:*}" >/dev/null; then
    run chown "$owner" "$path"
  elif [ "$(stat -c %U:%G "$path")" != "$owner" ]; then
    run chown "$owner" "$path"
  fi
}

# --- the system ------------------------------------------------------------------------------------------------
[ -r /etc/os-release ] && . /etc/os-release
case "${ID:-}:${VERSION_ID:-}" in
  debian:12|debian:13|ubuntu:22.04|ubuntu:24.04) say "System: ${PRETTY_NAME:-$ID $VERSION_ID}" ;;
  *) echo " !     ${PRETTY_NAME:-this system} is not one this script was written for (Debian 12/13, Ubuntu 22.04/24.04); going on" >&2 ;;
esac
command -v apt-get >/dev/null || die "apt-get is missing: this script installs Debian's packages"

# --- packages: the engine, git, curl, sudo--------------------------------------------------------------------------
missing=()
# An engine installed otherwise (Docker's own docker-ce) is kept: docker.io would conflict with it.
command -v dockerd >/dev/null || installed docker.io || missing+=(docker.io)
for package in git curl ca-certificates sudo; do installed "$package" || missing+=("$package"); done
if [ "${#missing[@]}" -gt 0 ]; then
  say "Installing ${missing[*]}"
  run apt-get update -qq
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
else
  say "docker.io (or another engine), git, curl and sudo are installed"
fi

# --- Node 20: the distribution's when it has 20 or newer, else NodeSource's apt repository ----------------------
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -ge 20 ]; then
  say "Node $(node -v) is installed"
else
  candidate=$(apt-cache policy nodejs 2>/dev/null | sed -n 's/^ *Candidate: *\([0-9]*\).*/\1/p')
  if [ "${candidate:-0}" -ge 20 ] 2>/dev/null; then
    say "Installing the distribution's Node ${candidate} (nodejs, npm)"
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
  else
    say "Installing Node 20 from NodeSource's apt repository (the distribution has ${candidate:-no} nodejs)"
    # The key is fetched over HTTPS and pinned to this one source (signed-by), not trusted for every repository.
    if [ ! -s "$root/etc/apt/keyrings/nodesource.asc" ]; then
      run mkdir -p /etc/apt/keyrings
      run curl -fsSL -o /etc/apt/keyrings/nodesource.asc https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key
    fi
    put /etc/apt/sources.list.d/nodesource.list 644 \
      'deb [signed-by=/etc/apt/keyrings/nodesource.asc] https://deb.nodesource.com/node_20.x nodistro main' || true
    run apt-get update -qq
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs
  fi
fi

# --- users ------------------------------------------------------------------------------------------------------
# `lambda` runs the server and reaches the engine (the docker group); `lambda-deploy` is CI's login: it owns the
# builds, so the server cannot rewrite its own code, and may only restart the service.
if getent passwd lambda >/dev/null; then
  say "User lambda exists"
else
  say "Adding the system user lambda"
  run useradd --system --user-group --home-dir "$data" --no-create-home --shell /usr/sbin/nologin lambda
fi
if id -nG lambda 2>/dev/null | tr ' ' '\n' | grep -qx docker; then
  say "lambda is in the docker group"
else
  run usermod --append --groups docker lambda
fi
if getent passwd "$deployer" >/dev/null; then
  say "User $deployer exists"
else
  say "Adding the system user $deployer (CI's SSH login)"
  run useradd --system --user-group --create-home --home-dir "$deployer_home" --shell /bin/bash "$deployer"
fi

# --- folders, the deploy's rights, the unit ----------------------------------------------------------------------
say "Folders"
folder "$prefix" 755 "$deployer:$deployer"
folder "$prefix/releases" 755 "$deployer:$deployer"
folder "$data" 700 lambda:lambda
if [ -n "$deploy_key" ]; then
  folder "$deployer_home/.ssh" 700 "$deployer:$deployer"
  keys=$root$deployer_home/.ssh/authorized_keys
  if [ -f "$keys" ] && grep -qxF "$deploy_key" "$keys"; then
    detail "$deployer_home/.ssh/authorized_keys has the deploy key"
  else
    printf '%s\n' "$deploy_key" >>"$keys"
    chmod 600 "$keys"
    own "$deployer_home/.ssh/authorized_keys" "$deployer:$deployer"
    detail "$deployer_home/.ssh/authorized_keys: deploy key added"
  fi
fi

say "The deploy's right to restart the service"
# Exactly this command, nothing else as root.
sudoers="$deployer ALL=(root) NOPASSWD: /usr/bin/systemctl restart lambda.service, /bin/systemctl restart lambda.service"
if put /etc/sudoers.d/lambda-deploy 440 "$sudoers" && command -v visudo >/dev/null; then
  visudo -cqf "$root/etc/sudoers.d/lambda-deploy" || { rm -f "$root/etc/sudoers.d/lambda-deploy"; die "visudo refused the sudoers rule"; }
fi

say "The systemd unit"
reload=0
put /etc/systemd/system/lambda.service 644 "$(cat "$checkout/config/lambda.service")" && reload=1
if [ -n "$domain" ]; then
  [[ "$domain" =~ ^[A-Za-z0-9.-]+$ ]] || die "LAMBDA_INSTALL_DOMAIN must be a domain name, got '$domain'"
  put /etc/systemd/system/lambda.service.d/domain.conf 644 "$(printf '[Service]\nEnvironment=LAMBDA_DOMAIN=%s' "$domain")" && reload=1
fi
[ "$reload" = 1 ] && run systemctl daemon-reload

# --- the engine's service, then a first build and the service --------------------------------------------------
if systemctl is-active --quiet docker 2>/dev/null; then say "docker.service is running"; else run systemctl enable --now docker; fi
if systemctl is-enabled --quiet lambda 2>/dev/null; then say "lambda.service is enabled"; else run systemctl enable lambda.service; fi

if [ -e "$root$prefix/current" ]; then
  say "$prefix/current exists: later builds come from CI (scripts/ship.sh)"
  if [ "$reload" = 1 ]; then run systemctl restart lambda.service; fi
else
  sha=$(git -C "$checkout" rev-parse HEAD 2>/dev/null) || die "$checkout is not a git checkout: clone the repository and run the script from it"
  say "First build: $sha from $checkout"
  staging=$(mktemp -d)
  trap 'rm -rf "$staging"' EXIT
  run npm --prefix "$checkout" ci --no-audit --no-fund
  run npm --prefix "$checkout" run build
  run bash "$checkout/scripts/pack.sh" "$staging/pack.tar.gz"
  cp "$checkout/scripts/deploy.sh" "$staging/deploy.sh"
  chmod 755 "$staging"
  # As lambda-deploy, so the builds are its own and later deploys can replace and prune them.
  run runuser -u "$deployer" -- env HOME="$deployer_home" bash "$staging/deploy.sh" "$sha" "$staging/pack.tar.gz"
fi

say "Done. The admin API token's key is printed once, on the first start: journalctl -u lambda | grep -A1 'Admin API key'"
