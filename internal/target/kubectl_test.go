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
		Kube:  &deploy.Kube{Kubeconfig: "/etc/k.conf", Context: "prod", Namespace: "shop"}}
	d := &deploy.Deployment{Root: "/srv/shop", Stacks: []*deploy.Stack{st}}
	if got := Choose(d); got != Kubectl {
		t.Errorf("auto: %s", got)
	}
	cmd, err := kubectl{}.Command(d)
	if want := "kubectl --kubeconfig /etc/k.conf --context prod --namespace shop apply -f a.yaml -f b.yml"; err != nil || cmd != want {
		t.Errorf("command %q, %v; want %q", cmd, err, want)
	}
	if got, want := Hint(d, ""), "cd /srv/shop && "+cmd; got != want {
		t.Errorf("hint %q, want %q", got, want)
	}
	if _, err := (kubectl{}).Command(&deploy.Deployment{Root: "/x"}); err == nil {
		t.Error("kubectl restarts a deployment with no Kubernetes stack")
	}
}
