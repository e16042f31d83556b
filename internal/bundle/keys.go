package bundle

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"aead.dev/minisign"
	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/readfile"
)

// KeyID is how minisign shows a key's ID: 16 upper-case hex digits.
func KeyID(id uint64) string { return fmt.Sprintf("%016X", id) }

// GenerateKey writes a new key pair: NAME.key (the secret key, 0600; encrypted when
// password is not empty, as minisign -G does) and NAME.pub. It refuses to overwrite.
func GenerateKey(name, password string) (pub string, err error) {
	pk, sk, err := minisign.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	var skText []byte
	if password != "" {
		skText, err = minisign.EncryptKey(password, sk)
	} else {
		skText, err = sk.MarshalText()
	}
	if err != nil {
		return "", err
	}
	pkText, err := pk.MarshalText()
	if err != nil {
		return "", err
	}
	for _, f := range []string{name + ".key", name + ".pub"} {
		if _, err := os.Lstat(f); err == nil {
			return "", i18n.Errorf("%s exists already: imgup does not overwrite a key", f)
		}
	}
	if err := writeNew(name+".key", append(skText, '\n'), 0o600); err != nil {
		return "", err
	}
	if err := writeNew(name+".pub", append(pkText, '\n'), 0o644); err != nil {
		return "", err
	}
	return KeyID(pk.ID()), nil
}

func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// LoadKey reads a minisign secret key (imgup's or minisign -G's), decrypting it with
// password when it is encrypted.
func LoadKey(path, password string) (minisign.PrivateKey, error) {
	b, err := readfile.Read(path, 1<<20)
	if err != nil {
		return minisign.PrivateKey{}, err
	}
	if minisign.IsEncrypted(b) {
		if password == "" {
			return minisign.PrivateKey{}, i18n.Errorf("%s is encrypted: give its password in IMGUP_KEY_PASSWORD or with --password-file", path)
		}
		k, err := minisign.DecryptKey(password, b)
		if err != nil {
			return k, i18n.Errorf("%s: %v (wrong password?)", path, err)
		}
		return k, nil
	}
	var k minisign.PrivateKey
	if err := k.UnmarshalText(b); err != nil {
		return k, i18n.Errorf("%s: %v", path, err)
	}
	return k, nil
}

// sign signs bundle.json as minisign -S does (pre-hashed, with a trusted comment).
func sign(key minisign.PrivateKey, manifest []byte, m *Manifest) []byte {
	r := minisign.NewReader(bytes.NewReader(manifest))
	buf := make([]byte, 32<<10)
	for {
		if _, err := r.Read(buf); err != nil {
			break
		}
	}
	trusted := fmt.Sprintf("imgup bundle %s %s", strconv.Quote(m.Name), strconv.Quote(m.Version))
	return r.SignWithComments(key, trusted, "signature from imgup secret key "+KeyID(key.ID()))
}

// Trust is the set of public keys a deployment accepts bundles from.
type Trust struct {
	Keys []minisign.PublicKey
	// From names where the keys were read, for messages.
	From string
}

// TrustedDir is where a deployment keeps the vendor keys it trusts.
func TrustedDir(root string) string { return filepath.Join(root, ".imgup", "trusted") }

// LoadTrust reads the trusted keys: the files given, or else every *.pub in the
// deployment's trust store. No key is no error: a signed bundle is then refused.
func LoadTrust(root string, files []string) (*Trust, error) {
	t := &Trust{From: strings.Join(files, ", ")}
	if len(files) == 0 {
		dir := TrustedDir(root)
		t.From = dir
		ents, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".pub") && e.Type().IsRegular() {
				files = append(files, filepath.Join(dir, e.Name()))
			}
		}
		sort.Strings(files)
	}
	for _, f := range files {
		b, err := readfile.Read(f, 1<<20)
		if err != nil {
			return nil, err
		}
		var k minisign.PublicKey
		if err := k.UnmarshalText(bytes.TrimSpace(b)); err != nil {
			return nil, i18n.Errorf("%s: not a minisign public key: %v", f, err)
		}
		t.Keys = append(t.Keys, k)
	}
	return t, nil
}

// Signature is what the bundle's signature says, once checked.
type Signature struct {
	// KeyID is the signer's key ID ("" for an unsigned bundle).
	KeyID string `json:"key_id,omitempty"`
	// Trusted is the signature's trusted comment.
	Trusted string `json:"trusted_comment,omitempty"`
	// Verified is set when a trusted key verified the signature.
	Verified bool `json:"verified"`
}

// ErrUnsigned is a bundle without a signature, or one no trusted key verifies.
var ErrUnsigned = i18n.Err("so it is not verified, and refused (--allow-unsigned accepts it with a warning)")

// verifySig checks sig over manifest with the trusted keys.
func verifySig(manifest, sig []byte, t *Trust) (Signature, error) {
	if len(sig) == 0 {
		return Signature{}, i18n.Errorf("the bundle is not signed: %w", ErrUnsigned)
	}
	var s minisign.Signature
	if err := s.UnmarshalText(sig); err != nil {
		return Signature{}, i18n.Errorf("bundle.json.minisig is not a minisign signature: %v", err)
	}
	out := Signature{KeyID: KeyID(s.KeyID), Trusted: s.TrustedComment}
	if t == nil || len(t.Keys) == 0 {
		return out, i18n.Errorf("the bundle is signed by key %s, and no key is trusted here (put the vendor's .pub in %s, or give --trust FILE): %w", out.KeyID, t.fromOr(), ErrUnsigned)
	}
	for _, k := range t.Keys {
		if k.ID() != s.KeyID {
			continue
		}
		if !minisign.Verify(k, manifest, sig) {
			return out, i18n.Errorf("the signature by key %s does not match bundle.json: the bundle was altered after it was signed", out.KeyID)
		}
		out.Verified = true
		return out, nil
	}
	return out, i18n.Errorf("the bundle is signed by key %s, which is not trusted here (trusted: %s from %s): %w", out.KeyID, t.ids(), t.fromOr(), ErrUnsigned)
}

func (t *Trust) fromOr() string {
	if t == nil || t.From == "" {
		return "<root>/.imgup/trusted/"
	}
	return t.From
}

func (t *Trust) ids() string {
	var s []string
	for _, k := range t.Keys {
		s = append(s, KeyID(k.ID()))
	}
	return strings.Join(s, ", ")
}
