#!/usr/bin/env bash
# Turns a fresh Debian 12/13 or Ubuntu 22.04/24.04 VM into a running Lambda: the engine, Node 20, git, the `lambda`
# and `lambda-deploy` users, /opt/lambda, the data folder, the systemd unit, the deploy key's receiver, and a first
# build from this checkout.
# Every step checks first, so running it again changes nothing. Run as root from a checkout:
#   sudo LAMBDA_INSTALL_DOMAIN=fn.example.com LAMBDA_INSTALL_DEPLOY_KEY="ssh-ed25519 AAAA… ci" bash scripts/install-vm.sh
#   LAMBDA_INSTALL_DOMAIN      functions answer at <name>.<this domain> (a drop-in for the unit)        unset: localhost
#   LAMBDA_INSTALL_DEPLOY_KEY  the public half of the SSH key CI deploys with (lambda-deploy's login,   unset
#                              restricted to the receiver: no shell, no forwarding)
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
# The deploy key's forced command: root's file, so the key's holder cannot change what the key runs.
receiver=/usr/local/lib/lambda/receive-deploy

say() { echo "-----> $*"; }
detail() { echo "       $*"; }
die() { echo " !     $*" >&2; exit 1; }

if [ -n "$root" ]; then
  root=$(cd "$root" && pwd)
  # The root becomes part of the deploy key's command="…" option: nothing there may end or split it.
  [[ "$root" =~ ^[A-Za-z0-9/._-]+$ ]] || die "LAMBDA_INSTALL_ROOT may hold only letters, digits and / . _ -, got '$root'"
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

# Refuses to go through a symbolic link: a folder another user owns (/opt/lambda, lambda-deploy's home of an earlier
# install) may hold one to anywhere, and root following it would change that place instead.
no_symlink() {
  [ ! -L "$root$1" ] || die "$1 is a symbolic link: this script does not write through one; remove it and run the script again"
}

# A folder under the root with its mode and owner; the owner is set only where that user exists. With a fourth word
# `as-deployer`, made and chmodded as lambda-deploy: for a folder inside one lambda-deploy owns, which it could swap
# for a link between the check and the change.
folder() {
  local dir=$root$1 mode=$2 owner=$3 maker=()
  [ "${4:-}" != as-deployer ] || maker=(as_deployer)
  no_symlink "$1"
  [ -d "$dir" ] || { "${maker[@]}" mkdir -p "$dir"; detail "$1 made"; }
  [ "$(stat -c %a "$dir")" = "$mode" ] || { "${maker[@]}" chmod "$mode" "$dir"; detail "$1 mode $mode"; }
  own "$1" "$owner"
}

own() {
  local path=$root$1 owner=$2
  # -h: a symbolic link put there since it was checked gets the owner, never the file it points at.
  if ! getent passwd "${owner%%:*}" >/dev/null; then
    run chown -h "$owner" "$path"
  elif [ "$(stat -c %U:%G "$path")" != "$owner" ]; then
    run chown -h "$owner" "$path"
  fi
}

