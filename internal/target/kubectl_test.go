package target

import (
	"testing"

	"github.com/encoo-tools/imgup/internal/composefile"
	"github.com/encoo-tools/imgup/internal/deploy"
)

// A Kubernetes stack is restarted by kubectl apply of its files, named, with the
// kubeconfig, context and namespace; auto picks it, and compose is never advised.
func TestKubectlCommand(t *testing.T) {
	st := &deploy.Stack{Name: "shop", Dir: "/srv/shop", Project: "shop",
		Files: []*composefile.File{{Path: "/srv/shop/a.yaml"}, {Path: "/srv/shop/b.yml"}},
		Kube:  &deploy.Kube{Kubeconfig: "/etc/k.conf", Context: "prod", Namespace: "shop", Mode: deploy.ModeManifests}}
	d := &deploy.Deployment{Root: "/srv/shop", Stacks: []*deploy.Stack{st}}
	if got := Choose(d); got != Kubectl {
		t.Errorf("auto: %s", got)
	}
	cmd, err := kube{name: Kubectl}.Command(d)
	if want := "kubectl --kubeconfig /etc/k.conf --context prod --namespace shop apply -f a.yaml -f b.yml"; err != nil || cmd != want {
		t.Errorf("command %q, %v; want %q", cmd, err, want)
	}
	if got, want := Hint(d, ""), "cd /srv/shop && "+cmd; got != want {
		t.Errorf("hint %q, want %q", got, want)
	}
	if _, err := (kube{name: Kubectl}).Command(&deploy.Deployment{Root: "/x"}); err == nil {
		t.Error("kubectl restarts a deployment with no Kubernetes stack")
	}
}

// A kustomization is applied with -k, a Helm release upgraded with the operator's
// values; auto picks helm for a Helm stack, and kubectl refuses it.
func TestKubeModes(t *testing.T) {
	st := &deploy.Stack{Name: "shop", Dir: "/srv/shop", Kube: &deploy.Kube{Namespace: "shop", Mode: deploy.ModeKustomize}}
	d := &deploy.Deployment{Root: "/srv/shop", Stacks: []*deploy.Stack{st}}
	if cmd, err := (kube{name: Kubectl}).Command(d); err != nil || cmd != "kubectl --namespace shop apply -k ." {
		t.Errorf("kustomize: %q, %v", cmd, err)
	}
	st.Kube = &deploy.Kube{Namespace: "shop", Context: "prod", Mode: deploy.ModeHelm,
		Helm: &deploy.Helm{Release: "web", Chart: "/srv/shop/chart", Values: []string{"/srv/shop/values.yaml", "/srv/shop/prod.yaml"}}}
	if got := Choose(d); got != Helm {
		t.Errorf("auto: %s", got)
	}
	want := "helm upgrade --install web chart --namespace shop -f values.yaml -f prod.yaml --kube-context prod"
	if cmd, err := (kube{name: Helm}).Command(d); err != nil || cmd != want {
		t.Errorf("helm: %q, %v; want %q", cmd, err, want)
	}
	if _, err := (kube{name: Kubectl}).Command(d); err == nil {
		t.Error("kubectl applies a Helm release")
	}
	if got := Hint(d, ""); got != "cd /srv/shop && "+want {
		t.Errorf("hint %q", got)
	}
}
