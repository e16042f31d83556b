package plan

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/encoo-tools/imgup/internal/bundle"
	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/history"
	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/sysconfig"
	"github.com/encoo-tools/imgup/internal/textedit"
)

// BundleRef is a vendor bundle the plan applies.
type BundleRef struct {
	Path    string `json:"path"`
	Name    string `json:"name"`
	Version string `json:"version"`
	// Manifest is the sha256 of its bundle.json, as verified: apply loads only that.
	Manifest  string            `json:"manifest"`
	Signature bundle.Signature  `json:"signature"`
	Notes     map[string]string `json:"notes,omitempty"`
	// Requires are the constraints, all met.
	Requires []string `json:"requires,omitempty"`
	// Base names the base of a differential bundle, whose layers the engine has.
	Base string `json:"base,omitempty"`
	// Lacking is how many layers the bundle leaves out (its base shipped them).
	Lacking int `json:"lacking,omitempty"`
}

// Bundle returns the bundle the plan applies from path, or nil.
func (p *Plan) Bundle(path string) *BundleRef {
	for i := range p.Bundles {
		if p.Bundles[i].Path == path {
			return &p.Bundles[i]
		}
	}
	return nil
}

func bundleRef(b *bundle.Bundle) BundleRef {
	m := b.Manifest
	r := BundleRef{Path: b.Path, Name: m.Name, Version: m.Version, Manifest: b.Digest, Signature: b.Signature, Notes: m.Notes}
	for _, c := range m.Requires {
		r.Requires = append(r.Requires, c.String())
	}
	if m.Base != nil {
		r.Base = m.Base.Name + " " + m.Base.Version
	}
	for _, img := range m.Images {
		for _, l := range img.Layers {
			if l.InBase {
				r.Lacking++
			}
		}
	}
	return r
}

func bundleName(b *bundle.Bundle) string {
	return fmt.Sprintf("bundle %s %s", b.Manifest.Name, b.Manifest.Version)
}

// bundleUsers resolves the services a bundle sends an image to. "*" means every
// service using the image's repository (narrowed by --service); a named service must
// exist and use that repository.
func bundleUsers(d *deploy.Deployment, b *bundle.Bundle, img newImage, selected map[*deploy.Service]bool) (map[*deploy.Service]bool, error) {
	var services []string
	for _, bi := range b.Manifest.Images {
		if n, t := splitTag(bi.Ref); (n == img.name || familiar(n) == img.name) && t == img.tag {
			services = bi.Services
		}
	}
	if len(services) == 0 || slices.Contains(services, "*") {
		return selected, nil
	}
	sel := map[*deploy.Service]bool{}
	for _, name := range services {
		stack, svcName, _ := strings.Cut(name, "/")
		svc := findService(d, stack, svcName)
		if svc == nil {
			return nil, fail("%s sends %s to %s, which is not a service of this deployment (its services: %s); ask the vendor which service is meant", bundleName(b), img.ref, name, strings.Join(allServices(d), ", "))
		}
		if svc.Target == nil || svc.Target.Name != img.name {
			runs := "an image imgup cannot resolve"
			if svc.Target != nil {
				runs = svc.Target.Ref
			}
			return nil, fail("%s sends %s to %s, which runs %s: imgup changes only an image's tag, not its name; ask the vendor", bundleName(b), img.ref, name, runs)
		}
		if selected == nil || selected[svc] {
			sel[svc] = true
		}
	}
	return sel, nil
}

func familiar(name string) string {
	return engine.Repository(name + ":x")
}

func findService(d *deploy.Deployment, stack, name string) *deploy.Service {
	for _, st := range d.Stacks {
		if st.Name != stack {
			continue
		}
		for _, s := range st.Services {
			if s.Name == name {
				return s
			}
		}
	}
	return nil
}

func allServices(d *deploy.Deployment) []string {
	var all []string
	for _, st := range d.Stacks {
		for _, s := range st.Services {
			all = append(all, st.Name+"/"+s.Name)
		}
	}
	return all
}

// checkRequires refuses a bundle whose constraints the deployment does not meet.
func checkRequires(d *deploy.Deployment, b *bundle.Bundle) error {
	for _, c := range b.Manifest.Requires {
		if c.Image != "" {
			name := familiar(c.Image)
			var users []*deploy.Service
			for _, st := range d.Stacks {
				for _, s := range st.Services {
					if s.Target != nil && s.Target.Name == name {
						users = append(users, s)
					}
				}
			}
			if len(users) == 0 {
				return fail("%s needs %s; no service of this deployment uses %s", bundleName(b), c.String(), c.Image)
			}
			for _, s := range users {
				tag := s.Target.Tag
				if (c.Min != "" && CompareVersions(tag, c.Min) < 0) || (c.Tag != "" && tag != c.Tag) {
					return fail("%s needs %s; the deployment runs %s (%s/%s): first apply the update that brings %s, then this bundle", bundleName(b), c.String(), tag, s.Stack.Name, s.Name, c.String())
				}
			}
			continue
		}
		f, err := configFile(d, c.File)
		if err != nil {
			return fail("%s needs %s=%s in %s: %v", bundleName(b), c.Key, c.Value, c.File, err)
		}
		e, ok := f.Lookup(c.Key)
		if !ok || e.Value != c.Value {
			is := "it is not set"
			if ok {
				is = "it is " + strconv.Quote(sysconfig.Shown(e))
			}
			shown := c.Value
			if sysconfig.Secret(c.Key) {
				shown = "***"
			}
			return fail("%s needs %s=%s in %s; %s", bundleName(b), c.Key, shown, c.File, is)
		}
	}
	return nil
}

