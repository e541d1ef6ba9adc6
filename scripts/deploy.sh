#!/usr/bin/env bash
# The VM's side of a deploy: installs a packed build beside the running one, switches `current` to it, restarts the
# service, checks GET /healthz, and switches back to the previous build when the restart or the check fails.
# Usage: scripts/deploy.sh SHA [PACK.tar.gz]   (the pack from stdin when no file is given)
#
# Every value has the production default; a test points them elsewhere:
#   LAMBDA_DEPLOY_PREFIX          where releases/ and current live            /opt/lambda
#   LAMBDA_DEPLOY_RESTART         restarts the service                         systemctl restart lambda.service (sudo -n when not root)
#   LAMBDA_DEPLOY_HEALTH_URL      the check after a restart                    http://127.0.0.1:8080/healthz
#   LAMBDA_DEPLOY_HEALTH_TIMEOUT  seconds the check waits for a first 200        90
#   LAMBDA_DEPLOY_HEALTH_SETTLE   seconds it must then keep answering           10
#   LAMBDA_DEPLOY_PID_FILE        a file holding the service's process id      unset: systemctl show -p MainPID lambda.service
#   LAMBDA_DEPLOY_INSTALL         installs production npm packages in a build  npm ci --omit=dev --no-audit --no-fund
#   LAMBDA_DEPLOY_KEEP            builds kept in releases/ (current included)  3
# The data folder (/var/lib/lambda) is the server's: a deploy never reads or writes it.
set -euo pipefail

say() { echo "-----> $*"; }
fail() { echo " !     $*" >&2; exit "${2:-1}"; }

sha=${1:-}
pack=${2:--}
# The name becomes a folder: only a commit's hex digits, so no path can be smuggled in.
[[ "$sha" =~ ^[0-9a-f]{7,40}$ ]] || fail "deploy: the first argument must be a commit SHA (7 to 40 hex digits), got '${sha}'" 2

prefix=${LAMBDA_DEPLOY_PREFIX:-/opt/lambda}
if [ -n "${LAMBDA_DEPLOY_RESTART:-}" ]; then
  restart=$LAMBDA_DEPLOY_RESTART
elif [ "$(id -u)" = "0" ]; then
  restart="systemctl restart lambda.service"
else
  restart="sudo -n systemctl restart lambda.service"
