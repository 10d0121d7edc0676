#!/usr/bin/env bash
# Make sure a local MariaDB answers (root, empty password); start or install it if needed.
# Prints the server URL the tests use.
set -euo pipefail
ping_db() { mysqladmin --user=root --host=127.0.0.1 --connect-timeout=2 ping >/dev/null 2>&1; }
if ! ping_db; then
  if [[ ! -x /usr/sbin/mariadbd ]]; then
    echo "installing MariaDB from Debian's packages" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server) >&2
  fi
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql >&2 || true
  for _ in $(seq 1 60); do ping_db && break; sleep 0.5; done
fi
ping_db || { echo "MariaDB did not start" >&2; exit 1; }
echo "mysql://root@127.0.0.1:3306"
