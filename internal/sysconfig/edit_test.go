package sysconfig

import "testing"

func TestSetUnset(t *testing.T) {
	in := "# console\r\nRPA_SERVICE_VERSION=4.1.1\r\nRPA_SERVICE_PORT=80 # web\r\nexport DB_HOST=\"db\"\r\nLAST=1"
	splice := func(data string, lo, hi int, s string) string { return data[:lo] + s + data[hi:] }
	cases := []struct {
		name, key, value, want string
		unset                  bool
	}{
		{"replace plain", "RPA_SERVICE_PORT", "8080", "# console\r\nRPA_SERVICE_VERSION=4.1.1\r\nRPA_SERVICE_PORT=8080 # web\r\nexport DB_HOST=\"db\"\r\nLAST=1", false},
		{"replace quoted", "DB_HOST", "db2 x", "# console\r\nRPA_SERVICE_VERSION=4.1.1\r\nRPA_SERVICE_PORT=80 # web\r\nexport DB_HOST=\"db2 x\"\r\nLAST=1", false},
		{"new in group", "RPA_SERVICE_DEBUG", "on", "# console\r\nRPA_SERVICE_VERSION=4.1.1\r\nRPA_SERVICE_PORT=80 # web\r\nRPA_SERVICE_DEBUG=on\r\nexport DB_HOST=\"db\"\r\nLAST=1", false},
		{"new at end", "FEATURE", "a b", "# console\r\nRPA_SERVICE_VERSION=4.1.1\r\nRPA_SERVICE_PORT=80 # web\r\nexport DB_HOST=\"db\"\r\nLAST=1\r\nFEATURE=\"a b\"", false},
		{"unset", "RPA_SERVICE_PORT", "", "# console\r\nRPA_SERVICE_VERSION=4.1.1\r\nexport DB_HOST=\"db\"\r\nLAST=1", true},
	}
	for _, c := range cases {
		f, _ := Parse(".systemconfig", []byte(in))
		sp, err := f.Set(c.key, c.value)
		if c.unset {
			sp, err = f.Unset(c.key)
		}
		if err != nil || len(sp) != 1 {
			t.Fatalf("%s: %v %v", c.name, sp, err)
		}
		if got := splice(in, sp[0].Start, sp[0].End, sp[0].New); got != c.want || in[sp[0].Start:sp[0].End] != sp[0].Old {
			t.Errorf("%s: got %q", c.name, got)
		}
	}
}
