#!/bin/sh
# The redis service's Docker healthcheck (compose/docker-compose.yml), there for the start order: the
# nodes of a system that cannot start without Redis (Centrifugo) wait until it passes. It passes once
# Redis has answered PING, as its clients would reach it (the container's port and password), since the
# container's process started. From then on a probe asks Redis nothing and only sleeps before passing:
#  - a probe is a `docker exec`, about 60 ms of CPU: at the 100 ms interval the start wants, probing for
#    the whole run would take half a core;
#  - under a preset PING answers MISCONF (or NOAUTH), and Redis counts every error reply
#    (redis_errors_total, which alert rules read): the harness's own probe must add nothing to the
#    evidence of what the system under test does (an error reply is asked again only after the sleep).
# Docker runs one probe at a time, so the sleep spaces them out (the healthcheck's timeout is longer).
# The HX_REDIS_HEALTH_* variables exist for tests/node/test_redis_healthcheck.py, which runs this on the host.
set -u
answered="${HX_REDIS_HEALTH_FILE:-/tmp/hx-redis-answered}"
# When redis-server (the container's PID 1) started, in clock ticks since boot (field 22 of stat, counted
# after the command name, which may hold spaces): a restarted container forgets an earlier answer.
stat=$(cat "/proc/${HX_REDIS_HEALTH_PID:-1}/stat")
started=$(echo "${stat##*) }" | cut -d' ' -f20)
case "$(cat "$answered" 2>/dev/null)" in
  "$started") exec sleep "${HX_REDIS_HEALTH_IDLE_S:-10}" ;;
  # It answered with an error (a preset's Redis asked after it broke): asked again only after the same
  # sleep, so the probe adds at most one error reply per 10 s to Redis's counts.
  "$started error") sleep "${HX_REDIS_HEALTH_IDLE_S:-10}" ;;
esac
if [ -n "${REDIS_PASSWORD:-}" ]; then
  export REDISCLI_AUTH="$REDIS_PASSWORD"
fi
# Not listening yet (redis-cli exits 1): asked again every 50 ms within this probe, for up to about 3 s,
# rather than failing it: the next probe is another exec, which a busy machine makes 0.5-1 s late. Any
# answer ends the loop, so a Redis answering with an error is asked once a probe, not 20 times a second.
tries=1
until reply=$(redis-cli -p "${REDIS_PORT:-6379}" ping 2>&1); do
  if [ "$tries" -ge 60 ]; then
    echo "$reply"
    exit 1
  fi
  tries=$((tries + 1))
  sleep 0.05
done
# redis-cli exits 0 on an error reply (NOAUTH, MISCONF, LOADING): only PONG counts.
if [ "$reply" != PONG ]; then
  echo "$started error" > "$answered"
  echo "$reply"
  exit 1
fi
echo "$started" > "$answered"
echo PONG
