#!/usr/bin/env bash
# Rebuild one service's PostgreSQL read model: replay.sh SERVICE [NAMESPACE] [--keep-running]
#
# Runs jobs/replay-SERVICE.yaml with the image the Deployment runs now. By default the Deployment is
# scaled to 0 first (so nothing reads or writes a half-built model, e.g. dispatch's suppression list)
# and scaled back when the Job ends, whether it succeeded or not. --keep-running leaves it up (use it
# for feedback, which must keep answering SNS; its queries show partial data until the Job is done).
set -euo pipefail

usage() { echo "usage: $0 config|dispatch|feedback|unsubscribe [NAMESPACE] [--keep-running]" >&2; exit 2; }
[ $# -ge 1 ] || usage
svc=$1; shift
case "$svc" in config|dispatch|feedback|unsubscribe) ;; *) usage ;; esac
ns=postroom keep=0
for arg in "$@"; do
  case "$arg" in --keep-running) keep=1 ;; -*) usage ;; *) ns=$arg ;; esac
done

here=$(cd "$(dirname "$0")" && pwd)
k() { kubectl -n "$ns" "$@"; }
deploy=postroom-$svc
image=$(k get deployment "$deploy" -o jsonpath='{.spec.template.spec.containers[0].image}')
replicas=$(k get deployment "$deploy" -o jsonpath='{.spec.replicas}')

if [ "$keep" = 0 ]; then
  trap 'echo "scaling $deploy back to $replicas"; k scale deployment "$deploy" --replicas="$replicas"' EXIT
  echo "scaling $deploy from $replicas to 0"
  k scale deployment "$deploy" --replicas=0
  k wait --for=delete pod -l "app.kubernetes.io/name=postroom,app.kubernetes.io/component=$svc" --timeout=180s
fi

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
