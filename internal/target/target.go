// Package target is how a deployment is restarted (runbook step 4) and how its
// services' containers are found to verify it (step 5). A Target is chosen by name
// (--restart) from a registry; each brings its own help, its own check of whether it
// can restart a deployment, the command the plan shows, the restart itself and the
// answer to "which containers are this service's". Adding a target is one file and
// one line in the registry's init.
package target

import (
	"context"
	"strings"
	"time"

	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/event"
	"github.com/encoo-tools/imgup/internal/i18n"
)

// Target restarts a deployment and finds its services' containers.
type Target interface {
	// Name is the target's --restart value.
	Name() string
	// Help says in a few words what the target runs, for --restart's help.
	Help() i18n.Message
	// Command is what the restart will run on d, as the plan shows it ("" runs
	// nothing); an error says why this target cannot restart d.
	Command(d *deploy.Deployment) (string, error)
	// Restart restarts what the update changed, telling r.Emit what it runs and each
	// line of its output.
	Restart(ctx context.Context, r Run) error
	// Containers are the containers of a stack's service, from one listing.
	Containers(d *deploy.Deployment, cs []engine.Container, stack, service string) []engine.Container
}

// Run is one restart: of what, with which command and environment, told to whom.
type Run struct {
	Deployment *deploy.Deployment
	// Command is the command the plan showed.
	Command string
	// Services are the services the update changes, by stack.
	Services map[string][]string
	// Environ is the environment the restart runs with (nil: this process's).
	Environ []string
	Emit    func(event.Event)
	// Engine is the engine (for a swarm, the cluster of its nodes); Started is when
	// the update's restart began.
	Engine  engine.Client
	Started time.Time
	// Undo: the restart deploys the files as they were before the update (a rollback
	// swarm completed on its own is then what is wanted).
	Undo bool
}

// Auto is the --restart value that lets the deployment choose: its control script
// when it has one, else compose for the updated services.
const Auto = "auto"

var registry []Target

// The targets, in the order help lists them. A new target is its own file and a line
// here.
func init() {
	Register(script{})
	Register(services{})
	Register(stack{})
	Register(kube{name: Kubectl})
	Register(kube{name: Helm})
	Register(none{})
}

// Register adds a target; its name must be new.
func Register(t Target) {
	if _, ok := Get(t.Name()); ok || t.Name() == Auto {
		panic("target: " + t.Name() + " registered twice")
	}
	registry = append(registry, t)
}

// Get is the target of that name.
func Get(name string) (Target, bool) {
	for _, t := range registry {
		if t.Name() == name {
			return t, true
		}
	}
	return nil, false
}

// Names are auto and every registered target's name, in registration order.
func Names() []string {
	out := []string{Auto}
	for _, t := range registry {
		out = append(out, t.Name())
	}
	return out
}

// Check tells whether method is a restart method ("" is auto).
func Check(method string) error {
	if method == "" || method == Auto {
		return nil
	}
	if _, ok := Get(method); ok {
		return nil
	}
	names := Names()
	return i18n.Errorf("--restart %q: use %s or %s", method, strings.Join(names[:len(names)-1], ", "), names[len(names)-1])
}

// Choice is a restart method and what it runs, for a front end's choices.
type Choice struct {
	Name string
	Help i18n.Message
}

// Choices are auto and every registered target, in the registry's order.
func Choices() []Choice {
	out := []Choice{{Auto, i18n.Msg("the control script when there is one, else services")}}
	for _, t := range registry {
		out = append(out, Choice{t.Name(), t.Help()})
	}
	return out
}

// Help is --restart's help in tr's language: every method and what it runs.
func Help(tr *i18n.Printer) string {
	var parts []string
	for _, c := range Choices() {
		parts = append(parts, tr.Sprintf("%s (%s)", c.Name, c.Help.In(tr)))
	}
	return tr.Sprintf("how to restart: %s", strings.Join(parts, tr.T(", ")))
}

// composeLabels finds a service's containers by the compose labels deploy reads.
type composeLabels struct{}

func (composeLabels) Containers(d *deploy.Deployment, cs []engine.Container, stack, service string) []engine.Container {
	return d.ContainersOf(cs, stack, service)
}
