// Command package builds imgup's offline install packages: a .deb and an .rpm for each
// architecture (amd64 and arm64 by default), each holding the static binary as
// /usr/bin/imgup, bash and zsh completion, man pages generated from the command tree,
// and the English and Chinese READMEs under /usr/share/doc/imgup. It uses nfpm as a
// library; nothing is downloaded but Go modules.
//
//	go run ./scripts/package [-out dist] [-arch amd64,arm64] [-version v1.2.3]
//
// The version is -version, else IMGUP_VERSION, else `git describe --tags`, else
// 0.0.0-dev.<commit>: never a constant in the code. It is stamped into the binary
// (imgup version) with -ldflags -X.
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb"
	_ "github.com/goreleaser/nfpm/v2/rpm"
	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
	"github.com/spf13/pflag"

	"github.com/encoo-tools/imgup/internal/cli"
)

func main() {
	out := flag.String("out", "dist", "where the packages go")
	arches := flag.String("arch", "amd64,arm64", "architectures, comma-separated")
	version := flag.String("version", os.Getenv("IMGUP_VERSION"), "the version (default: git describe --tags)")
	flag.Parse()
	if err := run(*out, strings.Split(*arches, ","), *version); err != nil {
		fmt.Fprintf(os.Stderr, "package: %v\n", err)
		os.Exit(1)
	}
}

func run(out string, arches []string, version string) error {
	if version == "" {
		version = gitVersion()
	}
	// One version string everywhere: the binary says what dpkg and rpm say.
	version = packageVersion(version)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "imgup-package-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	// Man pages and completions come from the command tree itself.
	man := filepath.Join(work, "man")
	os.MkdirAll(man, 0o755)
	root := cli.NewRootCmd(&cli.Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard})
	root.DisableAutoGenTag = true
	manSafe(root)
	hdr := &doc.GenManHeader{Title: "IMGUP", Section: "1", Source: "imgup " + version, Manual: "imgup manual", Date: commitTime()}
	if err := doc.GenManTree(root, hdr, man); err != nil {
		return fmt.Errorf("man pages: %w", err)
	}
	pages, _ := filepath.Glob(filepath.Join(man, "*.1"))
	// The same pages in Chinese (man -L zh_CN imgup), from the tree in Chinese.
	manZH := filepath.Join(work, "man-zh")
	os.MkdirAll(manZH, 0o755)
	rootZH := cli.NewRootCmd(&cli.Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard, Lang: "zh"})
	rootZH.DisableAutoGenTag = true
	manSafe(rootZH)
	hdrZH := &doc.GenManHeader{Title: "IMGUP", Section: "1", Source: "imgup " + version, Manual: "imgup 手册", Date: commitTime()}
	if err := doc.GenManTree(rootZH, hdrZH, manZH); err != nil {
		return fmt.Errorf("man pages in Chinese: %w", err)
	}
	pagesZH, _ := filepath.Glob(filepath.Join(manZH, "*.1"))
	for _, p := range append(append([]string{}, pages...), pagesZH...) {
		if err := gzipFile(p); err != nil {
			return err
		}
	}
	var bash, zsh bytes.Buffer
	if err := root.GenBashCompletionV2(&bash, true); err != nil {
		return err
	}
	if err := root.GenZshCompletion(&zsh); err != nil {
		return err
	}
	os.WriteFile(filepath.Join(work, "imgup.bash"), bash.Bytes(), 0o644)
	os.WriteFile(filepath.Join(work, "_imgup"), zsh.Bytes(), 0o644)
	for _, arch := range arches {
		bin := filepath.Join(work, arch, "imgup")
		build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X github.com/encoo-tools/imgup/internal/cli.Version="+version, "-o", bin, "./cmd/imgup")
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building for %s: %w", arch, err)
		}
		for _, format := range []string{"deb", "rpm"} {
			p, err := pack(format, arch, version, bin, work, pages, pagesZH, out)
			if err != nil {
				return fmt.Errorf("%s for %s: %w", format, arch, err)
			}
			st, _ := os.Stat(p)
			fmt.Printf("%s  %.1f MB\n", p, float64(st.Size())/1e6)
		}
	}
	return nil
}

