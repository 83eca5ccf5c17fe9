#!/usr/bin/env bash
# Before the suite: bring what the tests need on a Debian machine (Chromium, CJK fonts, running MariaDB
# and Redis), installing with apt when allowed (root or passwordless sudo), or stop at once with the one
# command to run, so a fresh clone fails here with a fix instead of deep inside the browser tests.
set -euo pipefail

chromium_path="${CHROMIUM_PATH:-/usr/bin/chromium}"
db_host=127.0.0.1
redis_port=6379

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif sudo -n true 2>/dev/null; then sudo -n "$@"; else return 1; fi
}
may_install() { [ "$(id -u)" = 0 ] || sudo -n true 2>/dev/null; }

missing=()
[ -x "$chromium_path" ] || missing+=(chromium)
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-noto-cjk)
command -v mariadb-admin >/dev/null 2>&1 || missing+=(mariadb-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-server)

if [ "${#missing[@]}" -gt 0 ]; then
  if ! may_install; then
    echo "Missing for the tests: ${missing[*]}. Run once, then npm test again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "Installing for the tests: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  if [ ! -x "$chromium_path" ]; then
    echo "Chromium is still not at $chromium_path: unset CHROMIUM_PATH or point it at the installed one" >&2
    exit 1
  fi
fi

wait_for() { # wait_for NAME COMMAND...: up to 30 s
  local name=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "$name did not come up" >&2
  return 1
}

if ! mariadb-admin --host="$db_host" --user=root ping >/dev/null 2>&1; then
  as_root sh -c 'mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld' ||
    { echo "MariaDB is not running: start it (sudo service mariadb start)" >&2; exit 1; }
  as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
  wait_for MariaDB mariadb-admin --host="$db_host" --user=root ping
fi

if ! redis-cli -h "$db_host" -p "$redis_port" ping >/dev/null 2>&1; then
  as_root sh -c 'mkdir -p /var/lib/redis /var/log/redis' ||
    { echo "Redis is not running: start it (sudo service redis-server start)" >&2; exit 1; }
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$redis_port" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/test.log
  wait_for Redis redis-cli -h "$db_host" -p "$redis_port" ping
fi
