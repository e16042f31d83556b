package deploy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/encoo-tools/imgup/internal/composefile"
	"github.com/encoo-tools/imgup/internal/ctlscript"
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
	// Helm names the release, chart and the operator's values files when the root
	// is a Helm deployment; what it leaves out is found (helm.go).
	Helm *Helm `yaml:"helm"`
	// Mode is how the stack's objects reach the cluster, found by discovery:
	// ModeManifests, ModeKustomize or ModeHelm.
	Mode string `yaml:"-"`
	// Kustomize is the kustomization's folder for ModeKustomize.
	Kustomize string `yaml:"-"`
	// Managed is what the cluster says of the namespace's workloads (who made
	// them), when the update service reached it.
	Managed []engine.Managed `yaml:"-"`
	// Reached: the update service read the cluster (Managed is what it says); false
	// for what needs no engine (history, shell completion).
	Reached bool `yaml:"-"`
}

// How a Kubernetes stack's objects are applied.
const (
	ModeManifests = "manifests" // kubectl apply -f each manifest
	ModeKustomize = "kustomize" // kubectl apply -k the root
	ModeHelm      = "helm"      // helm upgrade --install with the operator's values
)

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
	d, set, err := open(root)
	if err != nil {
		return nil, err
	}
	abs := d.Root
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
	if chart, _ := kubefile.FindChart(abs); chart != "" || d.scriptDeploysKube() {
		return &Kube{Kubeconfig: kc}, nil
	}
	if files, err := kubefile.Find(abs, d.readFile); err != nil || len(files) == 0 {
		return nil, nil
	}
	return &Kube{Kubeconfig: kc}, nil
}

// kubeStack is the root's Kubernetes stack, a service per workload (named by the
// workload, or kind/name where two kinds share a name) with the image of its first
// container that has one. The root's objects are a Helm chart with the operator's
// values (helm.go), a kustomization (kubectl apply -k), or manifests (kubectl apply
// -f), in that order. Pull policies that would make the kubelet pull are warnings.
func (d *Deployment) kubeStack(ctx context.Context, k *Kube, environ []string, calls []ctlscript.KubeCall) (*Stack, error) {
	k = &Kube{Kubeconfig: k.Kubeconfig, Context: k.Context, Namespace: k.Namespace, Snapshotter: k.Snapshotter, Helm: k.Helm, Managed: k.Managed, Reached: k.Reached}
	call := lastDeploy(calls)
	if call != nil && k.Helm == nil {
		// The control script's restart deploys: its call says how, where imgup.yaml
		// does not.
		if k.Namespace == "" {
			k.Namespace = call.Namespace
		}
		if k.Context == "" {
			k.Context = call.Context
		}
		if k.Kubeconfig == "" {
			k.Kubeconfig = call.Kubeconfig
		}
		if call.Tool == "helm" {
			k.Helm = &Helm{Release: call.Release, Chart: call.Chart, Values: slices.Clone(call.Files), set: call.Set, from: call}
		}
	}
	if k.Kubeconfig != "" && !filepath.IsAbs(k.Kubeconfig) {
		k.Kubeconfig = filepath.Join(d.Root, k.Kubeconfig)
	}
	st := &Stack{Name: k.NS(), Dir: d.Root, Project: k.NS(), ProjectFrom: FromSettings, ProjectWhy: "imgup.yaml kubernetes: namespace",
		WhyMsg: i18n.Msg("imgup.yaml"), Kube: k}
	chart, err := kubefile.FindChart(d.Root)
	if err != nil && k.Helm == nil && call == nil {
		return nil, err
	}
	switch {
	case k.Helm != nil || (call == nil && chart != ""):
		k.Mode = ModeHelm
		return st, d.helmStack(ctx, st, chart, environ)
	case call != nil && call.Kustomize != "":
		k.Mode = ModeKustomize
		return st, d.kustomizeStack(st, filepath.Join(d.Root, call.Kustomize), call)
	case call == nil && kubefile.FindKustomization(d.Root) != "":
		k.Mode = ModeKustomize
		return st, d.kustomizeStack(st, d.Root, nil)
	}
	k.Mode = ModeManifests
	st.FilesFrom, st.FilesMsg = "the manifests in the folder (kubectl apply -f)", i18n.Msg("the manifests in the folder (kubectl apply -f)")
	var files []*kubefile.File
	if call != nil {
		var at []string
		for _, c := range calls {
			if c.Tool != "kubectl" {
				continue
			}
			at = append(at, fmt.Sprintf("%s:%d", c.Script, c.Line))
			for _, f := range c.Files {
				p := f
				if !filepath.IsAbs(p) {
					p = filepath.Join(d.Root, p)
				}
				var found []*kubefile.File
				if fi, err := os.Stat(p); err == nil && fi.IsDir() {
					found, err = kubefile.Find(p, d.readFile)
					if err != nil {
						return nil, err
					}
				} else {
					b, err := d.readFile(p)
					if err != nil {
						return nil, err
					}
					kf, err := kubefile.Parse(p, b)
					if err != nil {
						return nil, err
					}
					found = []*kubefile.File{kf}
				}
				for _, kf := range found {
					if !slices.ContainsFunc(files, func(x *kubefile.File) bool { return x.Path == kf.Path }) {
						files = append(files, kf)
					}
				}
			}
		}
		st.FilesFrom, st.FilesMsg = "the control script's kubectl apply ("+strings.Join(at, ", ")+")", i18n.Msg("the control script's kubectl apply (%s)", strings.Join(at, ", "))
	} else if files, err = kubefile.Find(d.Root, d.readFile); err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, i18n.Errorf("%s: imgup.yaml says kubernetes:, and no *.yaml file here holds a Kubernetes object, kustomization or Helm chart", d.Root)
	}
	var ws []placed
	for _, f := range files {
		st.Files = append(st.Files, f.File)
		for _, w := range f.Workloads {
			ws = append(ws, placed{w: w, file: f.Path, ns: w.Namespace})
		}
	}
	none := func(string) (string, bool) { return "", false }
	d.addWorkloads(st, ws, func(_ placed, c kubefile.Container) (*composefile.Target, error) {
		return composefile.Locate(c.Image, none)
	})
	return st, nil
}

