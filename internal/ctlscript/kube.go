package ctlscript

import (
	"slices"
	"strings"

	"mvdan.cc/sh/v3/interp"
)

// KubeCall is a kubectl or helm command of the script that deploys to Kubernetes:
// kubectl apply, create or replace (its -f files or folders, its -k kustomization),
// helm upgrade or install (release, chart, values files). Paths are relative to the
// root when inside it, as Dir is.
type KubeCall struct {
	Command
	// Tool is "kubectl" or "helm"; Verb its subcommand.
	Tool string `json:"tool"`
	Verb string `json:"verb"`
	// Files are kubectl's -f operands, or helm's -f/--values files, in order.
	Files []string `json:"files,omitempty"`
	// Kustomize is kubectl's -k folder.
	Kustomize string `json:"kustomize,omitempty"`
	// Release and Chart are helm's two operands.
	Release string `json:"release,omitempty"`
	Chart   string `json:"chart,omitempty"`
	// Set are helm's --set, --set-string and --set-file assignments: values imgup
	// cannot edit in a file.
	Set []string `json:"set,omitempty"`
	// Namespace, Context and Kubeconfig are the call's -n, --context (helm's
	// --kube-context) and --kubeconfig.
	Namespace  string `json:"namespace,omitempty"`
	Context    string `json:"context,omitempty"`
	Kubeconfig string `json:"kubeconfig,omitempty"`
}

// kubectl's and helm's options that take a value (a value-less one is a switch).
var kubeValueFlags = map[string]bool{"-n": true, "--namespace": true, "--context": true, "--kube-context": true, "--kubeconfig": true,
	"-f": true, "--filename": true, "--values": true, "-k": true, "--kustomize": true, "--set": true, "--set-string": true,
	"--set-file": true, "--set-json": true, "--version": true, "--timeout": true, "-o": true, "--output": true, "-l": true,
	"--selector": true, "--field-manager": true, "--server-side": false, "--cluster": true, "--user": true, "-s": true,
	"--server": true, "--token": true, "--description": true, "--post-renderer": true, "--repo": true, "--username": true,
	"--password": true, "--history-max": true, "--prune-allowlist": true, "--wait-for-jobs": false, "--dry-run": false}

// kube records a kubectl or helm call that deploys; other verbs (get, rollout
// status, list, status, wait) are queries answered with nothing.
func (r *run) kube(hc interp.HandlerContext, line int, args []string) int {
	tool := "kubectl"
	if strings.HasSuffix(args[0], "helm") {
		tool = "helm"
	}
	c := KubeCall{Command: Command{Script: r.file(), Line: line, Dir: r.d.rel(hc.Dir), Args: slices.Clone(args)}, Tool: tool}
	var operands []string
	for i := 1; i < len(args); i++ {
		w := args[i]
		name, val, hasVal := w, "", false
		if strings.HasPrefix(w, "--") {
			name, val, hasVal = strings.Cut(w, "=")
		} else if len(w) > 2 && w[0] == '-' && strings.ContainsRune("nfk", rune(w[1])) {
			name, val, hasVal = w[:2], strings.TrimPrefix(w[2:], "="), true
		}
		if !strings.HasPrefix(name, "-") || name == "-" {
			operands = append(operands, w)
			continue
		}
		if kubeValueFlags[name] && !hasVal && i+1 < len(args) {
			val = args[i+1]
			i++
		}
		switch name {
		case "-n", "--namespace":
			c.Namespace = val
		case "--context", "--kube-context":
			c.Context = val
		case "--kubeconfig":
			c.Kubeconfig = r.d.rel(abs(hc.Dir, val))
		case "-f", "--filename", "--values":
			if val != "-" {
				c.Files = append(c.Files, r.d.rel(abs(hc.Dir, val)))
			}
		case "-k", "--kustomize":
			c.Kustomize = r.d.rel(abs(hc.Dir, val))
		case "--set", "--set-string", "--set-file", "--set-json":
			c.Set = append(c.Set, val)
		}
	}
	if len(operands) > 0 {
		c.Verb = operands[0]
	}
	deploys := false
	switch tool {
	case "kubectl":
		deploys = slices.Contains([]string{"apply", "create", "replace"}, c.Verb) && (len(c.Files) > 0 || c.Kustomize != "")
	case "helm":
		deploys = (c.Verb == "upgrade" || c.Verb == "install") && len(operands) >= 3
		if deploys {
			c.Release, c.Chart = operands[1], operands[2]
			if !strings.Contains(c.Chart, "://") && !strings.HasPrefix(c.Chart, "oci:") {
				c.Chart = r.d.rel(abs(hc.Dir, c.Chart))
			}
		}
	}
	if !deploys {
		r.standIn(hc, args)
		return 0
	}
	r.d.mu.Lock()
	defer r.d.mu.Unlock()
	if r.d.firstCall("k", c.Command, len(r.d.res.Kube)) {
		r.d.res.Kube = append(r.d.res.Kube, c)
	}
	return 0
}