# Runs a command as lambda-deploy, for what lies in its folders: whatever it could have put there, the command can reach
# no more than lambda-deploy itself can. Under a try-out root, as this user (the files are under the root).
as_deployer() {
  if [ -n "$root" ]; then "$@"; else runuser -u "$deployer" -- "$@"; fi
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
# iproute2 has ss, which the deploy's health check uses to see who listens on the service's port. golang-go is the
# toolchain of the go runtime (the server would install it at its first Go build; here that build does not wait).
# g++, make and python3 go into node20's install image, so npm packages with native addons compile. docker-registry is
# the registry the platform runs on a swarm's manager (its package's own service is turned off below).
for package in git curl ca-certificates sudo iproute2 golang-go g++ make python3 docker-registry; do installed "$package" || missing+=("$package"); done
if [ "${#missing[@]}" -gt 0 ]; then
  say "Installing ${missing[*]}"
  run apt-get update -qq
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
else
  say "docker.io (or another engine), git, curl, sudo, iproute2, golang-go, g++, make, python3 and docker-registry are installed"
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
folder "$prefix/releases" 755 "$deployer:$deployer" as-deployer
folder "$data" 700 lambda:lambda
folder "$(dirname "$receiver")" 755 root:root
put "$receiver" 755 "$(cat "$checkout/scripts/receive-deploy.sh")" || true
own "$receiver" root:root
# lambda-deploy's home is root's, and so are .ssh and authorized_keys in it: a deploy runs as lambda-deploy, and
# whoever holds a leaked deploy key must not be able to add a key of their own that outlives its removal (owning the
# home, it could rename a root-owned .ssh away and make its own). sshd's StrictModes accepts root-owned files.
# What lambda-deploy writes there is npm's cache (the deploy's npm ci).
# useradd --create-home made the home on the machine; under a try-out root it is made here.
folder "$deployer_home" 755 root:root
folder "$deployer_home/.npm" 700 "$deployer:$deployer"
if [ -n "$deploy_key" ]; then
  # One public key line as ssh-keygen writes it: options of its own or a second line would widen what it may do.
  key_line='^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^[:cntrl:]]*)?$'
  [[ "$deploy_key" =~ $key_line ]] || die "LAMBDA_INSTALL_DEPLOY_KEY must be one public key line as in deploy_key.pub (type, key, comment), without options"
  blob=$(cut -d' ' -f2 <<<"$deploy_key")
  # No shell, no forwarding, no terminal: the key can only hand a pack to the receiver.
  restricted="restrict,command=\"$root$receiver\" $deploy_key"
  ssh_dir=$deployer_home/.ssh
  keys=$ssh_dir/authorized_keys
  # Root's from here on (a .ssh of an earlier install was lambda-deploy's): once it is, lambda-deploy can change
  # nothing in it, so what is checked below stays as checked.
  folder "$ssh_dir" 755 root:root
  # sshd reads this one too (its default AuthorizedKeysFile): only the deploy key's line may open this login.
  if [ -e "$root$ssh_dir/authorized_keys2" ] || [ -L "$root$ssh_dir/authorized_keys2" ]; then
    rm -f "$root$ssh_dir/authorized_keys2"
    detail "$ssh_dir/authorized_keys2 removed"
  fi
  no_symlink "$keys"
  before=""
  if [ -e "$root$keys" ]; then
    [ -f "$root$keys" ] || die "$keys is not a regular file: remove it and run the script again"
    # Read as lambda-deploy: whatever an earlier install let it put there, root reads nothing it could not.
    before=$(as_deployer cat "$root$keys") || die "$keys cannot be read as $deployer: remove it and run the script again"
  fi
  # Any earlier line for the same key goes (sshd would use the first line that matches, restricted or not).
  after=$(awk -v blob="$blob" '{ for (i = 1; i <= NF; i++) if ($i == blob) next; print }' <<<"$before")
  after=${after:+$after$'\n'}$restricted
  # A file another user owns is written anew even when its lines are right: a descriptor it holds open stays writable.
  if [ -f "$root$keys" ] && [ "$before" = "$after" ] && [ "$(stat -c %a:%u "$root$keys")" = "644:$(id -u)" ]; then
    detail "$keys has the deploy key, restricted to $receiver"
  else
    # A new file of root's in root's folder, renamed over the old one: no link or hard link there is written through.
    next=$(mktemp "$root$keys.XXXXXX")
    printf '%s\n' "$after" >"$next"
    chmod 644 "$next"
    mv -f "$next" "$root$keys"
    detail "$keys: deploy key written, restricted to $receiver"
  fi
  own "$keys" root:root
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
# Debian's docker-registry serves a registry of its own on every interface's port 5000: the platform runs its own, with
# its own settings, only in the multi-machine mode, so the package's service stays off.
if systemctl is-enabled --quiet docker-registry 2>/dev/null || systemctl is-active --quiet docker-registry 2>/dev/null; then
  run systemctl disable --now docker-registry
else
  say "docker-registry.service is off"
fi
if systemctl is-enabled --quiet lambda 2>/dev/null; then say "lambda.service is enabled"; else run systemctl enable lambda.service; fi

sha=$(git -C "$checkout" rev-parse HEAD 2>/dev/null || true)
current=$root$prefix/current
if [ -n "$sha" ] && [ -L "$current" ] && [ "$(basename "$(readlink "$current")")" = "$sha" ] && [ -d "$current/" ]; then
  # The same commit again: no npm ci, no build, no deploy.
  say "$sha (this checkout) is already the current build: nothing to build"
  if [ "$reload" = 1 ]; then run systemctl restart lambda.service; fi
elif [ -e "$current" ]; then
  say "$prefix/current exists: later builds come from CI (scripts/ship.sh)"
  if [ "$reload" = 1 ]; then run systemctl restart lambda.service; fi
else
  [ -n "$sha" ] || die "$checkout is not a git checkout: clone the repository and run the script from it"
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
