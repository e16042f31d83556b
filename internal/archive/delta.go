package archive

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// v1LayerPresent tells whether the layer in a classic docker-save folder is one the
// engine has. The folder's name is the layer's v1 ID, which docker save computes as the
// sha256 of the folder's json with its id removed, the layer's chain ID added as
// "layer_id" and the parent's v1 ID as "parent" (moby image/v1.CreateID); save adds "os"
// after computing it for every layer but the top one. So trying each chain ID the
// engine has tells, before the layer's bytes arrive, whether the engine has it; no
// match means "send it".
func v1LayerPresent(v1ID string, raw []byte, chains map[string]bool) bool {
	_, ok := V1LayerChain(v1ID, raw, chains)
	return ok
}

// V1LayerChain is the chain ID, among chains, of the layer in a classic docker-save
// folder named v1ID whose json is raw; ok is false when none matches. A containerd node
// store uses it to learn, before the layer's bytes stream, which diffID they have.
func V1LayerChain(v1ID string, raw []byte, chains map[string]bool) (chain string, ok bool) {
	if len(v1ID) != 64 || len(chains) == 0 {
		return "", false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", false
	}
	delete(m, "id")
	if p, ok := m["parent"]; ok {
		var hexID string
		if json.Unmarshal(p, &hexID) != nil {
			return "", false
		}
		m["parent"], _ = json.Marshal("sha256:" + hexID)
	}
	want, err := hex.DecodeString(v1ID)
	if err != nil {
		return "", false
	}
	const mark = "imgup-layer-id-placeholder"
	var forms [][2][]byte
	for _, withOS := range []bool{true, false} {
		c := make(map[string]json.RawMessage, len(m)+1)
		for k, v := range m {
			if k != "os" || withOS {
				c[k] = v
			}
		}
		c["layer_id"], _ = json.Marshal(mark)
		b, err := json.Marshal(c)
		if err != nil {
			return "", false
		}
		i := bytes.Index(b, []byte(`"`+mark+`"`))
		if i < 0 {
			return "", false
		}
		forms = append(forms, [2][]byte{b[:i], b[i+len(mark)+2:]})
		if _, hasOS := m["os"]; !hasOS {
			break
		}
	}
	h := sha256.New()
	var sum [sha256.Size]byte
	for chain := range chains {
		for _, f := range forms {
			h.Reset()
			h.Write(f[0])
			h.Write([]byte(`"` + chain + `"`))
			h.Write(f[1])
			if bytes.Equal(h.Sum(sum[:0]), want) {
				return chain, true
			}
		}
	}
	return "", false
}
