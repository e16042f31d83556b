// These tests lock down how .systemconfig is read, which entry holds an image's
// version, and that an edit changes the value's characters and nothing else.
package sysconfig

import (
	"errors"
	"strings"
	"testing"
)

const sample = "# Encoo console settings\r\n" +
	"export CONSOLE_WEB_IMAGE=\"encoo/console-web-v4-pvt:4.1.70000\"\r\n" +
	"RPA_SERVICE_VERSION=4.1.70002   # rpa\r\n" +
	"RPA_RDP_SERVICE_VERSION='4.1.70002'\r\n" +
	"RPA_RDP_WEB_SERVICE_VERSION=4.1.70002\r\n" +
	"DB_PASSWORD=Pa55-4.1.70000-x\r\n" +
	"BUILD_ID=4.1.70003\r\n" +
	"FOUNDATION_VERSION=4.1.70003\r\n" +
	"if [ -n \"$X\" ]; then echo hi; fi\r\n" +
	"LAST=1"

func TestParseEnv(t *testing.T) {
	f, _ := Parse(".systemconfig", []byte(sample))
	want := map[string]string{"CONSOLE_WEB_IMAGE": "encoo/console-web-v4-pvt:4.1.70000", "RPA_SERVICE_VERSION": "4.1.70002",
		"RPA_RDP_SERVICE_VERSION": "4.1.70002", "DB_PASSWORD": "Pa55-4.1.70000-x", "LAST": "1"}
	for k, v := range want {
		if e, ok := f.Lookup(k); !ok || e.Value != v {
			t.Errorf("%s = %q, want %q", k, e.Value, v)
		}
	}
	if len(f.Entries) != 8 {
		t.Errorf("%d entries, want 8 (the shell line is not one)", len(f.Entries))
	}
}