// placed is a workload as the stack's files make it: its name and namespace as the
// cluster gets them, and the file it is written in.
type placed struct {
	w    *kubefile.Workload
	name string // "" for w.Name
	file string
	ns   string
	// chain are the kustomizations that build it, innermost first.
	chain []*kubefile.Kustomization
	// err, when set, is why none of its images can be edited.
	err error
}

// addWorkloads adds a service per workload of the stack's namespace; locate says
// where a container's tag is written.
func (d *Deployment) addWorkloads(st *Stack, ws []placed, locate func(placed, kubefile.Container) (*composefile.Target, error)) {
	k := st.Kube
	names := map[string]int{}
	for i := range ws {
		if ws[i].name == "" {
			ws[i].name = ws[i].w.Name
		}
		names[ws[i].name]++
	}
	for _, p := range ws {
		w := p.w
		if p.ns != "" && p.ns != k.NS() {
			d.Warnings = append(d.Warnings, fmt.Sprintf("%s:%d: %s %s is in namespace %s, not %s: imgup leaves it alone", d.Rel(p.file), w.Line, w.Kind, p.name, p.ns, k.NS()))
			continue
		}
		name := p.name
		if names[name] > 1 {
			name = strings.ToLower(w.Kind) + "/" + p.name
		}
		svc := &Service{Stack: st, Name: name}
		for _, c := range w.Containers {
			if c.Image == nil && c.Err == nil {
				continue
			}
			var t *composefile.Target
			err := c.Err
			if err == nil {
				err = p.err
			}
			if err == nil {
				t, err = locate(p, c)
			}
			ref := ""
			if c.Image != nil {
				ref = c.Image.Raw
			}
			if t != nil {
				ref = t.Ref
			}
			if pullsAlways(c.PullPolicy, ref) {
				d.Warnings = append(d.Warnings, fmt.Sprintf("%s:%d: %s %s, container %s: imagePullPolicy %s makes the kubelet pull from a registry; write imagePullPolicy: IfNotPresent (or Never) so that it runs the image imgup puts on each node", d.Rel(p.file), w.Line, w.Kind, p.name, c.Name, pullWord(c.PullPolicy)))
			}
			if svc.Image == nil && svc.Err == nil {
				svc.Image, svc.Target, svc.Err = c.Image, t, err
				if !c.Init {
					svc.Containers = append(svc.Containers, c.Name)
				}
				continue
			}
			if svc.Target == nil || t == nil || err != nil {
				continue
			}
			// Another container of the same image gets the same edit.
			if t.Name == svc.Target.Name {
				svc.Also = append(svc.Also, Also{Image: c.Image, Target: t})
				if !c.Init {
					svc.Containers = append(svc.Containers, c.Name)
				}
			}
		}
		st.Services = append(st.Services, svc)
		d.checkManaged(st, w.Kind, p.name, p.file, w.Line)
	}
}

