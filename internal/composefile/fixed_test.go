// This test locks down tags written as fixed text around one variable: the variable
// (or its default, when nothing sets it) takes what lies between, a new tag that
// drops the fixed text is refused, and two variables in one tag are refused.
package composefile

import (
	"strings"
	"testing"
)

func TestFixedTextAroundVariable(t *testing.T) {
	for _, c := range []struct {
		raw, newTag string
		env         map[string]string
		where       Where
		old, repl   string
		err         string
	}{
		{raw: "docker.io/bitnami/mongodb:${MONGODB_VERSION:-8.2}-ubi8", newTag: "8.3-ubi8", where: InFile, old: "8.2", repl: "8.3"},
		{raw: "docker.io/bitnami/mongodb:${MONGODB_VERSION:-8.2}-ubi8", newTag: "8.3-ubi9", err: `does not keep that fixed text`},
		{raw: "docker.io/bitnami/mongodb:${MONGODB_VERSION:-8.2}-ubi8", newTag: "8.3-ubi8", env: map[string]string{"MONGODB_VERSION": "8.1"}, where: InVariable, old: "8.1", repl: "8.3"},
		{raw: "acme/app:v${VERSION}", newTag: "v2.0.1", env: map[string]string{"VERSION": "2.0.0"}, where: InVariable, old: "2.0.0", repl: "2.0.1"},
		{raw: "acme/app:v${VERSION}", newTag: "2.0.1", env: map[string]string{"VERSION": "2.0.0"}, err: `"v${VERSION}"`},
		{raw: "acme/app:${TAG}-alpine", newTag: "3.1-alpine", env: map[string]string{"TAG": "3.0"}, where: InVariable, old: "3.0", repl: "3.1"},
		{raw: "${REGISTRY}/app:${TAG}", newTag: "5", env: map[string]string{"REGISTRY": "reg.local:5000", "TAG": "4"}, where: InVariable, old: "4", repl: "5"},
		{raw: "acme/app:${V}.${W}", newTag: "1.3", env: map[string]string{"V": "1", "W": "2"}, err: "${V} and ${W}"},
	} {
		t.Run(c.raw+" "+c.newTag, func(t *testing.T) {
			f, err := Parse("f.yml", []byte("services:\n  s:\n    image: "+c.raw+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			tg, err := Locate(f.Services[0].Image, func(k string) (string, bool) { v, ok := c.env[k]; return v, ok })
			var repl string
			if err == nil {
				repl, err = tg.Replacement(c.newTag)
			}
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %v, want an error with %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tg.Where != c.where || tg.Old != c.old || repl != c.repl {
				t.Errorf("where %s old %q repl %q; want %s %q %q", tg.Where, tg.Old, repl, c.where, c.old, c.repl)
			}
		})
	}
}