func TestFindAndEdit(t *testing.T) {
	f, _ := Parse(".systemconfig", []byte(sample))
	files := []*File{f}
	cases := []struct {
		repo string
		tags []string
		key  string
		want string // the edited file with NEW as the new value, or "ambiguous:..." or "none"
	}{
		{"encoo/console-web-v4-pvt", []string{"4.1.70000"}, "", strings.Replace(sample, "v4-pvt:4.1.70000\"", "v4-pvt:NEW\"", 1)},
		{"encoo/rpa-service", []string{"4.1.70002"}, "", strings.Replace(sample, "RPA_SERVICE_VERSION=4.1.70002 ", "RPA_SERVICE_VERSION=NEW ", 1)},
		{"encoo/rpa-rdp-service", []string{"4.1.70002"}, "", strings.Replace(sample, "RPA_RDP_SERVICE_VERSION='4.1.70002'", "RPA_RDP_SERVICE_VERSION='NEW'", 1)},
		{"encoo/rpa-rdp-web-service", []string{"4.1.70002"}, "", strings.Replace(sample, "WEB_SERVICE_VERSION=4.1.70002", "WEB_SERVICE_VERSION=NEW", 1)},
		{"encoo/digi4th-foundation-service", []string{"4.1.70003"}, "", strings.Replace(sample, "FOUNDATION_VERSION=4.1.70003", "FOUNDATION_VERSION=NEW", 1)},
		// Two keys hold 4.1.70003 and neither names vicode: stop, name both.
		{"encoo/vicode-service", []string{"4.1.70003"}, "", "ambiguous:BUILD_ID=4.1.70003, .systemconfig:8 FOUNDATION_VERSION=4.1.70003"},
		{"encoo/vicode-service", []string{"4.1.70003"}, "BUILD_ID", strings.Replace(sample, "BUILD_ID=4.1.70003", "BUILD_ID=NEW", 1)},
		// The password contains 4.1.70000 but is never an entry for it.
		{"encoo/other", []string{"4.1.70000"}, "", "none"},
	}
	for _, c := range cases {
		t.Run(c.repo+c.key, func(t *testing.T) {
			m, err := Find(files, c.repo, c.tags, c.key)
			var amb *Ambiguous
			switch {
			case errors.As(err, &amb):
				if !strings.HasPrefix(c.want, "ambiguous:") || !strings.Contains(err.Error(), strings.TrimPrefix(c.want, "ambiguous:")) {
					t.Fatalf("got %v, want %s", err, c.want)
				}
				return
			case err != nil:
				t.Fatal(err)
			case len(m) == 0:
				if c.want != "none" {
					t.Fatalf("no entry, want %q", c.want)
				}
				return
			}
			val := "NEW"
			if m[0].Kind == Reference {
				val = strings.Replace(m[0].Entry.Value, c.tags[0], "NEW", 1)
			}
			got, err := f.Edit(m[0].Entry, val)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("edit:\n%q\nwant\n%q", got, c.want)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	src := "{\n  \"images\": {\n    \"web\": \"encoo/console-web-v4-pvt:4.1.70000\",\n    \"rpaVersion\": \"4.1.70002\"\n  },\n  \"list\": [\"a\", {\"b\": \"c\"}],\n  \"n\": 3\n}\n"
	f, err := Parse("cfg.json", []byte(src))
	if err != nil || f.Format != JSON {
		t.Fatal(err, f.Format)
	}
	e, ok := f.Lookup("images.rpaVersion")
	if !ok || e.Value != "4.1.70002" || e.Line != 4 {
		t.Fatalf("got %+v", e)
	}
	if e, ok := f.Lookup("list.1.b"); !ok || e.Value != "c" {
		t.Errorf("list.1.b = %+v", e)
	}
	m, err := Find([]*File{f}, "encoo/console-web-v4-pvt", []string{"4.1.70000"}, "")
	if err != nil || len(m) != 1 || m[0].Entry.Key != "images.web" {
		t.Fatalf("find: %v %+v", err, m)
	}
	got, _ := f.Edit(m[0].Entry, "encoo/console-web-v4-pvt:4.1.76383")
	if want := strings.Replace(src, "4.1.70000", "4.1.76383", 1); string(got) != want {
		t.Errorf("got %s", got)
	}
}

func FuzzParseEdit(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("{\"a\": \"b:1\"}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cf, err := Parse("x", data)
		if err != nil {
			return
		}
		for _, e := range cf.Entries {
			if !e.Editable {
				continue
			}
			out, err := cf.Edit(e, "TAG")
			if err != nil {
				t.Fatal(err)
			}
			// Only the value's bytes change.
			if string(out[:e.Start]) != string(data[:e.Start]) || string(out[e.Start+3:]) != string(data[e.End:]) {
				t.Fatalf("edit of %s touched other bytes", e.Key)
			}
		}
	})
}

// A fuzzer found that JSON with data after the object panicked; a byte-order mark made
// the first entry vanish. Both are read now, offsets counted in the file's bytes.
func TestHostileConfig(t *testing.T) {
	for _, in := range []string{`{"a":"b"} "x"`, `{"a":"b"}}`, `{"a":"b"} {"c":"d"}`, `{"a":["b"]}]`} {
		if _, err := Parse("x.json", []byte(in)); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
			t.Errorf("%s: got %v", in, err)
		}
	}
	env := "\xEF\xBB\xBFWEB_VERSION=1.0\r\nDB=2\r\n"
	f, err := Parse("x", []byte(env))
	if err != nil || len(f.Entries) != 2 || f.Entries[0].Key != "WEB_VERSION" || env[f.Entries[0].Start:f.Entries[0].End] != "1.0" {
		t.Fatalf("BOM env: %v %+v", err, f)
	}
	js := "\xEF\xBB\xBF{\"images\": {\"web\": \"acme/web:1.0\"}}"
	f, err = Parse("x", []byte(js))
	if err != nil || len(f.Entries) != 1 || js[f.Entries[0].Start:f.Entries[0].End] != "acme/web:1.0" {
		t.Fatalf("BOM JSON: %v %+v", err, f)
	}
}

// An operator's --config-key must hold the image's tag or a reference to it; a key
// named like a secret is never edited, and its value never printed.
func TestExplicitKeyChecked(t *testing.T) {
	f, _ := Parse(".systemconfig", []byte("DB_PASSWORD='Encoo@4.1.70000!'\nWEB=4.1.70000\nBUILD=7\napi_token=4.1.70000\n"))
	tags := []string{"4.1.70000", "4.1.76383"}
	for key, want := range map[string]string{
		"DB_PASSWORD": "named like a secret",
		"api_token":   "named like a secret",
		"BUILD":       "holds neither its tag in use (4.1.70000) nor a reference to it",
	} {
		_, err := Find([]*File{f}, "encoo/web", tags, key)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "Encoo@") {
			t.Errorf("%s: got %v", key, err)
		}
	}
	if m, err := Find([]*File{f}, "encoo/web", tags, "WEB"); err != nil || len(m) != 1 {
		t.Errorf("WEB: %v %v", m, err)
	}
	// Without a key, a secret holding the very tag is not a candidate either.
	if m, err := Find([]*File{f}, "encoo/web", tags, ""); err != nil || len(m) != 1 || m[0].Entry.Key != "WEB" {
		t.Errorf("no key: %+v %v", m, err)
	}
	if Shown(Entry{Key: "REDIS_PWD", Value: "x"}) != "***" || Shown(Entry{Key: "WEB_VERSION", Value: "1"}) != "1" {
		t.Error("Shown")
	}
}
