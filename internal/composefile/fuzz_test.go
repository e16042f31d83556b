// These fuzz tests lock down that an image edit changes only the tag's bytes, whatever
// the compose file looks like, and that no input makes the reader panic.
package composefile

import (
	"bytes"
	"testing"
)

func FuzzTagEdit(f *testing.F) {
	for _, s := range []string{
		"services:\n  web:\n    image: \"encoo/web:1.0\" # front\n",
		"x-i: &i encoo/app:${TAG:-2}\nservices:\n  a:\n    image: *i\n  b:\n    <<: {image: 'x/y:3'}\n",
		"services:\r\n  db:\r\n    image: docker.io/library/postgres:15\r\n",
		"services:\n  p:\n    image:  portainer/portainer-ce",
		"services:\n  s:\n    image: registry:5000/team/app@sha256:" + string(bytes.Repeat([]byte("a"), 64)) + "\n",
		"services:\n  \"\": {image: a/b:1}\n  \"\": {image: c/d:2}\n",
		`{"services": {"a": {"image": "x/y:1"}, "b": {"image": z/w:2}}}`,
	} {
		f.Add([]byte(s))
	}
	env := func(k string) (string, bool) {
		if k == "TAG" {
			return "7", true
		}
		return "", false
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cf, err := Parse("f.yml", data)
		if err != nil {
			return
		}
		for i, s := range cf.Services {
			if s.Image == nil {
				continue
			}
			tg, err := Locate(s.Image, env)
			if err != nil || tg.Where != InFile {
				continue
			}
			if string(data[tg.Start:tg.End]) != tg.Old {
				t.Fatalf("%s: bytes at the tag are %q, target says %q", s.Name, data[tg.Start:tg.End], tg.Old)
			}
			rep, err := tg.Replacement(tg.Prefix + "9.9" + tg.Suffix)
			if err != nil {
				t.Fatalf("%s: %v", s.Name, err)
			}
			out := Splice(data, tg.Start, tg.End, rep)
			if !bytes.Equal(out[:tg.Start], data[:tg.Start]) || !bytes.Equal(out[tg.Start+len(rep):], data[tg.End:]) {
				t.Fatalf("%s: bytes outside the tag changed", s.Name)
			}
			nf, err := Parse("f.yml", out)
			if err != nil {
				t.Fatalf("%s: the edited file no longer parses: %v\n%q", s.Name, err, out)
			}
			// The same service by position: names may repeat (duplicate empty keys).
			if i < len(nf.Services) && nf.Services[i].Image != nil {
				if nt, err := Locate(nf.Services[i].Image, env); err == nil && nt.Tag != tg.Prefix+"9.9"+tg.Suffix {
					t.Fatalf("%s: after the edit the tag is %q", s.Name, nt.Tag)
				}
			}
		}
	})
}
