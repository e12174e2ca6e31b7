#!/bin/sh
# As the official image: 10-defaults.conf listens on all interfaces and makes RABBITMQ_DEFAULT_USER/PASS (guest/guest
# when unset) the default user; files mounted into /etc/rabbitmq/conf.d (read after it) and enabled_plugins apply.
# The server runs as user rabbitmq, as PID 1, so SIGTERM from `docker stop` reaches it and it shuts down cleanly.
set -eu
cat >/etc/rabbitmq/conf.d/10-defaults.conf <<CONF
loopback_users.guest = false
listeners.tcp.default = 5672
management.tcp.port = 15672
default_user = ${RABBITMQ_DEFAULT_USER:-guest}
default_pass = ${RABBITMQ_DEFAULT_PASS:-guest}
CONF
if [ "${1:-}" = rabbitmq-server ] && [ "$(id -u)" = 0 ]; then
  chown -R rabbitmq:rabbitmq /var/lib/rabbitmq
  exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups env HOME=/var/lib/rabbitmq /usr/lib/rabbitmq/bin/rabbitmq-server
fi
exec "$@"
