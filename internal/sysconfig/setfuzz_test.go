package sysconfig

import "testing"

// FuzzSet: when Set gives splices, the edited file reads the key as the value.
func FuzzSet(f *testing.F) {
	f.Add("A=1\nB_C=2 # x\nexport D=\"e\"\n", "B_D", "v w")
	f.Add("X='a'\r\n", "X", "it's")
	f.Fuzz(func(t *testing.T, in, key, value string) {
		if !keyName.MatchString(key) || len(in) > 4096 {
			return
		}
		for _, r := range value {
			if r < 0x20 || r == 0x7f {
				return
			}
		}
		fl, err := Parse(".systemconfig", []byte(in))
		if err != nil || fl.Format != Env {
			return
		}
		sps, err := fl.Set(key, value)
		if err != nil {
			return
		}
		out := in
		for i := len(sps) - 1; i >= 0; i-- {
			sp := sps[i]
			if out[sp.Start:sp.End] != sp.Old {
				t.Fatalf("splice %+v does not hold its old bytes", sp)
			}
			out = out[:sp.Start] + sp.New + out[sp.End:]
		}
		g, _ := Parse(".systemconfig", []byte(out))
		if e, ok := g.Lookup(key); !ok || e.Value != value {
			t.Fatalf("after Set(%q, %q) the file reads %q (%v):\n%q", key, value, e.Value, ok, out)
		}
	})
}
