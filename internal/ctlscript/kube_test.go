package ctlscript

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A vendor's Kubernetes control script, in the shapes real ones take: a helm wrapper
// with a values file per site and a --set, a kubectl apply -k of an overlay and -f of
// a folder, queries (kubectl get, rollout status, helm list) answered with nothing,
// and helm repo update failing offline.
func TestKubeCalls(t *testing.T) {
	root := t.TempDir()
	write := func(name, text string, mode os.FileMode) {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("ctl.sh", `#!/bin/bash
set -e
NS=${NS:-acme}
SITE=prod
cd "$(dirname "$0")"
helm repo update || echo "no repo: offline"
deploy_chart() {
  helm upgrade --install acme ./charts/acme \
    --namespace "$NS" --create-namespace \
    -f values.yaml -f "values-${SITE}.yaml" \
    --set replicaCount=2 --wait --timeout 5m
}
case "$1" in
  restart)
    kubectl -n "$NS" apply -k overlays/$SITE
    kubectl apply -f manifests/ --namespace=$NS
    deploy_chart
    kubectl -n "$NS" rollout status deploy/acme-web
    kubectl get pods -n "$NS" | grep acme || true
    helm list -n "$NS"
    ;;
esac
`, 0o755)
	res := DryRun(context.Background(), Options{Root: root, Command: "./ctl.sh restart", Environ: []string{"PATH=/usr/bin:/bin", "HOME=/root"}, ReadFile: read})
	if res.Exit != 0 {
		t.Fatalf("exit %d at %+v: %v", res.Exit, res.ExitAt, res.Output)
	}
	if len(res.Kube) != 3 {
		t.Fatalf("kube calls: %+v", res.Kube)
	}
	k, f, h := res.Kube[0], res.Kube[1], res.Kube[2]
	if k.Tool != "kubectl" || k.Verb != "apply" || k.Kustomize != "overlays/prod" || k.Namespace != "acme" || k.Line != 15 {
		t.Errorf("kubectl -k: %+v", k)
	}
	if f.Verb != "apply" || strings.Join(f.Files, ",") != "manifests" || f.Namespace != "acme" {
		t.Errorf("kubectl -f: %+v", f)
	}
	if h.Tool != "helm" || h.Verb != "upgrade" || h.Release != "acme" || h.Chart != "charts/acme" || strings.Join(h.Files, ",") != "values.yaml,values-prod.yaml" ||
		strings.Join(h.Set, ",") != "replicaCount=2" || h.Namespace != "acme" {
		t.Errorf("helm: %+v", h)
	}
	if len(res.Offline) != 1 || !strings.Contains(res.Offline[0].String(), "helm repo update") {
		t.Errorf("offline: %+v", res.Offline)
	}
}