// CompareVersions orders versions as people read them: runs of digits by number,
// other runs as text ("4.1.9" < "4.1.10").
func CompareVersions(a, b string) int {
	pa, pb := versionParts(a), versionParts(b)
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, y := pa[i], pb[i]
		nx, ex := strconv.ParseUint(x, 10, 64)
		ny, ey := strconv.ParseUint(y, 10, 64)
		switch {
		case ex == nil && ey == nil && nx != ny:
			if nx < ny {
				return -1
			}
			return 1
		case (ex != nil || ey != nil) && x != y:
			return strings.Compare(x, y)
		}
	}
	return len(pa) - len(pb)
}

func versionParts(v string) []string {
	var out []string
	cur := ""
	digit := false
	for _, r := range v {
		d := unicode.IsDigit(r)
		if !d && !unicode.IsLetter(r) {
			if cur != "" {
				out = append(out, cur)
			}
			cur = ""
			continue
		}
		if cur != "" && d != digit {
			out = append(out, cur)
			cur = ""
		}
		cur += string(r)
		digit = d
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}

// configFile finds a stack's config file by its path under the root.
func configFile(d *deploy.Deployment, rel string) (*sysconfig.File, error) {
	want := filepath.Join(d.Root, filepath.FromSlash(rel))
	for _, st := range d.Stacks {
		for _, f := range st.ConfigFiles() {
			if f.Path == want {
				return f, nil
			}
		}
	}
	return nil, i18n.Errorf("this deployment has no %s", rel)
}

// envChange is what a bundle does to one service's environment: the variables that
// must read a value (KEY=VALUE), and those that must be gone, after the restart.
type envChange struct {
	set, unset []string
}

// bundleChanges adds the edits of a bundle's configuration changes, and returns the
// services whose environment changes.
func (e *editor) bundleChanges(b *bundle.Bundle, envs map[*deploy.Service]*envChange) error {
	why := bundleName(b)
	for _, c := range b.Manifest.Changes {
		if c.Service == "" {
			if err := e.configChange(b, c); err != nil {
				return err
			}
			continue
		}
		stack, name, _ := strings.Cut(c.Service, "/")
		svc := findService(e.d, stack, name)
		if svc == nil {
			return fail("%s changes the environment of %s, which is not a service of this deployment (its services: %s)", why, c.Service, strings.Join(allServices(e.d), ", "))
		}
		sps, err := envSplices(svc, c)
		if err != nil {
			return fail("%s: %w", why, err)
		}
		for _, sp := range sps {
			if sp.Old == sp.New {
				continue
			}
			ed := fromSplice(sp.f, sp.Splice, c.Env, i18n.Msg("%s: %s", why, describe(c)))
			if c.Unset {
				ed.Meaning = "without " + c.Env
			} else {
				ed.Meaning = c.Env + "=" + c.Shown()
			}
			if err := e.add(ed); err != nil {
				return err
			}
		}
		ch := envs[svc]
		if ch == nil {
			ch = &envChange{}
			envs[svc] = ch
		}
		if c.Unset {
			ch.unset = append(ch.unset, c.Env)
		} else {
			ch.set = append(ch.set, c.Env+"="+c.Value)
		}
	}
	return nil
}

func describe(c bundle.Change) i18n.Message {
	v := c.Shown()
	switch {
	case c.Unset && c.Service != "":
		return i18n.Msg("remove %s from the environment of %s", c.Env, c.Service)
	case c.Unset:
		return i18n.Msg("remove %s from %s", c.Key, c.File)
	case c.Service != "":
		return i18n.Msg("set %s=%s in the environment of %s", c.Env, v, c.Service)
	}
	return i18n.Msg("set %s=%s in %s", c.Key, v, c.File)
}

func fromSplice(file string, sp textedit.Splice, key string, cause i18n.Message) Edit {
	return Edit{Edit: history.Edit{File: file, Line: sp.Line, Start: sp.Start, End: sp.End, Old: sp.Old, New: sp.New, Key: key, Secret: sysconfig.Secret(key)}}.because(cause)
}

func (e *editor) configChange(b *bundle.Bundle, c bundle.Change) error {
	f, err := configFile(e.d, c.File)
	if err != nil {
		return fail("%s changes %s in %s: %v", bundleName(b), c.Key, c.File, err)
	}
	var sps []textedit.Splice
	if c.Unset {
		sps, err = f.Unset(c.Key)
		if err == nil && len(sps) == 0 {
			e.p.Notes = append(e.p.Notes, fmt.Sprintf("%s removes %s from %s, which does not set it: nothing to do", bundleName(b), c.Key, c.File))
		}
	} else {
		sps, err = f.Set(c.Key, c.Value)
	}
	if err != nil {
		return fail("%s: %w", bundleName(b), err)
	}
	for _, sp := range sps {
		if err := e.add(fromSplice(f.Path, sp, c.Key, i18n.Msg("%s: %s", bundleName(b), describe(c)))); err != nil {
			return err
		}
	}
	return nil
}

type fileSplice struct {
	f string
	textedit.Splice
}

// envSplices finds where a service's environment entry changes: compose merges a
// service's environment over its files, so setting changes the last file that holds
// the variable, else the last that has an environment, else the file that sets its
// image; unsetting removes it from every file.
func envSplices(svc *deploy.Service, c bundle.Change) ([]fileSplice, error) {
	var has, withEnv, defined []int
	files := svc.Stack.Files
	for i, f := range files {
		en, err := f.Env(svc.Name, c.Env)
		if err != nil {
			return nil, err
		}
		if en.Has {
			has = append(has, i)
		}
		if en.Environment {
			withEnv = append(withEnv, i)
		}
		if en.Defined {
			defined = append(defined, i)
		}
	}
	if c.Unset {
		var out []fileSplice
		for _, i := range has {
			sp, _, err := files[i].UnsetEnv(svc.Name, c.Env)
			if err != nil {
				return nil, err
			}
			out = append(out, fileSplice{files[i].Path, sp})
		}
		return out, nil
	}
	pick := -1
	switch {
	case len(has) > 0:
		pick = has[len(has)-1]
	case len(withEnv) > 0:
		pick = withEnv[len(withEnv)-1]
	default:
		for _, i := range defined {
			if svc.Image != nil && files[i].Path == svc.Image.File {
				pick = i
			}
		}
		if pick < 0 && len(defined) > 0 {
			pick = defined[len(defined)-1]
		}
	}
	if pick < 0 {
		return nil, i18n.Errorf("no compose file of stack %s defines service %s", svc.Stack.Name, svc.Name)
	}
	sp, err := files[pick].SetEnv(svc.Name, c.Env, c.Value)
	if err != nil {
		return nil, err
	}
	return []fileSplice{{files[pick].Path, sp}}, nil
}

// addBundles checks each bundle's constraints and base layers, and ties the archives'
// images to the bundle that brings them.
func (p *Plan) addBundles(in Input, images []newImage) error {
	byPath := map[string]*bundle.Bundle{}
	for _, b := range in.Bundles {
		byPath[b.Path] = b
		if err := checkRequires(in.Deployment, b); err != nil {
			return err
		}
		for ref, chains := range b.Manifest.BaseLayers() {
			var missing []string
			for _, c := range chains {
				if !in.Chains[c] {
					missing = append(missing, c)
				}
			}
			if len(missing) > 0 {
				base := b.Manifest.Base
				return fail("%s is differential: it leaves out %d layer(s) of %s that its base, bundle %s %s, shipped, and the engine lacks %d of them (chain %s): apply the base bundle first, or ask the vendor for a full bundle",
					bundleName(b), len(chains), ref, base.Name, base.Version, len(missing), engine.ShortID(missing[0]))
			}
		}
		p.Bundles = append(p.Bundles, bundleRef(b))
	}
	for i := range images {
		images[i].bundle = byPath[images[i].archive]
	}
	return nil
}

// envUpdates adds the services whose environment a bundle changes: they restart and
// are verified like updated ones, running the image they run now unless updated too.
// envHas reports whether a container's environment already is what ch wants.
func envHas(env []string, ch *envChange) bool {
	for _, kv := range ch.set {
		if !slices.Contains(env, kv) {
			return false
		}
	}
	for _, k := range ch.unset {
		if slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, k+"=") }) {
			return false
		}
	}
	return true
}

