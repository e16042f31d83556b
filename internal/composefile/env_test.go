package composefile

import (
	"strings"
	"testing"
)

func apply(data string, lo, hi int, repl string) string { return data[:lo] + repl + data[hi:] }

func TestSetEnv(t *testing.T) {
	cases := []struct {
		name, in, service, key, value, want string
	}{
		{"mapping, existing", "services:\n  web:\n    image: a:1\n    environment:\n      LOG: info # level\n      B: x\n", "web", "LOG", "debug",
			"services:\n  web:\n    image: a:1\n    environment:\n      LOG: debug # level\n      B: x\n"},
		{"mapping, new key appended", "services:\n  web:\n    image: a:1\n    environment:\n      LOG: info\n    ports: [\"80:80\"]\n", "web", "MODE", "on",
			"services:\n  web:\n    image: a:1\n    environment:\n      LOG: info\n      MODE: \"on\"\n    ports: [\"80:80\"]\n"},
		{"list, existing quoted", "services:\n  web:\n    environment:\n      - \"LOG=info\"\n      - B=2\n", "web", "LOG", "a b",
			"services:\n  web:\n    environment:\n      - \"LOG=a b\"\n      - B=2\n"},
		{"list, new", "services:\n  web:\n    environment:\n    - LOG=info\n", "web", "X", "1",
			"services:\n  web:\n    environment:\n    - LOG=info\n    - X=1\n"},
		{"no environment", "services:\n    web:\n        image: a:1\n        restart: always\n", "web", "X", "y z",
			"services:\n    web:\n        image: a:1\n        restart: always\n        environment:\n            X: \"y z\"\n"},
		{"no environment, last value a block", "services:\n  web:\n    image: a:1\n    command: [\"a\",\n      \"b\"]\n", "web", "X", "1",
			"services:\n  web:\n    environment:\n      X: \"1\"\n    image: a:1\n    command: [\"a\",\n      \"b\"]\n"},
		{"merge without environment", "x-c: &c\n  restart: always\nservices:\n  web:\n    <<: *c\n    image: \"a:1\" # front\n  db:\n    image: b\n", "web", "LOG", "debug",
			"x-c: &c\n  restart: always\nservices:\n  web:\n    <<: *c\n    image: \"a:1\" # front\n    environment:\n      LOG: debug\n  db:\n    image: b\n"},
		{"crlf", "services:\r\n  web:\r\n    environment:\r\n      A: b\r\n", "web", "C", "d",
			"services:\r\n  web:\r\n    environment:\r\n      A: b\r\n      C: d\r\n"},
		{"single quoted", "services:\n  web:\n    environment:\n      A: 'x'\n", "web", "A", "can't",
			"services:\n  web:\n    environment:\n      A: 'can''t'\n"},
		{"null value", "services:\n  web:\n    environment:\n      A:\n      B: c\n", "web", "A", "v",
			"services:\n  web:\n    environment:\n      A: v\n      B: c\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse("docker-compose.yml", []byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			sp, err := f.SetEnv(c.service, c.key, c.value)
			if err != nil {
				t.Fatal(err)
			}
			if c.in[sp.Start:sp.End] != sp.Old {
				t.Fatalf("old %q is not the bytes [%d,%d)", sp.Old, sp.Start, sp.End)
			}
			if got := apply(c.in, sp.Start, sp.End, sp.New); got != c.want {
				t.Fatalf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

func TestEnvRefusals(t *testing.T) {
	for name, in := range map[string]string{
		"merge":     "x: &d\n  environment:\n    A: b\nservices:\n  web:\n    <<: *d\n    image: a\n",
		"flow":      "services:\n  web:\n    environment: {A: b}\n",
		"env alias": "x: &e\n  A: b\nservices:\n  web:\n    environment: *e\n",
		"flow svc":  "services:\n  web: {image: a}\n",
	} {
		f, err := Parse("c.yml", []byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.SetEnv("web", "A", "z"); err == nil || !strings.Contains(err.Error(), "by hand") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestUnsetEnv(t *testing.T) {
	in := "services:\n  web:\n    environment:\n      - A=1\n      - B=2\n"
	f, _ := Parse("c.yml", []byte(in))
	sp, ok, err := f.UnsetEnv("web", "A")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if got := apply(in, sp.Start, sp.End, sp.New); got != "services:\n  web:\n    environment:\n      - B=2\n" {
		t.Fatalf("got %q", got)
	}
	if _, ok, _ := f.UnsetEnv("web", "Z"); ok {
		t.Fatal("Z found")
	}
}
