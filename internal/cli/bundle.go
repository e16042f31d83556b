package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/encoo-tools/imgup/internal/update"
)

func newBundleCmd(env *Env) *cobra.Command {
	c := &cobra.Command{
		Use:   "bundle",
		Short: "Make, check and read signed vendor update bundles",
		Long: `A vendor update bundle is one file that carries an update: the images, the services
each goes to, the configuration changes (.systemconfig, .env, a service's environment),
release notes and the versions it applies on top of, signed by the vendor with a
minisign key. "imgup plan" and "imgup apply" take a bundle like an archive, and apply
refuses one that is unsigned or signed by a key the deployment does not trust.

The vendor, on a connected build machine:
  imgup bundle keygen vendor                      # vendor.key (secret), vendor.pub
  imgup bundle create -o fix.bundle --key vendor.key --name console-fix --version 4.1.76383 \
      --service encoo/console-web-v4-pvt=console/console-web \
      --set .systemconfig:FEATURE_X=on encoo/console-web-v4-pvt:4.1.76383

The operator, once: copy vendor.pub to <root>/.imgup/trusted/. Then for each update:
  imgup bundle verify -C /console/consolev4pvt-4.1.150431 fix.bundle
  imgup apply -C /console/consolev4pvt-4.1.150431 fix.bundle

docs/bundle.md describes the format.`,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	c.AddCommand(newKeygenCmd(env), newBundleCreateCmd(env), newBundleVerifyCmd(env), newBundleInspectCmd(env))
	return c
}

func keyPassword(file string) (string, error) {
	if file != "" {
		b, err := readConfig(file, 64<<10)
		if err != nil {
			return "", err
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return os.Getenv("IMGUP_KEY_PASSWORD"), nil
}

func newKeygenCmd(env *Env) *cobra.Command {
	var pwFile string
	c := &cobra.Command{
		Use:   "keygen NAME",
		Short: "Make a signing key pair: NAME.key (secret, keep it) and NAME.pub (give it to customers)",
		Long: `Make a minisign key pair for signing bundles: NAME.key, the secret key (mode 0600;
keep it on the build machine), and NAME.pub, the public key customers put in
<root>/.imgup/trusted/. The keys are minisign's own format: "minisign -S -s NAME.key"
signs with them and "minisign -V -p NAME.pub" verifies.

The secret key is encrypted with the password in IMGUP_KEY_PASSWORD or --password-file;
without one it is written unencrypted (as minisign -G -W does), and imgup says so.`,
		Example: `  IMGUP_KEY_PASSWORD=... imgup bundle keygen encoo-release`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := keyPassword(pwFile)
			if err != nil {
				return err
			}
			id, err := update.GenerateKey(args[0], pw)
			if err != nil {
				return err
			}
			env.tr().Fprintf(env.Stdout, "key %s: secret key %s.key, public key %s.pub\n", id, args[0], args[0])
			if pw == "" {
				env.tr().Fprintf(env.Stderr, "imgup: warning: %s.key is not encrypted (no IMGUP_KEY_PASSWORD or --password-file): keep it where only the release build can read it\n", args[0])
			}
			return nil
		},
	}
	c.Flags().StringVar(&pwFile, "password-file", "", "read the secret key's password from this file (else IMGUP_KEY_PASSWORD)")
	return c
}

type createFlags struct {
	out, name, version, key, pwFile, base, notes, notesZh string
	unsigned                                              bool
	services, set, unset, setEnv, unsetEnv, requires      []string
}

func newBundleCreateCmd(env *Env) *cobra.Command {
	var f createFlags
	c := &cobra.Command{
		Use:   "create -o FILE --name NAME --version VERSION --key KEY [flags] IMAGE|ARCHIVE...",
		Short: "Make a signed bundle from images of the local engine or from archives",
		Long: `Make one bundle file from images: references of the local Docker engine
(saved with the engine's save), or image archives in any form imgup reads. Layers are
stored once each, gzip-compressed (Engine 20.10 reads no zstd layers).

Which services get each image (the runbook's "confirm with the developers"):
  --service REPO=STACK/SERVICE[,STACK/SERVICE...]   (repeat per repository)
A repository without --service goes to every service whose image has its name.

Configuration changes, applied by imgup apply with the images, backed up and undone by
rollback like every other edit:
  --set FILE:KEY=VALUE        set a key in .systemconfig, vicode/.systemconfig or .env
  --unset FILE:KEY            remove it
  --set-env STACK/SERVICE:KEY=VALUE   set a service's environment entry in its compose file
  --unset-env STACK/SERVICE:KEY       remove it

Constraints, checked before anything changes:
  --requires REPO>=VERSION    every service using REPO runs VERSION or later
  --requires REPO=TAG         every service using REPO runs exactly TAG
  --requires FILE:KEY=VALUE   the key has this value

--base OLD.bundle makes a differential bundle: layers OLD.bundle already shipped are
left out, and apply checks that the engine has them before changing anything.`,
		Example: `  imgup bundle create -o console-4.1.76383.bundle --key encoo.key \
      --name console-fix --version 4.1.76383 --notes notes.en.md --notes-zh notes.zh.md \
      --service encoo/console-web-v4-pvt=console/console-web \
      --set-env console/console-web:LOG_LEVEL=info --requires 'encoo/console-web-v4-pvt>=4.1.70000' \
      encoo/console-web-v4-pvt:4.1.76383
  imgup bundle create -o delta.bundle --key encoo.key --name console-fix --version 4.1.76390 \
      --base console-4.1.76383.bundle image/console-web-v4-pvt-4.1.76390.tar.gz`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return createBundle(cmd.Context(), env, &f, args)
		},
	}
	fl := c.Flags()
	fl.StringVarP(&f.out, "output", "o", "", "the bundle file to write (required)")
	fl.StringVar(&f.name, "name", "", "the bundle's name (required)")
	fl.StringVar(&f.version, "version", "", "the bundle's version (required)")
	fl.StringVar(&f.key, "key", "", "the minisign secret key to sign with (password: IMGUP_KEY_PASSWORD or --password-file)")
	fl.StringVar(&f.pwFile, "password-file", "", "read the key's password from this file")
	fl.BoolVar(&f.unsigned, "unsigned", false, "write an unsigned bundle (customers must pass --allow-unsigned)")
	fl.StringVar(&f.base, "base", "", "a bundle this one builds on: its layers are left out")
	fl.StringVar(&f.notes, "notes", "", "a file with the release notes in English")
	fl.StringVar(&f.notesZh, "notes-zh", "", "a file with the release notes in Chinese")
	fl.StringArrayVar(&f.services, "service", nil, "REPO=STACK/SERVICE[,...]: the services that get REPO's image (repeat)")
	fl.StringArrayVar(&f.set, "set", nil, "FILE:KEY=VALUE: set a configuration key (repeat)")
	fl.StringArrayVar(&f.unset, "unset", nil, "FILE:KEY: remove a configuration key (repeat)")
	fl.StringArrayVar(&f.setEnv, "set-env", nil, "STACK/SERVICE:KEY=VALUE: set a service's environment entry (repeat)")
	fl.StringArrayVar(&f.unsetEnv, "unset-env", nil, "STACK/SERVICE:KEY: remove a service's environment entry (repeat)")
	fl.StringArrayVar(&f.requires, "requires", nil, "REPO>=VERSION, REPO=TAG or FILE:KEY=VALUE: what the deployment must run (repeat)")
	return c
}

func createBundle(ctx context.Context, env *Env, f *createFlags, args []string) error {
	if f.out == "" || f.name == "" || f.version == "" {
		return usageError("bundle create needs -o FILE, --name and --version")
	}
	if f.key == "" && !f.unsigned {
		return usageError("bundle create needs --key KEY to sign the bundle (or --unsigned)")
	}
	spec := update.BundleSpec{Name: f.name, Version: f.version, Out: f.out, Services: map[string][]string{}, NoteFiles: map[string]string{},
		Key: f.key, Base: f.base, Images: args}
	for _, s := range f.services {
		repo, list, ok := strings.Cut(s, "=")
		if !ok || repo == "" || list == "" {
			return usageError("--service %q: write REPO=STACK/SERVICE[,STACK/SERVICE...]", s)
		}
		spec.Services[repo] = append(spec.Services[repo], strings.Split(list, ",")...)
	}
	for _, c := range []struct {
		values       []string
		flag, format string
		env, unset   bool
	}{
		{f.set, "--set", "FILE:KEY=VALUE, e.g. .systemconfig:FEATURE_X=on", false, false},
		{f.unset, "--unset", "FILE:KEY", false, true},
		{f.setEnv, "--set-env", "STACK/SERVICE:KEY=VALUE, e.g. console/console-web:LOG_LEVEL=info", true, false},
		{f.unsetEnv, "--unset-env", "STACK/SERVICE:KEY", true, true},
	} {
		for _, s := range c.values {
			target, kv, ok := strings.Cut(s, ":")
			k, v, hasValue := strings.Cut(kv, "=")
			if c.unset {
				k, v, hasValue = kv, "", true
			}
			if !ok || !hasValue {
				return usageError("%s %q: write %s", c.flag, s, c.format)
			}
			ch := update.Change{File: target, Key: k, Value: v, Unset: c.unset}
			if c.env {
				ch = update.Change{Service: target, Env: k, Value: v, Unset: c.unset}
			}
			spec.Changes = append(spec.Changes, ch)
		}
	}
	for _, s := range f.requires {
		c, ok := update.ParseConstraint(s)
		if !ok {
			return usageError("--requires %q: write REPO>=VERSION, REPO=TAG or FILE:KEY=VALUE", s)
		}
		spec.Requires = append(spec.Requires, c)
	}
	for lang, file := range map[string]string{"en": f.notes, "zh": f.notesZh} {
		if file != "" {
			spec.NoteFiles[lang] = file
		}
	}
	if f.key != "" {
		pw, err := keyPassword(f.pwFile)
		if err != nil {
			return err
		}
		spec.KeyPassword = pw
	}
	res, err := env.service().CreateBundle(ctx, spec)
	if err != nil {
		return err
	}
	signed := "UNSIGNED"
	if res.KeyID != "" {
		signed = "signed by key " + res.KeyID
	}
	env.tr().Fprintf(env.Stdout, "wrote %s: bundle %s %s, %d image(s), %s, %s", f.out, f.name, f.version, len(res.Manifest.Images), humanSize(res.Size), signed)
	if res.Base != nil {
		env.tr().Fprintf(env.Stdout, "; differential on %s %s: %s of layers left out, %s shipped", res.Base.Name, res.Base.Version, humanSize(res.Left), humanSize(res.Shipped))
	}
	fmt.Fprintln(env.Stdout)
	return nil
}

// trustFlags choose the keys a deployment trusts.
type trustFlags struct {
	trust         []string
	allowUnsigned bool
}

func (t *trustFlags) register(c *cobra.Command) {
	c.Flags().StringArrayVar(&t.trust, "trust", nil, "a vendor's minisign public key to trust (repeat); default: <root>/.imgup/trusted/*.pub")
	c.Flags().BoolVar(&t.allowUnsigned, "allow-unsigned", false, "accept a bundle that is unsigned or signed by an untrusted key (loudly)")
}

// of is the trust of the deployment at root.
func (t *trustFlags) of(root string) update.Trust {
	return update.Trust{Root: root, Files: t.trust, AllowUnsigned: t.allowUnsigned}
}

func newBundleVerifyCmd(env *Env) *cobra.Command {
	var t trustFlags
	var dir string
	c := &cobra.Command{
		Use:   "verify [-C ROOT] [--trust KEY.pub] BUNDLE...",
		Short: "Check a bundle's signature, every blob's digest and its manifest, without the engine",
		Long: `Check a bundle completely without touching the engine or the deployment: the signature
of bundle.json against the trusted keys (<root>/.imgup/trusted/*.pub, or --trust), the
schema of bundle.json, and every blob of the file against its digest and size. Exit 1,
with one line naming the file and the problem, when anything is wrong.`,
		Example: `  imgup bundle verify -C /console/consolev4pvt-4.1.150431 image/console-4.1.76383.bundle
  imgup bundle verify --trust encoo.pub console-4.1.76383.bundle`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, p := range args {
				b, err := update.VerifyBundle(cmd.Context(), t.of(dir), p, newEventRenderer(env, false))
				if err != nil {
					return err
				}
				sig := "signature verified, key " + b.Signature.KeyID
				if !b.Signature.Verified {
					sig = "NOT verified (--allow-unsigned)"
				}
				env.tr().Fprintf(env.Stdout, "%s: bundle %s %s: %s; %d image(s), every blob matches its digest (sha256 of the file %s)\n",
					update.Safe(p), update.Safe(b.Manifest.Name), update.Safe(b.Manifest.Version), sig, b.Images, b.SHA256)
			}
			return nil
		},
	}
	c.Flags().StringVarP(&dir, "dir", "C", ".", "the deployment root whose .imgup/trusted/ holds the trusted keys")
	t.register(c)
	return c
}

