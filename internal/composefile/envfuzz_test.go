package composefile

import (
	"fmt"
	"testing"
	"time"
)

// FuzzSetEnv: when SetEnv gives a splice, the edited file is YAML whose service holds
// the variable, and only the splice's bytes changed.
func FuzzSetEnv(f *testing.F) {
	f.Add("services:\n  web:\n    image: a\n    environment:\n      A: b\n", "A", "c d")
	f.Add("services:\n  web:\n    environment:\n      - A=1\n", "B", "x\"y")
	f.Add("x: &c\n  restart: always\nservices:\n  web:\n    <<: *c\n", "K", "on")
	f.Fuzz(func(t *testing.T, in, key, value string) {
		if !envKey.MatchString(key) || len(in) > 4096 {
			return
		}
		for _, r := range value {
			if r < 0x20 || r == 0x7f {
				return
			}
		}
		done := make(chan bool)
		go func() {
			select {
			case <-done:
			case <-time.After(3 * time.Second):
				panic(fmt.Sprintf("slow input: %q %q %q", in, key, value))
			}
		}()
		defer close(done)
		fl, err := Parse("c.yml", []byte(in))
		if err != nil {
			return
		}
		sp, err := fl.SetEnv("web", key, value)
		if err != nil {
			return
		}
		if sp.Start > sp.End || sp.End > len(in) || in[sp.Start:sp.End] != sp.Old {
			t.Fatalf("splice %+v does not hold its old bytes", sp)
		}
		out := in[:sp.Start] + sp.New + in[sp.End:]
		g, err := Parse("c.yml", []byte(out))
		if err != nil {
			t.Fatalf("the edit broke the file: %v\n%s", err, out)
		}
		if en, err := g.Env("web", key); err != nil || !en.Has {
			t.Fatalf("after the edit web's environment lacks %s (%v):\n%s", key, err, out)
		}
	})
}
