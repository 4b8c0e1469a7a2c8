#!/usr/bin/env bash
# Rebuild one service's PostgreSQL read model beside the live one: replay.sh SERVICE [NAMESPACE]
#
# Runs jobs/replay-SERVICE.yaml with the image the Deployment runs now. The Deployment keeps running:
# its pods serve from the current read model until the new one has caught up, then switch to it, and
# the old one is dropped once no pod reads it.
set -euo pipefail

usage() { echo "usage: $0 config|dispatch|feedback|unsubscribe [NAMESPACE]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
svc=$1
case "$svc" in config|dispatch|feedback|unsubscribe) ;; *) usage ;; esac
ns=${2:-postroom}
case "$ns" in -*) usage ;; esac

here=$(cd "$(dirname "$0")" && pwd)
k() { kubectl -n "$ns" "$@"; }
image=$(k get deployment "postroom-$svc" -o jsonpath='{.spec.template.spec.containers[0].image}')

job=$(kubectl set image --local -o yaml -f "$here/jobs/replay-$svc.yaml" "replay=$image" | k create -f - -o name)
echo "started $job with $image"
while :; do
  done_=$(k get "$job" -o jsonpath='{.status.succeeded}')
  if [ "${done_:-0}" -ge 1 ]; then echo "$job succeeded"; exit 0; fi
  if [ "$(k get "$job" -o jsonpath='{.status.conditions[?(@.type=="Failed")].status}')" = True ]; then
    echo "$job failed; see: kubectl -n $ns logs $job" >&2; exit 1
  fi
  sleep 10
done