func newBundleInspectCmd(env *Env) *cobra.Command {
	var t trustFlags
	var dir string
	var asJSON bool
	c := &cobra.Command{
		Use:   "inspect [--json] BUNDLE",
		Short: "Show what a bundle holds: images, services, configuration changes, notes, signer",
		Long: `Show a bundle's bundle.json: its images and the services each goes to, the
configuration changes, the constraints, the release notes, and the signer's key ID and
whether a trusted key verifies it. Only bundle.json is read; "imgup bundle verify"
checks the blobs.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// An untrusted bundle is shown anyway, saying why it is not trusted.
			res, err := update.InspectBundle(t.of(dir), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(env.Stdout, res)
			}
			printBundle(env.Stdout, res)
			return nil
		},
	}
	c.Flags().StringVarP(&dir, "dir", "C", ".", "the deployment root whose .imgup/trusted/ holds the trusted keys")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	t.register(c)
	return c
}

func printBundle(w io.Writer, r *update.BundleInfo) {
	m := r.Manifest
	fmt.Fprintf(w, "Bundle %s %s (%s)\n", update.Safe(m.Name), update.Safe(m.Version), update.Safe(filepath.Base(r.Path)))
	fmt.Fprintf(w, "   created %s, schema %s, bundle.json %s\n", m.Created, m.Schema, r.Digest)
	switch {
	case r.Signature.Verified:
		fmt.Fprintf(w, "   signed by key %s: verified (%s)\n", r.Signature.KeyID, update.Safe(r.Signature.Trusted))
	case r.Signature.KeyID != "":
		fmt.Fprintf(w, "   signed by key %s: NOT verified: %s\n", r.Signature.KeyID, update.Safe(r.Problem))
	default:
		fmt.Fprintf(w, "   NOT SIGNED\n")
	}
	if m.Base != nil {
		fmt.Fprintf(w, "   differential: builds on bundle %s %s (bundle.json %s)\n", update.Safe(m.Base.Name), update.Safe(m.Base.Version), m.Base.Manifest)
	}
	fmt.Fprintln(w, "\nImages")
	t := newTable(w)
	fmt.Fprintln(t, "   IMAGE\tIMAGE ID\tLAYERS\tSIZE\tSERVICES")
	for _, img := range m.Images {
		var size int64
		base := 0
		for _, l := range img.Layers {
			if l.InBase {
				base++
			} else {
				size += l.Size
			}
		}
		layers := fmt.Sprint(len(img.Layers))
		if base > 0 {
			layers += fmt.Sprintf(" (%d from base)", base)
		}
		svcs := strings.Join(img.Services, ", ")
		if svcs == "*" {
			svcs = "every service using " + update.Safe(strings.SplitN(img.Ref, ":", 2)[0])
		}
		fmt.Fprintf(t, "   %s\t%s\t%s\t%s\t%s\n", update.Safe(img.Ref), update.ShortID(img.Config), layers, humanSize(size), update.Safe(svcs))
	}
	t.Flush()
	if len(m.Changes) > 0 {
		fmt.Fprintln(w, "\nConfiguration changes")
		for _, c := range m.Changes {
			fmt.Fprintf(w, "   %s\n", update.Safe(changeLine(c)))
		}
	}
	if len(m.Requires) > 0 {
		fmt.Fprintln(w, "\nRequires")
		for _, c := range m.Requires {
			fmt.Fprintf(w, "   %s\n", update.Safe(c.String()))
		}
	}
	langs := make([]string, 0, len(m.Notes))
	for l := range m.Notes {
		langs = append(langs, l)
	}
	sort.Strings(langs)
	for _, l := range langs {
		fmt.Fprintf(w, "\nNotes (%s)\n", update.Safe(l))
		for _, line := range strings.Split(strings.TrimSpace(m.Notes[l]), "\n") {
			fmt.Fprintf(w, "   %s\n", update.Safe(line))
		}
	}
}

func changeLine(c update.Change) string {
	v := c.Shown()
	switch {
	case c.Service != "" && c.Unset:
		return fmt.Sprintf("%s: remove %s from the environment", c.Service, c.Env)
	case c.Service != "":
		return fmt.Sprintf("%s: environment %s=%s", c.Service, c.Env, v)
	case c.Unset:
		return fmt.Sprintf("%s: remove %s", c.File, c.Key)
	}
	return fmt.Sprintf("%s: %s=%s", c.File, c.Key, v)
}
