package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"

	"syscall"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/update"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Exit codes, documented in the README and in `imgup --help`.
const (
	ExitOK         = 0 // done, or nothing to do
	ExitFailed     = 1 // failed before any change
	ExitUsage      = 2 // the command line is wrong
	ExitRolledBack = 3 // failed after changes, and every change was undone
	ExitBroken     = 4 // failed and could not restore: operator action needed
	ExitInterrupt  = 130
)

const exitCodesHelp = `Exit codes:
  0  done, or nothing to do
  1  failed before any change (bad archive, bad deployment, engine unreachable, another
     imgup at work); for status: the deployment has drifted
  2  usage: the command line is wrong, or apply refuses a restart that would stop (a
     prompt no one answers, a pull with no registry): choose another restart
  3  failed after changes; every change was undone
  4  failed and could not restore, or --no-rollback: operator action needed (the message says what)
  130  interrupted (Ctrl-C): what was changed is undone first`

// Version is set at build time with -ldflags "-X .../internal/cli.Version=v1.2.3".
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
	}
	return "dev"
}

// Env is what a command may touch of the outside world. Tests build their own.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Environ is the environment imgup works in ("KEY=VALUE": DOCKER_HOST chooses the
	// engine, the restart runs with it); nil is this process's.
	Environ []string
	// Service, when set, is the update service to use (tests give one with a fake
	// engine); nil is the real one.
	Service *update.Service
	// Terminal tells whether stdin and stderr are terminals (questions, progress bars).
	StdinTTY, StderrTTY bool
	// Columns is the width of the terminal stdout is (0: not a terminal, no limit):
	// tables are fitted to it.
	Columns int
	// Lang is the language of what the operator reads (i18n.English or i18n.Chinese;
	// "" is English); --lang overrides it. Main takes it from LC_ALL, LC_MESSAGES, LANG.
	Lang    string
	printer *i18n.Printer
}

// tr is the printer of the command's language.
func (e *Env) tr() *i18n.Printer {
	if e.printer == nil {
		e.printer = i18n.New(e.Lang)
	}
	return e.printer
}

// exitError carries an exit code with the error to print.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

// In is the error in tr's language.
func (e *exitError) In(tr *i18n.Printer) string { return i18n.Localize(tr, e.err) }
func (e *exitError) Unwrap() error              { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

func usageError(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: i18n.Errorf(format, args...)}
}

// Main runs imgup with the process's arguments and returns its exit code.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	lang, _ := i18n.Detect("", os.Getenv)
	env := &Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		StdinTTY: isTerminal(os.Stdin), StderrTTY: isTerminal(os.Stderr), Columns: columns(os.Stdout), Lang: lang}
	args := os.Args[1:]
	if strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe") == PluginName {
		rest, host, code, done := pluginMain(args)
		if done {
			return code
		}
		args = rest
		if host != "" {
			// The engine client and the compose imgup runs both take DOCKER_HOST.
			env.Environ = append(os.Environ(), "DOCKER_HOST="+host)
		}
	}
	return Run(ctx, env, args)
}

// Run runs one command line and returns the exit code, printing any error once.
func Run(ctx context.Context, env *Env, args []string) int {
	if flag, ok := langFlag(args); ok {
		lang, err := i18n.Detect(flag, func(string) string { return "" })
		if err != nil {
			fmt.Fprintf(env.Stderr, "imgup: %v\n", err)
			return ExitUsage
		}
		env.Lang, env.printer = lang, nil
	}
	root := NewRootCmd(env)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	// One line, whatever an archive or a file put into the message.
	fmt.Fprintf(env.Stderr, "imgup: %s\n", update.Safe(i18n.Localize(env.tr(), err)))
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return ExitInterrupt
	}
	return ExitFailed
}