func pack(format, arch, version, bin, work string, pages, pagesZH []string, out string) (string, error) {
	var contents strings.Builder
	add := func(src, dst string, mode os.FileMode) {
		fmt.Fprintf(&contents, "  - src: %q\n    dst: %q\n    file_info:\n      mode: 0%o\n", src, dst, mode)
	}
	add(bin, "/usr/bin/imgup", 0o755)
	add(filepath.Join(work, "imgup.bash"), "/usr/share/bash-completion/completions/imgup", 0o644)
	add(filepath.Join(work, "_imgup"), "/usr/share/zsh/vendor-completions/_imgup", 0o644)
	for _, p := range pages {
		add(p+".gz", "/usr/share/man/man1/"+filepath.Base(p)+".gz", 0o644)
	}
	for _, p := range pagesZH {
		add(p+".gz", "/usr/share/man/zh_CN/man1/"+filepath.Base(p)+".gz", 0o644)
	}
	add("README.md", "/usr/share/doc/imgup/README.md", 0o644)
	add("README.zh.md", "/usr/share/doc/imgup/README.zh.md", 0o644)
	cfg := fmt.Sprintf(`name: imgup
arch: %s
platform: linux
version: %q
version_schema: none
section: admin
priority: optional
maintainer: "imgup maintainers <imgup@encoo-tools.invalid>"
description: |
  Update the service images of an offline docker-compose deployment
  from image archives: load, edit .systemconfig and the compose files,
  restart, verify, and undo on failure. One static binary.
vendor: encoo-tools
homepage: https://github.com/encoo-tools/imgup
recommends:
  - docker.io
  - bash-completion
  - gawk
suggests:
  - docker-compose
contents:
%s`, arch, version, contents.String())
	conf, err := nfpm.Parse(strings.NewReader(cfg))
	if err != nil {
		return "", err
	}
	info, err := conf.Get(format)
	if err != nil {
		return "", err
	}
	info = nfpm.WithDefaults(info)
	if err := nfpm.PrepareForPackager(info, format); err != nil {
		return "", err
	}
	pk, err := nfpm.Get(format)
	if err != nil {
		return "", err
	}
	name := filepath.Join(out, pk.ConventionalFileName(info))
	f, err := os.Create(name)
	if err != nil {
		return "", err
	}
	if err := pk.Package(info, f); err != nil {
		f.Close()
		return "", err
	}
	return name, f.Close()
}

// placeholder is a <word> in help text: the man page converter takes it for an HTML
// tag and drops it (<root>/.imgup/history/<id>/ became /.imgup/history//).
var placeholder = regexp.MustCompile(`<([a-z][a-z-]*)>`)

// manSafe writes every <word> of the tree's help as WORD, as man pages write a
// placeholder.
func manSafe(c *cobra.Command) {
	up := func(s string) string {
		return placeholder.ReplaceAllStringFunc(s, func(m string) string { return strings.ToUpper(m[1 : len(m)-1]) })
	}
	c.Long, c.Short, c.Example = up(c.Long), up(c.Short), up(c.Example)
	c.Flags().VisitAll(func(f *pflag.Flag) { f.Usage = up(f.Usage) })
	c.PersistentFlags().VisitAll(func(f *pflag.Flag) { f.Usage = up(f.Usage) })
	for _, sub := range c.Commands() {
		manSafe(sub)
	}
}

// packageVersion is a version as dpkg and rpm sort it: no leading v, and a pre-release
// after ~ (v1.2.3-rc.1 -> 1.2.3~rc.1, which sorts before 1.2.3 in both).
func packageVersion(v string) string {
	v = strings.TrimPrefix(v, "v")
	if core, pre, ok := strings.Cut(v, "-"); ok {
		v = core + "~" + strings.ReplaceAll(pre, "-", ".")
	}
	return v
}

// gitVersion is the version git describes: the newest v* tag, with the commits since
// and the commit as a pre-release; 0.0.0-dev.<commit> without a tag.
func gitVersion() string {
	if b, err := exec.Command("git", "describe", "--tags", "--match", "v[0-9]*", "--dirty").Output(); err == nil {
		v := strings.TrimSpace(string(b))
		// v1.2.3-4-gabcdef -> v1.2.3-dev.4.gabcdef (a pre-release of the next tag would be
		// more exact; this sorts after v1.2.3 in neither deb nor rpm, so say so plainly).
		if parts := strings.SplitN(v, "-", 2); len(parts) == 2 {
			return parts[0] + "-dev." + strings.ReplaceAll(parts[1], "-", ".")
		}
		return v
	}
	sha := "unknown"
	if b, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output(); err == nil {
		sha = strings.TrimSpace(string(b))
	}
	return "v0.0.0-dev." + sha
}

// commitTime dates the man pages by the commit, so that a rebuild is the same.
func commitTime() *time.Time {
	t := time.Now()
	if b, err := exec.Command("git", "log", "-1", "--format=%ct").Output(); err == nil {
		var sec int64
		if _, err := fmt.Sscan(string(b), &sec); err == nil {
			t = time.Unix(sec, 0)
		}
	}
	return &t
}

func gzipFile(p string) error {
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return os.WriteFile(p+".gz", buf.Bytes(), 0o644)
}
