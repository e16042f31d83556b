package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/encoo-tools/imgup/internal/composefile"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/kubefile"
)

// Kube is how imgup reaches the Kubernetes cluster a deployment runs on: imgup.yaml's
// kubernetes: (kubeconfig, context, namespace), else KUBECONFIG in the environment.
type Kube struct {
	Kubeconfig string `yaml:"kubeconfig"`
	Context    string `yaml:"context"`
	Namespace  string `yaml:"namespace"`
	// Snapshotter is the one the nodes' containerd gives the kubelet ("" for
	// containerd's default, overlayfs).
	Snapshotter string `yaml:"snapshotter"`
}

// NS is the namespace the workloads run in ("default" when none is said).
func (k *Kube) NS() string {
	if k.Namespace == "" {
		return "default"
	}
	return k.Namespace
}

// ReadKube is the cluster of the deployment at root: imgup.yaml's kubernetes: entry
// (a relative kubeconfig is the root's), or, when imgup.yaml says none, KUBECONFIG of
// environ for a root whose files are Kubernetes objects and no compose file; nil when
// the deployment is not a Kubernetes one.
func ReadKube(root string, environ []string) (*Kube, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	d := &Deployment{Root: abs, ConfigKeys: map[string]string{}}
	set, err := d.readSettings()
	if err != nil {
		return nil, err
	}
	if k := set.Kubernetes; k != nil {
		out := *k
		if out.Kubeconfig != "" && !filepath.IsAbs(out.Kubeconfig) {
			out.Kubeconfig = filepath.Join(abs, out.Kubeconfig)
		}
		return &out, nil
	}
	kc := ""
	for _, e := range environ {
		if v, ok := strings.CutPrefix(e, "KUBECONFIG="); ok {
			kc = v
		}
	}
	if environ == nil {
		kc = os.Getenv("KUBECONFIG")
	}
	if kc == "" || len(composeNamed(abs)) > 0 {
		return nil, nil
	}
	if files, err := kubefile.Find(abs, d.readFile); err != nil || len(files) == 0 {
		return nil, nil
	}
	return &Kube{Kubeconfig: kc}, nil
}

// kubeStack is the root's Kubernetes stack: its manifests, a service per workload
// (named by the workload, or kind/name where two kinds share a name), the image of
// its first container that has one. Pull policies that would make the kubelet pull
// are warnings.
func (d *Deployment) kubeStack(k *Kube) (*Stack, error) {
	files, err := kubefile.Find(d.Root, d.readFile)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, i18n.Errorf("%s: imgup.yaml says kubernetes:, and no *.yaml file here holds a Kubernetes object", d.Root)
	}
	k = &Kube{Kubeconfig: k.Kubeconfig, Context: k.Context, Namespace: k.Namespace, Snapshotter: k.Snapshotter}
	if k.Kubeconfig != "" && !filepath.IsAbs(k.Kubeconfig) {
		k.Kubeconfig = filepath.Join(d.Root, k.Kubeconfig)
	}
	st := &Stack{Name: k.NS(), Dir: d.Root, Project: k.NS(), ProjectFrom: FromSettings, ProjectWhy: "imgup.yaml kubernetes: namespace",
		WhyMsg: i18n.Msg("imgup.yaml"), FilesFrom: "the manifests in the folder (kubectl apply -f)", FilesMsg: i18n.Msg("the manifests in the folder (kubectl apply -f)"), Kube: k}
	names := map[string]int{}
	for _, f := range files {
		st.Files = append(st.Files, f.File)
		for _, w := range f.Workloads {
			names[w.Name]++
		}
	}
	none := func(string) (string, bool) { return "", false }
	for _, f := range files {
		for _, w := range f.Workloads {
			if w.Namespace != "" && w.Namespace != k.NS() {
				d.Warnings = append(d.Warnings, fmt.Sprintf("%s:%d: %s %s is in namespace %s, not %s: imgup leaves it alone", d.Rel(f.Path), w.Line, w.Kind, w.Name, w.Namespace, k.NS()))
				continue
			}
			name := w.Name
			if names[name] > 1 {
				name = strings.ToLower(w.Kind) + "/" + w.Name
			}
			svc := &Service{Stack: st, Name: name}
			for _, c := range w.Containers {
				if c.Image == nil && c.Err == nil {
					continue
				}
				if pullsAlways(c.PullPolicy, c.Image) {
					d.Warnings = append(d.Warnings, fmt.Sprintf("%s:%d: %s %s, container %s: imagePullPolicy %s makes the kubelet pull from a registry; write imagePullPolicy: IfNotPresent (or Never) so that it runs the image imgup puts on each node", d.Rel(f.Path), w.Line, w.Kind, w.Name, c.Name, pullWord(c.PullPolicy)))
				}
				if svc.Image == nil && svc.Err == nil {
					svc.Image, svc.Err = c.Image, c.Err
					if c.Image != nil {
						svc.Target, svc.Err = composefile.Locate(c.Image, none)
					}
					if !c.Init {
						svc.Containers = append(svc.Containers, c.Name)
					}
					continue
				}
				if c.Image == nil || svc.Target == nil {
					continue
				}
				// Another container of the same image gets the same edit.
				if t, err := composefile.Locate(c.Image, none); err == nil && t.Name == svc.Target.Name {
					svc.Also = append(svc.Also, Also{Image: c.Image, Target: t})
					if !c.Init {
						svc.Containers = append(svc.Containers, c.Name)
					}
				}
			}
			st.Services = append(st.Services, svc)
		}
	}
	return st, nil
}

// pullsAlways says whether the kubelet would pull: Always, or no policy for :latest
// (or no tag), which Kubernetes defaults to Always.
func pullsAlways(policy string, img *composefile.Scalar) bool {
	if policy != "" {
		return policy == "Always"
	}
	if img == nil {
		return false
	}
	ref := img.Raw
	if i := strings.LastIndex(ref, "@"); i >= 0 {
		return false
	}
	slash := strings.LastIndex(ref, "/")
	colon := strings.LastIndex(ref, ":")
	return colon <= slash || ref[colon+1:] == "latest"
}

func pullWord(policy string) string {
	if policy == "" {
		return "(the default for :latest, Always)"
	}
	return policy
}

// IsKube says whether any stack of the deployment runs on Kubernetes.
func (d *Deployment) IsKube() bool {
	return slices.ContainsFunc(d.Stacks, func(s *Stack) bool { return s.Kube != nil })
}

// ownsKube: a pod's container of the stack's namespace and one of its workloads.
func (s *Stack) ownsKube(c engine.Container) bool {
	svc := s.Service(c.Service())
	return c.Labels[engine.LabelKubeNamespace] == s.Project && c.Labels[engine.LabelKubeWorkload] != "" && svc != nil &&
		(len(svc.Containers) == 0 || slices.Contains(svc.Containers, c.Labels[engine.LabelKubeContainer]))
}
