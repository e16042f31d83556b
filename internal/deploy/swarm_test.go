package deploy

import (
	"strings"
	"testing"

	"github.com/encoo-tools/imgup/internal/composefile"
	"github.com/encoo-tools/imgup/internal/engine"
)

// A stack is bound to the one swarm stack whose services are all its own, to the one
// the operator names, to none when no swarm stack runs its services, and never by a
// guess among several.
func TestSwarmStack(t *testing.T) {
	s := &Stack{Name: "console", Files: []*composefile.File{{Path: "/d/docker-compose.yml", Services: []composefile.ServiceDef{{Name: "web"}, {Name: "db"}}}}}
	svc := func(ns, name string) engine.Service {
		return engine.Service{Name: ns + "_" + name, Labels: map[string]string{engine.LabelStack: ns}}
	}
	one := []engine.Service{svc("acme", "web"), svc("acme", "db"), svc("other", "mail")}
	if ns, why, err := s.swarmStack(one, ""); ns != "acme" || err != nil || !strings.Contains(why, "2 service(s)") {
		t.Errorf("one match: %q %q %v", ns, why, err)
	}
	if ns, _, err := s.swarmStack([]engine.Service{svc("other", "mail")}, ""); ns != "" || err != nil {
		t.Errorf("no match: %q %v", ns, err)
	}
	two := append(one, svc("acme2", "web"))
	if ns, _, err := s.swarmStack(two, ""); ns != "" || err == nil || !strings.Contains(err.Error(), "--project console=NAME") {
		t.Errorf("two matches: %q %v", ns, err)
	}
	if ns, _, err := s.swarmStack(two, "acme2"); ns != "acme2" || err != nil {
		t.Errorf("named: %q %v", ns, err)
	}
}