// columns is the width of the terminal f is, or COLUMNS when set; 0 when f is no
// terminal (a pipe or a file gets every column).
func columns(f *os.File) int {
	if !isTerminal(f) {
		return 0
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil && ws.Col > 0 {
		return int(ws.Col)
	}
	return 0
}

// isTerminal reports whether f is a terminal: a character device that answers the
// terminal ioctl (/dev/null is a character device, and no terminal to ask on).
func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// NewRootCmd builds the command tree; it holds no global state.
func NewRootCmd(env *Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "imgup",
		Short: "Update the service images of an offline docker-compose deployment from image archives",
		Long: `imgup does the vendor's "update service images" runbook in one command:

  1. load the image archives into Docker (docker load), streaming, no unpacking
  2. change the image version in .systemconfig
  3. change image: in the compose files (only the tag characters change)
  4. restart (./deploy.sh restart)
  5. check that the updated services run the new images (docker ps -a)

It shows its plan before it acts, and touches only what must change.

` + exitCodesHelp,
		SilenceErrors:              true,
		SilenceUsage:               true,
		CompletionOptions:          cobra.CompletionOptions{HiddenDefaultCmd: true},
		SuggestionsMinimumDistance: 2,
		// With Args set, cobra hands an unknown command to this check instead of
		// returning an untyped error: it becomes a usage error (exit 2).
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
					return usageError("unknown command %q for %q: did you mean %s? (see 'imgup --help')", args[0], cmd.CommandPath(), strings.Join(s, ", "))
				}
				return usageError("unknown command %q for %q (see 'imgup --help')", args[0], cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	var lang string
	root.PersistentFlags().StringVar(&lang, "lang", "", "the language of what imgup prints: en or zh (default: from LC_ALL, LC_MESSAGES or LANG)")
	root.RegisterFlagCompletionFunc("lang", fixedCompletion(i18n.English, i18n.Chinese))
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError("%v (see '%s --help')", cobraError(err), c.CommandPath())
	})
	root.AddCommand(newVersionCmd(env), newInspectCmd(env), newLoadCmd(env), newBundleCmd(env), newServeCmd(env))
	addPlanCommands(root, env)
	var wrap func(cs []*cobra.Command)
	wrap = func(cs []*cobra.Command) {
		for _, c := range cs {
			if c.Args == nil {
				c.Args = cobra.NoArgs
			}
			wrapArgs(c)
			wrap(c.Commands())
		}
	}
	wrap(root.Commands())
	if env.tr().Lang() == i18n.Chinese {
		localizeHelp(root)
	}
	return root
}

// langFlag finds --lang among the arguments before cobra parses them: the help texts
// must be in the language before cobra prints any.
func langFlag(args []string) (string, bool) {
	for i, a := range args {
		if a == "--" {
			break
		}
		if v, ok := strings.CutPrefix(a, "--lang="); ok {
			return v, true
		}
		if a == "--lang" && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

// localizeHelp puts the command tree's help texts in Chinese.
func localizeHelp(root *cobra.Command) {
	root.InitDefaultHelpCmd()
	root.InitDefaultHelpFlag()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		path := c.CommandPath()
		if zh, ok := zhShort[path]; ok {
			c.Short = zh
		}
		if zh, ok := zhLong[path]; ok {
			if strings.HasSuffix(c.Long, exitCodesHelp) {
				zh += exitCodesHelpZH
			}
			c.Long = zh
		}
		c.InitDefaultHelpFlag()
		for _, fs := range []*pflag.FlagSet{c.LocalFlags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				if zh, ok := zhFlag[f.Usage]; ok {
					f.Usage = zh
				} else if f.Usage == update.RestartHelp(i18n.EN) {
					f.Usage = update.RestartHelp(i18n.New(i18n.Chinese))
				} else if name, ok := strings.CutPrefix(f.Usage, "help for "); ok {
					f.Usage = "显示 " + name + " 的帮助"
				}
			})
		}
		c.SetUsageTemplate(zhUsageTemplate)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// cobra's and pflag's own messages, made translatable: the English stays as they say it.
var cobraMessages = []struct {
	re  *regexp.Regexp
	msg i18n.Message
}{
	{regexp.MustCompile(`^requires at least (\d+) arg\(s\), only received (\d+)$`), i18n.Msg("requires at least %s arg(s), only received %s")},
	{regexp.MustCompile(`^accepts at most (\d+) arg\(s\), received (\d+)$`), i18n.Msg("accepts at most %s arg(s), received %s")},
	{regexp.MustCompile(`^accepts (\d+) arg\(s\), received (\d+)$`), i18n.Msg("accepts %s arg(s), received %s")},
	{regexp.MustCompile(`^unknown flag: (\S+)$`), i18n.Msg("unknown flag: %s")},
	{regexp.MustCompile(`^unknown shorthand flag: '(.)' in (\S+)$`), i18n.Msg("unknown shorthand flag: '%s' in %s")},
	{regexp.MustCompile(`^flag needs an argument: (.+)$`), i18n.Msg("flag needs an argument: %s")},
	{regexp.MustCompile(`^invalid argument "(.*)" for "(.*)" flag: (.*)$`), i18n.Msg("invalid argument %q for %q flag: %s")},
}

// cobraError is err in a translatable form when it is one of cobra's known messages.
func cobraError(err error) error {
	for _, m := range cobraMessages {
		if sm := m.re.FindStringSubmatch(err.Error()); sm != nil {
			args := make([]any, len(sm)-1)
			for i, a := range sm[1:] {
				args[i] = a
			}
			return i18n.Errorf(m.msg.Format, args...)
		}
	}
	return err
}

// wrapArgs makes argument-count errors usage errors (exit 2).
func wrapArgs(c *cobra.Command) {
	check := c.Args
	c.Args = func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError("%v (see '%s --help')", cobraError(err), cmd.CommandPath())
		}
		return nil
	}
}

func newVersionCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print imgup's version",
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintf(env.Stdout, "imgup %s\n", version())
			return nil
		},
	}
}
