#!/bin/sh
# One-shot job of docker-compose.cluster.yml (service redis-cluster-init): joins the six Redis nodes into a cluster of 3
# masters with one replica each, the first time; on every later `up` it finds the cluster formed and only waits until
# it serves all slots. Exits 0 once every node reports cluster_state:ok, so the dedup workers start on a working
# cluster. REDIS_CLUSTER_NODES: the nodes as ip:port, space-separated, the masters-to-be first.
set -eu
: "${REDIS_CLUSTER_NODES:?the nodes as ip:port, space-separated}"
WAIT_SECONDS=${REDIS_CLUSTER_WAIT_SECONDS:-120}

info() { redis-cli -h "${1%:*}" -p "${1##*:}" cluster info 2>/dev/null | tr -d '\r'; }
field() { info "$1" | sed -n "s/^$2://p"; }

first=${REDIS_CLUSTER_NODES%% *}
known=$(field "$first" cluster_known_nodes)
if [ "${known:-0}" -le 1 ]; then
  # A node that knows no peer and holds no slot: never formed (redis-cli refuses nodes that hold data or peers).
  echo "creating the Redis Cluster: $REDIS_CLUSTER_NODES"
  # shellcheck disable=SC2086 # one argument per node
  redis-cli --cluster create $REDIS_CLUSTER_NODES --cluster-replicas 1 --cluster-yes
else
  echo "the Redis Cluster exists ($known nodes known to $first)"
fi

deadline=$(( $(date +%s) + WAIT_SECONDS ))
for node in $REDIS_CLUSTER_NODES; do
  until [ "$(field "$node" cluster_state)" = ok ]; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "$node: cluster_state is not ok after ${WAIT_SECONDS} s:" >&2
      info "$node" >&2
      exit 1
    fi
    sleep 1
  done
done
echo "the Redis Cluster serves every slot: $(field "$first" cluster_size) masters, $(field "$first" cluster_known_nodes) nodes"
