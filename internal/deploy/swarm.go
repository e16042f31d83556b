package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/readfile"
)

// swarmStack is the swarm stack this stack's compose files made, and why: the stack
// pinned (--project, imgup.yaml) when a swarm stack has that name; else the only swarm
// stack whose every service is one of the stack's compose services. "" when none is;
// an error when several are, so that a guess never picks what restarts.
func (s *Stack) swarmStack(services []engine.Service, pin string) (string, string, error) {
	if len(services) == 0 {
		return "", "", nil
	}
	byNS := map[string][]string{}
	for _, svc := range services {
		if ns := svc.Labels[engine.LabelStack]; ns != "" {
			byNS[ns] = append(byNS[ns], strings.TrimPrefix(svc.Name, ns+"_"))
		}
	}
	if pin != "" {
		if _, ok := byNS[pin]; ok {
			return pin, "named by the operator", nil
		}
		return "", "", nil
	}
	mine := map[string]bool{}
	for _, f := range s.Files {
		for _, def := range f.Services {
			mine[def.Name] = true
		}
	}
	var match []string
	for ns, names := range byNS {
		all := true
		for _, n := range names {
			all = all && mine[n]
		}
		if all {
			match = append(match, ns)
		}
	}
	sort.Strings(match)
	switch len(match) {
	case 0:
		return "", "", nil
	case 1:
		return match[0], fmt.Sprintf("its %d service(s) are services of %s", len(byNS[match[0]]), filesList(s)), nil
	}
	return "", "", i18n.Errorf("the %s stack: the swarm stacks %s all run services of %s; say which is this deployment's with --project %s=NAME", s.Name, strings.Join(match, ", "), filesList(s), s.Name)
}

func filesList(s *Stack) string {
	var names []string
	for _, f := range s.Files {
		names = append(names, filepath.Base(f.Path))
	}
	return strings.Join(names, ", ")
}

// IsSwarm says whether any stack of the deployment runs on a swarm.
func (d *Deployment) IsSwarm() bool {
	for _, s := range d.Stacks {
		if s.Swarm {
			return true
		}
	}
	return false
}

// ReadNodes reads only the nodes: of <root>/imgup.yaml (hostname -> engine address),
// before discovery, so that the nodes' engines can be reached first. No imgup.yaml is
// no nodes.
func ReadNodes(root string) (map[string]string, error) {
	p := filepath.Join(root, "imgup.yaml")
	if _, err := os.Lstat(p); err != nil {
		return nil, nil
	}
	b, err := readfile.Read(p, 0)
	if err != nil {
		return nil, err
	}
	var s struct {
		Nodes map[string]string `yaml:"nodes"`
	}
	if err := yaml.Unmarshal(b, &s); err != nil {
		return nil, i18n.Errorf("%s: %v", p, engine.FirstLine(err.Error()))
	}
	for name, addr := range s.Nodes {
		if !strings.HasPrefix(addr, "ssh://") && !strings.HasPrefix(addr, "tcp://") && !strings.HasPrefix(addr, "unix://") {
			return nil, i18n.Errorf("%s: nodes: %s: %q: write ssh://user@host, tcp://host:port or unix:///path", p, name, addr)
		}
	}
	return s.Nodes, nil
}