fi
health_url=${LAMBDA_DEPLOY_HEALTH_URL:-http://127.0.0.1:8080/healthz}
health_timeout=${LAMBDA_DEPLOY_HEALTH_TIMEOUT:-90}
pid_file=${LAMBDA_DEPLOY_PID_FILE:-}
install=${LAMBDA_DEPLOY_INSTALL:-npm ci --omit=dev --no-audit --no-fund}
keep=${LAMBDA_DEPLOY_KEEP:-3}
health_settle=${LAMBDA_DEPLOY_HEALTH_SETTLE:-10}
[[ "$health_timeout" =~ ^[0-9]+$ ]] || fail "LAMBDA_DEPLOY_HEALTH_TIMEOUT must be whole seconds, got '${health_timeout}'" 2
# At least one more probe after the first 200: a server answers before the rest of its start has run.
[[ "$health_settle" =~ ^[0-9]+$ ]] && [ "$health_settle" -ge 1 ] || fail "LAMBDA_DEPLOY_HEALTH_SETTLE must be whole seconds, 1 or more, got '${health_settle}'" 2
# Fewer than 2 would leave nothing to switch back to.
[[ "$keep" =~ ^[0-9]+$ ]] && [ "$keep" -ge 2 ] || fail "LAMBDA_DEPLOY_KEEP must be 2 or more, got '${keep}'" 2

[[ "$health_url" =~ ^(https?)://(\[[^]/]*\]|[^]/:[]+)(:([0-9]+))?(/|$) ]] || fail "LAMBDA_DEPLOY_HEALTH_URL must be an http:// or https:// URL, got '${health_url}'" 2
health_port=${BASH_REMATCH[4]:-}
if [ -z "$health_port" ]; then if [ "${BASH_REMATCH[1]}" = https ]; then health_port=443; else health_port=80; fi; fi

releases=$prefix/releases
current=$prefix/current
mkdir -p "$releases"
# One deploy at a time: a second one waits here instead of switching `current` under the first.
exec 9>"$prefix/.deploy.lock"
flock 9

# Points `current` at releases/NAME in one rename, so the service never sees it missing or half-written.
switch_to() {
  ln -sfn "releases/$1" "$prefix/.current.next"
  mv -T "$prefix/.current.next" "$current"
}

current_name() {
  if [ -L "$current" ]; then basename "$(readlink "$current")"; fi
}

# Restarts the service; false when the restart command fails. Notes the process from before in `before_pid`, which
# the health check then never trusts: when a restart did nothing, the old build would otherwise answer for the new one.
restart_service() {
  before_pid=$(service_pid)
  # systemd says 0 for a service with no process.
  [[ "$before_pid" =~ ^[1-9][0-9]*$ ]] || before_pid=""
  say "Restarting: $restart"
  # The command is words (a program and its arguments), as an operator writes it in the variable.
  # shellcheck disable=SC2086
  # 9>&-: the lock stays this script's, not the service's (a restarted process would otherwise keep it held).
  if $restart 9>&-; then return 0; else restart_status=$?; fi
  echo " !     the restart command failed (exit $restart_status)" >&2
  return 1
}

service_pid() {
  if [ -n "$pid_file" ]; then
    cat "$pid_file" 2>/dev/null || true
  else
    systemctl show --property MainPID --value lambda.service 2>/dev/null || true
  fi
}

# True when every socket listening on the health port belongs to the service: owned by the user its process runs as
# (so no other local user's program, bound first during the restart, passes for it) and, where this user may look at
# that process's open files (root, or the same user), one of them. $1: the service's process id.
served_by() {
  local pid=$1 uid listeners line owner inode
  [[ "$pid" =~ ^[1-9][0-9]*$ ]] && [ -d "/proc/$pid" ] || return 1
  uid=$(stat -c %u "/proc/$pid") || return 1
  listeners=$(ss --listening --tcp --numeric --extended --no-header "sport = :$health_port") || return 1
  [ -n "$listeners" ] || return 1
  while IFS= read -r line; do
    # ss leaves out uid: for root's sockets.
    owner=0
    if [[ "$line" =~ \ uid:([0-9]+) ]]; then owner=${BASH_REMATCH[1]}; fi
    [[ "$line" =~ \ ino:([0-9]+) ]] || return 1
    inode=${BASH_REMATCH[1]}
    [ "$owner" = "$uid" ] || return 1
    if [ -r "/proc/$pid/fd" ]; then
      find "/proc/$pid/fd" -lname "socket:\[$inode\]" 2>/dev/null | grep -q . || return 1
    fi
  done <<<"$listeners"
}

probe() { curl --silent --fail --max-time 3 --output /dev/null "$health_url"; }

# True once the health URL answers 200 from the service itself, a process other than the one from before the restart
# (retrying every second for at most health_timeout seconds), and then keeps answering from that same process every
# second for health_settle seconds: a build that answers and then crashes, or is restarted, is not live.
healthy() {
  local deadline=$((SECONDS + health_timeout)) warned=0 pid now probes
  while :; do
    pid=$(service_pid)
    if [ -n "${before_pid:-}" ] && [ "$pid" = "$before_pid" ]; then
      if [ "$warned" = 0 ]; then
        echo " !     the service's process is still $pid, the one from before the restart: waiting for a new one" >&2
        warned=1
      fi
    elif probe; then
      if served_by "$pid"; then break; fi
      if [ "$warned" = 0 ]; then
        echo " !     $health_url answers 200, but what listens on port $health_port is not the service's process (${pid:-none}): not trusting it" >&2
        warned=1
      fi
    fi
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 1
  done
  say "Process $pid answers; checking it keeps answering for ${health_settle}s"
  for ((probes = 0; probes < health_settle; probes++)); do
    sleep 1
    now=$(service_pid)
    if [ "$now" != "$pid" ]; then
      echo " !     the service's process $pid went away within ${health_settle}s of its first 200 (now: ${now:-none})" >&2
      return 1
    fi
    if ! probe || ! served_by "$pid"; then
      echo " !     $health_url stopped answering 200 from process $pid within ${health_settle}s of its first 200" >&2
      return 1
    fi
  done
}

previous=$(current_name)
if [ "$previous" = "$sha" ]; then
  say "$sha is already the current build; checking it answers"
  healthy || fail "$sha is current but $health_url does not answer 200 within ${health_timeout}s and keep answering for ${health_settle}s"
  say "$sha answers at $health_url"
  exit 0
fi

say "Unpacking $sha into $releases/$sha"
staging=$(mktemp -d "$releases/.incoming-$sha.XXXXXX")
trap 'rm -rf "$staging"' EXIT
if [ "$pack" = "-" ]; then tar --extract --gzip --no-same-owner --directory "$staging"; else tar --extract --gzip --no-same-owner --directory "$staging" --file "$pack"; fi
[ -f "$staging/dist/server/main.js" ] || fail "the pack for $sha has no dist/server/main.js; nothing was changed"
say "Installing production npm packages: $install"
# shellcheck disable=SC2086 # words, as above
(cd "$staging" && $install 9>&-) || fail "installing npm packages for $sha failed; nothing was changed"
rm -rf "${releases:?}/$sha"
mv -T "$staging" "$releases/$sha"
trap - EXIT
touch "$releases/$sha"

say "Switching current from ${previous:-(none)} to $sha"
switch_to "$sha"
if ! restart_service; then
  why="the restart command failed"
elif ! healthy; then
  why="$health_url did not answer 200 from a new process within ${health_timeout}s and keep answering for ${health_settle}s"
else
  why=""
fi
if [ -n "$why" ]; then
  if [ -z "$previous" ] || [ ! -d "$releases/$previous" ]; then
    fail "deploy of $sha failed: $why, and there is no previous build to switch back to"
  fi
  echo " !     $why after starting $sha; switching back to $previous" >&2
  switch_to "$previous"
  if ! restart_service; then
    rm -rf "${releases:?}/$sha"
    fail "deploy of $sha failed: $why; switched back to $previous, but restarting it failed too: see the service's log (journalctl -u lambda)" 3
  fi
  rm -rf "${releases:?}/$sha"
  if healthy; then
    fail "deploy of $sha failed: $why; switched back to $previous, which answers again"
  fi
  fail "deploy of $sha failed: $why, and after switching back to $previous, $health_url still does not answer 200 steadily: see the service's log (journalctl -u lambda)" 3
fi
say "$sha is live: $health_url answers 200"

# Keeps the newest builds; current and the one before it (the way back) are never removed.
kept=0
while IFS= read -r dir; do
  name=$(basename "$dir")
  kept=$((kept + 1))
  if [ "$kept" -gt "$keep" ] && [ "$name" != "$sha" ] && [ "$name" != "$previous" ]; then
    say "Removing old build $name"
    rm -rf "${releases:?}/$name"
  fi
done < <(find "$releases" -mindepth 1 -maxdepth 1 -type d ! -name '.*' -printf '%T@ %p\n' | sort -rn | cut -d' ' -f2-)
