package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lattice-platform/lattice/pkg/target"
	"github.com/lattice-platform/lattice/services/analytics/analyticssvc"
	"github.com/lattice-platform/lattice/services/auth/authsvc"
	"github.com/lattice-platform/lattice/services/gateway/gatewaysvc"
	"github.com/lattice-platform/lattice/services/processing/processingsvc"
	"github.com/lattice-platform/lattice/services/resource/resourcesvc"
	"github.com/lattice-platform/lattice/services/search/searchsvc"
)

// registry is every deployable target, each after those it needs
// (grafana/mimir's modules are the model). Each service describes itself
// in its wiring package (package target); serve, migrate, the listeners and
// the gateway's upstreams read this list, and nothing else lists the
// services.
var registry = []target.Target{
	authsvc.Target,
	resourcesvc.Target,
	searchsvc.Target,
	processingsvc.Target,
	analyticssvc.Target,
	gatewaysvc.Target,
}

func lookupTarget(name string) (target.Target, bool) {
	i := slices.IndexFunc(registry, func(t target.Target) bool { return t.Name == name })
	if i < 0 {
		return target.Target{}, false
	}
	return registry[i], true
}

func targetNames() []string {
	names := make([]string, len(registry))
	for i, t := range registry {
		names[i] = t.Name
	}
	return names
}

// parseTarget turns --target into the targets to run, in registry order.
func parseTarget(name string) ([]string, error) {
	if name == "all" {
		return targetNames(), nil
	}
	if _, ok := lookupTarget(name); !ok {
		return nil, fmt.Errorf("unknown target %q (want all or one of %s)", name, strings.Join(targetNames(), ", "))
	}
	return []string{name}, nil
}

// serviceCredentialHolders are the targets that call others with the
// service client's token.
func serviceCredentialHolders() []string {
	var names []string
	for _, t := range registry {
		if t.ServiceCredential {
			names = append(names, t.Name)
		}
	}
	return names
}

// sharedProcsPerCore is how many Ps (GOMAXPROCS) a process of several
// targets runs per core Go would give it (ADR 0041).
const sharedProcsPerCore = 3

// maxProcs is the GOMAXPROCS that serve sets for a process of several
// targets, whose background work (extraction, embedding, indexing) shares
// the cores with the requests, when the environment sets none: cpus, Go's
// own choice, times sharedProcsPerCore. Go's scheduler has no priorities
// and lets a goroutine run 10 ms before it preempts it, so with as many Ps
// as cores a request woken by the network waits behind the background's
// busy goroutines at every step. With more Ps than cores the extra threads
// are the kernel's to share, and it runs a thread that wakes from a wait
// ahead of those that have been running. A process of one target keeps
// Go's choice, which follows a container's CPU limit.
func maxProcs(services []string, lookup func(string) (string, bool), cpus int) (int, bool) {
	if len(services) < 2 {
		return 0, false
	}
	if _, set := lookup("GOMAXPROCS"); set {
		return 0, false
	}
	return cpus * sharedProcsPerCore, true
}

// missingGODEBUG names the runtime settings that the one target a process
// runs asks for (target.Description.GODEBUG) and its GODEBUG lacks. The
// runtime has read GODEBUG by now, so serve can only say so.
func missingGODEBUG(services []string, lookup func(string) (string, bool)) (want string, missing []string) {
	if len(services) != 1 {
		return "", nil
	}
	t, ok := lookupTarget(services[0])
	if !ok || t.GODEBUG == "" {
		return "", nil
	}
	have, _ := lookup("GODEBUG")
	_, missing = target.WithGODEBUG(have, t.GODEBUG)
	return t.GODEBUG, missing
}

// gcPercent is the GOGC that serve sets for services: the target's own
// when it runs alone and the environment sets none (an operator's GOGC
// wins). A process running several targets keeps Go's default: the
// stores' live heaps are large, and a target's setting is made for its
// own heap only.
func gcPercent(services []string, lookup func(string) (string, bool)) (int, bool) {
	if len(services) != 1 {
		return 0, false
	}
	if _, set := lookup("GOGC"); set {
		return 0, false
	}
	t, ok := lookupTarget(services[0])
	if !ok || t.GCPercent <= 0 {
		return 0, false
	}
	return t.GCPercent, true
}
