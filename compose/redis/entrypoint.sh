#!/bin/sh
# Builds the redis-server command line from environment variables. The misconfiguration faults change
# exactly these, so every value is checked here and an invalid one is logged loudly (then passed on,
# so Redis itself fails as it would in production).
set -eu

# One JSON line on stderr; quotes and backslashes in the message are escaped so the line stays JSON.
warn() {
  msg=$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')
  echo "{\"level\":\"error\",\"event\":\"redis_env_invalid\",\"message\":\"$msg\"}" >&2
}
check() { # name value regex allowed
  # printf with a newline: grep sees one (possibly empty) line, so an empty value can match too.
  if ! printf '%s\n' "$2" | grep -Eq "^($3)\$"; then warn "$1=$2 is not valid; allowed: $4"; fi
}

port="${REDIS_PORT:-6379}"
bind="${REDIS_BIND:-0.0.0.0}"
dir="${REDIS_DIR:-/data}"
save="${REDIS_SAVE:-}"
appendonly="${REDIS_APPENDONLY:-no}"
protected="${REDIS_PROTECTED_MODE:-no}"
policy="${REDIS_MAXMEMORY_POLICY:-noeviction}"
maxmemory="${REDIS_MAXMEMORY:-0}"
stop_writes="${REDIS_STOP_WRITES_ON_BGSAVE_ERROR:-yes}"
# DEBUG (the harness's DEBUG SLEEP fault) only from inside the container, never from the network.
debug="${REDIS_ENABLE_DEBUG_COMMAND:-local}"

check REDIS_PORT "$port" '[0-9]{1,5}' 'a TCP port 1-65535'
case "$port" in *[!0-9]*|'') ;; *) [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || warn "REDIS_PORT=$port is out of range; allowed: 1-65535";; esac
check REDIS_APPENDONLY "$appendonly" 'yes|no' 'yes, no'
check REDIS_PROTECTED_MODE "$protected" 'yes|no' 'yes, no'
check REDIS_STOP_WRITES_ON_BGSAVE_ERROR "$stop_writes" 'yes|no' 'yes, no'
check REDIS_ENABLE_DEBUG_COMMAND "$debug" 'yes|no|local' 'yes, no, local'
check REDIS_MAXMEMORY "$maxmemory" '[0-9]+([kKmMgG][bB]?)?' 'bytes, or a number with kb/mb/gb'
check REDIS_MAXMEMORY_POLICY "$policy" 'noeviction|allkeys-lru|allkeys-lfu|allkeys-random|volatile-lru|volatile-lfu|volatile-random|volatile-ttl' 'a Redis maxmemory-policy'
check REDIS_SAVE "$save" '|[0-9]+ [0-9]+( [0-9]+ [0-9]+)*' 'empty (no RDB snapshots) or "SECONDS CHANGES ..."'
[ -d "$dir" ] || warn "REDIS_DIR=$dir does not exist"
[ -w "$dir" ] || warn "REDIS_DIR=$dir is not writable by $(id -un): background saves will fail (MISCONF)"

set -- redis-server --port "$port" --bind "$bind" --dir "$dir" --save "$save" \
  --appendonly "$appendonly" --protected-mode "$protected" --maxmemory "$maxmemory" \
  --maxmemory-policy "$policy" --stop-writes-on-bgsave-error "$stop_writes" \
  --enable-debug-command "$debug"
if [ -n "${REDIS_PASSWORD:-}" ]; then set -- "$@" --requirepass "$REDIS_PASSWORD"; fi
echo "{\"level\":\"info\",\"event\":\"redis_start\",\"port\":\"$port\",\"dir\":\"$dir\",\"save\":\"$save\",\"maxmemory\":\"$maxmemory\",\"policy\":\"$policy\",\"password\":$([ -n "${REDIS_PASSWORD:-}" ] && echo true || echo false)}" >&2
exec "$@"
