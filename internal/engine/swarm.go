package engine

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// Swarm labels that docker stack deploy and swarm put on services and task containers.
const (
	LabelStack     = "com.docker.stack.namespace"
	LabelSwarmSvc  = "com.docker.swarm.service.name"
	LabelSwarmTask = "com.docker.swarm.task.id"
)

// Swarm is what a swarm manager answers: its nodes, a stack's services and their tasks.
type Swarm interface {
	// SwarmState is the engine's swarm state (inactive, active, …), its node ID, and
	// whether it is a manager.
	SwarmState(ctx context.Context) (state, nodeID string, manager bool, err error)
	// Nodes lists the swarm's nodes.
	Nodes(ctx context.Context) ([]Node, error)
	// Services lists the services of a stack (all stacks' when stack is "").
	Services(ctx context.Context, stack string) ([]Service, error)
	// Tasks lists the tasks of a service (of every service when serviceID is "").
	Tasks(ctx context.Context, serviceID string) ([]Task, error)
}

// Node is one node of a swarm.
type Node struct {
	ID, Hostname, Addr string
	// State is ready, down, unknown or disconnected; Availability active, pause or drain.
	State, Availability string
	Manager             bool
}

// Service is one swarm service.
type Service struct {
	ID, Name string
	// Image is the image of the service's spec (with a digest when it was resolved).
	Image  string
	Labels map[string]string
	// Replicas is the desired count; -1 for a global service.
	Replicas int
	// UpdateState is the state of its last update (updating, completed, paused,
	// rollback_started, rollback_completed, …), "" when it was never updated;
	// UpdateMessage says why.
	UpdateState, UpdateMessage string
	// Constraints are its placement constraints (node.hostname==x, node.role==worker).
	Constraints []string
	// Order is its update order (stop-first, start-first), FailureAction what a
	// failed update does (pause, continue, rollback).
	Order, FailureAction string
}

// Task is one task of a service.
type Task struct {
	ID, ServiceID, NodeID string
	Slot                  int
	// DesiredState and State are new, pending, assigned, …, running, shutdown,
	// failed, rejected, complete.
	DesiredState, State string
	// Err is why a task failed, as the node said.
	Err         string
	ExitCode    int
	ContainerID string
	Image       string
	Timestamp   time.Time
}

func (d *Docker) SwarmState(ctx context.Context) (string, string, bool, error) {
	r, err := d.c.Info(ctx, client.InfoOptions{})
	if err != nil {
		return "", "", false, err
	}
	return string(r.Info.Swarm.LocalNodeState), r.Info.Swarm.NodeID, r.Info.Swarm.ControlAvailable, nil
}

func (d *Docker) Nodes(ctx context.Context) ([]Node, error) {
	r, err := d.c.NodeList(ctx, client.NodeListOptions{})
	if err != nil {
		return nil, err
	}
	var out []Node
	for _, n := range r.Items {
		out = append(out, Node{ID: n.ID, Hostname: n.Description.Hostname, Addr: n.Status.Addr, State: string(n.Status.State),
			Availability: string(n.Spec.Availability), Manager: n.ManagerStatus != nil})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Hostname < out[j].Hostname })
	return out, nil
}

func (d *Docker) Services(ctx context.Context, stack string) ([]Service, error) {
	f := client.Filters{}
	if stack != "" {
		f = f.Add("label", LabelStack+"="+stack)
	}
	r, err := d.c.ServiceList(ctx, client.ServiceListOptions{Filters: f})
	if err != nil {
		return nil, err
	}
	var out []Service
	for _, s := range r.Items {
		out = append(out, service(s))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func service(s swarm.Service) Service {
	o := Service{ID: s.ID, Name: s.Spec.Name, Labels: s.Spec.Labels, Replicas: -1, Order: "stop-first", FailureAction: "pause"}
	if cs := s.Spec.TaskTemplate.ContainerSpec; cs != nil {
		o.Image = cs.Image
	}
	if m := s.Spec.Mode.Replicated; m != nil {
		o.Replicas = 1
		if m.Replicas != nil {
			o.Replicas = int(*m.Replicas)
		}
	}
	if u := s.UpdateStatus; u != nil {
		o.UpdateState, o.UpdateMessage = string(u.State), u.Message
	}
	if p := s.Spec.TaskTemplate.Placement; p != nil {
		o.Constraints = p.Constraints
	}
	if u := s.Spec.UpdateConfig; u != nil {
		if u.Order != "" {
			o.Order = string(u.Order)
		}
		if u.FailureAction != "" {
			o.FailureAction = string(u.FailureAction)
		}
	}
	return o
}

func (d *Docker) Tasks(ctx context.Context, serviceID string) ([]Task, error) {
	f := client.Filters{}
	if serviceID != "" {
		f = f.Add("service", serviceID)
	}
	r, err := d.c.TaskList(ctx, client.TaskListOptions{Filters: f})
	if err != nil {
		return nil, err
	}
	var out []Task
	for _, t := range r.Items {
		o := Task{ID: t.ID, ServiceID: t.ServiceID, NodeID: t.NodeID, Slot: t.Slot, DesiredState: string(t.DesiredState),
			State: string(t.Status.State), Err: t.Status.Err, Timestamp: t.Status.Timestamp}
		if c := t.Status.ContainerStatus; c != nil {
			o.ContainerID, o.ExitCode = c.ContainerID, c.ExitCode
		}
		if cs := t.Spec.ContainerSpec; cs != nil {
			o.Image = cs.Image
		}
		out = append(out, o)
	}
	return out, nil
}

// Allows says whether a service's placement constraints may let a task run on the
// node (hostname, ID, manager or not). A constraint imgup cannot judge (a node label,
// engine labels) is taken to allow it.
func Allows(constraints []string, hostname, id string, manager bool) bool {
	role := "worker"
	if manager {
		role = "manager"
	}
	for _, c := range constraints {
		op := "=="
		k, v, ok := strings.Cut(c, "==")
		if !ok {
			if k, v, ok = strings.Cut(c, "!="); !ok {
				continue
			}
			op = "!="
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		var have string
		switch k {
		case "node.hostname":
			have = hostname
		case "node.id":
			have = id
		case "node.role":
			have = role
		default:
			continue
		}
		if (op == "==") != (have == v) {
			return false
		}
	}
	return true
}