func (p *Plan) envUpdates(d *deploy.Deployment, cs []engine.Container, envs map[*deploy.Service]*envChange, updated []*deploy.Service) []*deploy.Service {
	for _, st := range d.Stacks {
		for _, svc := range st.Services {
			ch := envs[svc]
			if ch == nil {
				continue
			}
			i := slices.IndexFunc(p.Updates, func(u Update) bool { return u.Stack == st.Name && u.Service == svc.Name })
			if i < 0 {
				c := st.Container(cs, svc.Name)
				if c == nil {
					p.Notes = append(p.Notes, fmt.Sprintf("%s/%s is not running: its new environment takes effect when it starts", st.Name, svc.Name))
					continue
				}
				if c.Env != nil && envHas(c.Env, ch) {
					continue // it runs with that environment already: nothing to restart
				}
				p.Updates = append(p.Updates, Update{Stack: st.Name, Project: st.Project, Service: svc.Name, From: c.Image, To: c.Image, ID: c.ImageID})
				updated = append(updated, svc)
				i = len(p.Updates) - 1
			}
			p.Updates[i].SetEnv = append(p.Updates[i].SetEnv, ch.set...)
			p.Updates[i].UnsetEnv = append(p.Updates[i].UnsetEnv, ch.unset...)
		}
	}
	return updated
}