// checkManaged warns when the cluster says another tool made a workload the stack's
// files make: a Helm release's workload applied with kubectl (or another release's),
// or a kubectl-applied one upgraded by helm. Each would take the workload over.
func (d *Deployment) checkManaged(st *Stack, kind, name, file string, line int) {
	for _, m := range st.Kube.Managed {
		if m.Kind != kind || m.Name != name {
			continue
		}
		switch {
		case st.Kube.Mode != ModeHelm && m.HelmRelease != "":
			d.Warnings = append(d.Warnings, fmt.Sprintf("%s:%d: %s %s was made by Helm release %s (meta.helm.sh/release-name); applying the manifests with kubectl takes it from Helm, whose next upgrade puts its own image back: update it through the chart's values", d.Rel(file), line, kind, name, m.HelmRelease))
		case st.Kube.Mode == ModeHelm && st.Kube.Helm != nil && m.HelmRelease != "" && m.HelmRelease != st.Kube.Helm.Release:
			d.Warnings = append(d.Warnings, fmt.Sprintf("%s %s is Helm release %s's, not %s's: helm upgrade of %s cannot change it", kind, name, m.HelmRelease, st.Kube.Helm.Release, st.Kube.Helm.Release))
		case st.Kube.Mode == ModeHelm && m.HelmRelease == "" && m.LastApplied:
			d.Warnings = append(d.Warnings, fmt.Sprintf("%s %s was made by kubectl apply, not by Helm: helm upgrade will refuse to take it over (it lacks meta.helm.sh/release-name)", kind, name))
		}
	}
}

// kustomizeStack reads the root's kustomization and the manifests it builds: a
// container's image is what kustomize's images: entries make of it, and its tag is
// edited where it is written (the outermost newTag that applies, else the manifest).
func (d *Deployment) kustomizeStack(st *Stack, dir string, call *ctlscript.KubeCall) error {
	kz, err := kubefile.ReadKustomization(d.Root, dir, d.readFile)
	if err != nil {
		return err
	}
	st.Kube.Kustomize = dir
	if st.Kube.Namespace == "" && kz.Root.Namespace != "" {
		// The kustomization puts everything in its namespace.
		st.Kube.Namespace = kz.Root.Namespace
		st.Name, st.Project, st.ProjectWhy = kz.Root.Namespace, kz.Root.Namespace, "the kustomization's namespace:"
	}
	st.FilesFrom, st.FilesMsg = "the kustomization (kubectl apply -k)", i18n.Msg("the kustomization (kubectl apply -k)")
	if call != nil {
		st.FilesFrom, st.FilesMsg = fmt.Sprintf("the control script's kubectl apply -k (%s:%d)", call.Script, call.Line), i18n.Msg("the control script's kubectl apply -k (%s:%d)", call.Script, call.Line)
	}
	for _, k := range kz.Kustomizations {
		st.Files = append(st.Files, k.File)
	}
	var ws []placed
	for i, f := range kz.Files {
		st.Files = append(st.Files, f.File)
		chain := kz.Chain[i]
		for _, w := range f.Workloads {
			p := placed{w: w, name: w.Name, file: f.Path, ns: w.Namespace, chain: chain}
			for _, k := range chain {
				p.name = k.NamePrefix + p.name + k.NameSuffix
				if k.Namespace != "" {
					p.ns = k.Namespace
				}
				if k.Patches != "" && p.err == nil {
					p.err = i18n.Errorf("%s: %s may set its image, and imgup does not follow patches: set the image with images: (newTag) or edit it by hand", d.Rel(k.Path), k.Patches)
				}
			}
			ws = append(ws, p)
		}
	}
	none := func(string) (string, bool) { return "", false }
	d.addWorkloads(st, ws, func(p placed, c kubefile.Container) (*composefile.Target, error) {
		ki, err := kubefile.Apply(c.Image.Raw, p.chain)
		if err != nil {
			return nil, err
		}
		eff, err := composefile.Locate(&composefile.Scalar{Raw: ki.Ref}, none)
		if err != nil {
			return nil, err
		}
		if ki.TagIsEntry {
			eff.Where, eff.File, eff.Start, eff.End, eff.Old, eff.Colon = composefile.InFile, ki.Tag.File, ki.Tag.Start, ki.Tag.End, ki.Tag.Raw, false
			eff.Prefix, eff.Suffix, eff.Quote = "", "", ki.Plain
			return eff, nil
		}
		t, err := composefile.Locate(c.Image, none)
		if err != nil {
			return t, err
		}
		t.Ref, t.Name = eff.Ref, eff.Name // renamed by newName: the tag stays in the manifest
		return t, nil
	})
	return nil
}

// pullsAlways says whether the kubelet would pull: Always, or no policy for :latest
// (or no tag), which Kubernetes defaults to Always.
func pullsAlways(policy, ref string) bool {
	if policy != "" {
		return policy == "Always"
	}
	if ref == "" || strings.Contains(ref, "@") {
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

// lastDeploy is the script's last kubectl or helm call that deploys (nil for none).
func lastDeploy(calls []ctlscript.KubeCall) *ctlscript.KubeCall {
	if len(calls) == 0 {
		return nil
	}
	return &calls[len(calls)-1]
}

// scriptDeploysKube says whether the control script's text runs kubectl or helm (its
// dry run, in Discover, then says how).
func (d *Deployment) scriptDeploysKube() bool {
	if d.DeployScript == "" {
		return false
	}
	b, err := d.readFile(d.DeployScript)
	if err != nil {
		return false
	}
	return kubeWord.Match(b)
}

var kubeWord = regexp.MustCompile(`\b(kubectl|helm)\b`)
