package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/encoo-tools/imgup/internal/composefile"
	"github.com/encoo-tools/imgup/internal/ctlscript"
	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/kubefile"
)

// Helm is imgup.yaml's kubernetes: helm: entry. Each part is found when left out:
// the chart is the one folder with a Chart.yaml, the values file the one *.yaml of
// the root that is no Kubernetes object, and the release the one the cluster's
// workloads of the namespace name (meta.helm.sh/release-name).
type Helm struct {
	Release string `yaml:"release"`
	// Chart is the chart's folder (relative to the root).
	Chart string `yaml:"chart"`
	// Values are the operator's values files, in helm's -f order (the last wins).
	Values []string `yaml:"values"`
	// set are the --set assignments of the control script's helm call (from), which
	// imgup cannot edit: a tag they give is refused.
	set  []string
	from *ctlscript.KubeCall
}

// helmTimeout bounds helm template (a chart is rendered on this machine).
const helmTimeout = time.Minute

// helmStack reads a Helm deployment: the chart, the operator's values files, the
// release, and the workloads `helm template` renders from them; each container's
// tag is traced to the value that gives it (kubefile.Chart.Trace) and edited in the
// operator's values file that sets it.
func (d *Deployment) helmStack(ctx context.Context, st *Stack, found string, environ []string) error {
	k := st.Kube
	h := Helm{}
	if k.Helm != nil {
		h = *k.Helm
	}
	chart := found
	if h.Chart != "" {
		chart = h.Chart
		if !filepath.IsAbs(chart) {
			chart = filepath.Join(d.Root, chart)
		}
	}
	if chart == "" {
		return i18n.Errorf("%s: imgup.yaml says kubernetes: helm:, and no folder here holds a Chart.yaml: name it (kubernetes: helm: chart:)", d.Root)
	}
	c, err := kubefile.ReadChart(chart, d.readFile)
	if err != nil {
		return err
	}
	if len(h.Values) == 0 {
		if h.Values, err = d.operatorValues(chart); err != nil {
			return err
		}
	}
	var values []*kubefile.Values
	for i, v := range h.Values {
		p := v
		if !filepath.IsAbs(p) {
			p = filepath.Join(d.Root, p)
		}
		h.Values[i] = p
		b, err := d.readFile(p)
		if err != nil {
			return err
		}
		vf, err := kubefile.ParseValues(p, b)
		if err != nil {
			return err
		}
		values = append(values, vf)
		st.Files = append(st.Files, vf.File)
	}
	h.Chart = chart
	if h.Release == "" && !k.Reached {
		// Without the cluster (history, shell completion) the release is not known:
		// the chart's name stands for it, and nothing is applied from this reading.
		h.Release = c.Name
		d.Warnings = append(d.Warnings, fmt.Sprintf("the Helm release is read from the cluster, which this command does not reach: the chart's name %s stands for it", c.Name))
	} else if h.Release == "" {
		if h.Release, err = d.helmRelease(k); err != nil {
			return err
		}
	}
	k.Helm = &h
	st.FilesFrom = "the operator's values of Helm release " + h.Release + " (helm upgrade --install)"
	st.FilesMsg = i18n.Msg("the operator's values of Helm release %s (helm upgrade --install)", h.Release)
	if h.from != nil {
		st.FilesFrom = fmt.Sprintf("the control script's helm %s (%s:%d)", h.from.Verb, h.from.Script, h.from.Line)
		st.FilesMsg = i18n.Msg("the control script's helm %s (%s:%d)", h.from.Verb, h.from.Script, h.from.Line)
	}
	out, err := renderChart(ctx, st, environ)
	if err != nil {
		return err
	}
	rendered, err := kubefile.ParseRendered(out)
	if err != nil {
		return err
	}
	var ws []placed
	traced := map[*composefile.Scalar]*composefile.Target{}
	none := func(string) (string, bool) { return "", false }
	for _, r := range rendered {
		p := placed{w: r.Workload, file: filepath.Join(chart, filepath.FromSlash(r.Source)), ns: r.Workload.Namespace}
		for i, ct := range r.Workload.Containers {
			if ct.Image == nil {
				continue
			}
			t, err := composefile.Locate(ct.Image, none)
			if err == nil && (t.Colon || strings.Contains(ct.Image.Raw, "@")) {
				err = i18n.Errorf("helm renders image %s with no tag, or pinned by digest: imgup changes a tag the values set", ct.Image.Raw)
			}
			var tr kubefile.Traced
			if err == nil {
				tr, err = c.Trace(r.Source, ct.Image.Raw, t.Tag, values)
			}
			if err == nil && setBy(h.set, tr.Path) {
				err = i18n.Errorf("the control script's helm call (%s:%d) sets %s with --set, which imgup cannot edit: move it to a values file", h.from.Script, h.from.Line, tr.Path)
			}
			if err != nil {
				r.Workload.Containers[i].Err = i18n.Errorf("%s, container %s (%s): %w", r.Source, ct.Name, ct.Image.Raw, err)
				continue
			}
			t.Where, t.File, t.Start, t.End, t.Old, t.Colon = composefile.InFile, tr.Scalar.File, tr.Scalar.Start, tr.Scalar.End, tr.Scalar.Raw, false
			t.Prefix, t.Suffix, t.Quote, t.Vars = "", "", tr.Quote, []string{tr.Path}
			s := *tr.Scalar
			s.Via = tr.Path
			traced[ct.Image] = t
			r.Workload.Containers[i].Image = &s
			traced[&s] = t
		}
		ws = append(ws, p)
	}
	d.addWorkloads(st, ws, func(_ placed, c kubefile.Container) (*composefile.Target, error) {
		if t := traced[c.Image]; t != nil {
			cp := *t
			return &cp, nil
		}
		return nil, i18n.Errorf("image %s: not traced to a value", c.Image.Raw)
	})
	return nil
}

