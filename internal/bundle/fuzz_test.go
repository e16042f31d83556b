package bundle

import "testing"

// FuzzParseManifest: whatever bundle.json holds, ParseManifest returns an error or a
// manifest that passes its own checks; it never panics.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"schema":"imgup.bundle/v1","name":"x","version":"1","index":{"digest":"sha256:` + zeros + `","size":1},"images":[],"blobs":[]}`))
	f.Add([]byte(`{"schema":"imgup.bundle/v1","changes":[{"file":"../.env","key":"A"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err == nil && (m.Name == "" || len(m.Images) == 0) {
			t.Fatalf("accepted a manifest without name or images: %s", b)
		}
	})
}

const zeros = "0000000000000000000000000000000000000000000000000000000000000000"