// operatorValues is the operator's values file of a root: its one *.yaml or *.yml
// that is neither a Kubernetes object, nor imgup.yaml, nor the chart's own.
func (d *Deployment) operatorValues(chart string) ([]string, error) {
	ents, err := os.ReadDir(d.Root)
	if err != nil {
		return nil, err
	}
	var found []string
	for _, e := range ents {
		n := e.Name()
		p := filepath.Join(d.Root, n)
		if !e.Type().IsRegular() || n == "imgup.yaml" || (!strings.HasSuffix(n, ".yaml") && !strings.HasSuffix(n, ".yml")) {
			continue
		}
		if chart == d.Root && (n == "values.yaml" || n == "Chart.yaml") || slices.Contains(kubefile.KustomizationNames, n) {
			continue
		}
		b, err := d.readFile(p)
		if err != nil {
			return nil, err
		}
		if f, err := kubefile.Parse(p, b); err == nil && f.Objects > 0 {
			continue
		}
		found = append(found, n)
	}
	sort.Strings(found)
	switch len(found) {
	case 0:
		return nil, i18n.Errorf("%s: no values file of the operator here (a *.yaml beside the chart): imgup edits the operator's values, never the chart's; name it in imgup.yaml (kubernetes: helm: values:)", d.Root)
	case 1:
		return found, nil
	}
	return nil, i18n.Errorf("%s: several values files (%s); helm's -f order decides which wins: name them in that order in imgup.yaml (kubernetes: helm: values:)", d.Root, strings.Join(found, ", "))
}

// helmRelease is the one Helm release the namespace's workloads name.
func (d *Deployment) helmRelease(k *Kube) (string, error) {
	var rels []string
	for _, m := range k.Managed {
		if m.HelmRelease != "" && !slices.Contains(rels, m.HelmRelease) {
			rels = append(rels, m.HelmRelease)
		}
	}
	sort.Strings(rels)
	switch len(rels) {
	case 1:
		return rels[0], nil
	case 0:
		return "", i18n.Errorf("%s: no workload of namespace %s was made by a Helm release (meta.helm.sh/release-name): name the release in imgup.yaml (kubernetes: helm: release:)", d.Root, k.NS())
	}
	return "", i18n.Errorf("%s: the workloads of namespace %s are of several Helm releases (%s): name the one to update in imgup.yaml (kubernetes: helm: release:)", d.Root, k.NS(), strings.Join(rels, ", "))
}

// HelmArgs are helm's arguments after the verb (template, upgrade --install) for a
// Helm stack: release, chart, namespace, values files, kubeconfig and context.
func HelmArgs(st *Stack) []string {
	k := st.Kube
	args := []string{k.Helm.Release, RelTo(st.Dir, k.Helm.Chart), "--namespace", k.NS()}
	for _, v := range k.Helm.Values {
		args = append(args, "-f", RelTo(st.Dir, v))
	}
	if k.Kubeconfig != "" {
		args = append(args, "--kubeconfig", k.Kubeconfig)
	}
	if k.Context != "" {
		args = append(args, "--kube-context", k.Context)
	}
	return args
}

// renderChart runs helm template in the root: what helm upgrade would apply.
func renderChart(ctx context.Context, st *Stack, environ []string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, helmTimeout)
	defer cancel()
	args := append([]string{"template"}, HelmArgs(st)...)
	cmd := exec.CommandContext(ctx, "helm", args...)
	cmd.Dir = st.Dir
	cmd.Env = environ
	var out, errb limited
	out.max, errb.max = 32<<20, 64<<10
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return nil, i18n.Errorf("%s: a Helm deployment, and helm is not installed: imgup reads the chart with helm template and upgrades with helm upgrade; install helm", st.Dir)
		}
		msg := strings.TrimSpace(errb.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		return nil, i18n.Errorf("%s: helm %s: %v: %s", st.Dir, strings.Join(args, " "), err, msg)
	}
	if out.over {
		return nil, i18n.Errorf("%s: helm template renders more than 32 MiB", st.Dir)
	}
	return out.Bytes(), nil
}

// limited is a buffer that keeps at most max bytes.
type limited struct {
	bytes.Buffer
	max  int
	over bool
}

func (l *limited) Write(p []byte) (int, error) {
	if room := l.max - l.Len(); room < len(p) {
		l.over = true
		if room > 0 {
			l.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return l.Buffer.Write(p)
}

// setBy says whether helm --set assignments give path a value.
func setBy(sets []string, path string) bool {
	for _, s := range sets {
		for _, a := range strings.Split(s, ",") {
			if k, _, ok := strings.Cut(a, "="); ok && strings.TrimSpace(k) == path {
				return true
			}
		}
	}
	return false
}
