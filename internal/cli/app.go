package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/nexus-run/nexus/modules"
)

// App is one run of the CLI: the registry of kinds this build has and the
// process's standard streams and environment, passed in so tests can drive
// commands in-process.
type App struct {
	Registry *modules.Registry
	Stdin    io.Reader
	Stdout   io.Writer
	Stderr   io.Writer
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// Environ lists the environment; nil means os.Environ.
	Environ func() []string

	global globalFlags
}

type globalFlags struct {
	address   string
	token     string
	noColor   bool
	logLevel  string
	logFormat string
}

// exitError carries an exit code out of a command. A nil err means the
// command already told the user what happened.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// exitCode returns an error that makes Main exit with code, printing nothing more.
func exitCode(code int) error { return &exitError{code: code} }

// Main runs the CLI with args (without the program name) and returns the
// process exit code.
func Main(reg *modules.Registry, args []string) int {
	app := &App{Registry: reg, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	return app.Run(args)
}

// Run runs one command line and returns its exit code.
func (a *App) Run(args []string) int {
	root := a.rootCommand()
	root.SetArgs(normalizeArgs(root, args))
	root.SetIn(a.Stdin)
	root.SetOut(a.Stdout)
	root.SetErr(a.Stderr)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			a.printError(ee.err)
		}
		return ee.code
	}
	a.printError(err)
	if strings.HasPrefix(err.Error(), "unknown command") {
		fmt.Fprintln(a.Stderr, "Run 'nexus --help' for the list of commands.")
	}
	return 1
}

func (a *App) printError(err error) {
	fmt.Fprintf(a.Stderr, "%s %v\n", a.palette().red("Error:"), err)
}

func (a *App) getenv(k string) string {
	if a.Getenv != nil {
		return a.Getenv(k)
	}
	return os.Getenv(k)
}

func (a *App) environ() []string {
	if a.Environ != nil {
		return a.Environ()
	}
	return os.Environ()
}

// color reports whether output to w should be coloured: not with
// --no-color or NO_COLOR, and only on a terminal.
func (a *App) color(w io.Writer) bool {
	if a.global.noColor || a.getenv("NO_COLOR") != "" {
		return false
	}
	return isTerminal(w)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (a *App) palette() palette { return palette{on: a.color(a.Stderr)} }

// palette mirrors views' colouring for the CLI's own messages.
type palette struct{ on bool }

func (p palette) red(s string) string {
	if !p.on {
		return s
	}
	return "\x1b[1;31m" + s + "\x1b[0m"
}

func (p palette) green(s string) string {
	if !p.on {
		return s
	}
	return "\x1b[1;32m" + s + "\x1b[0m"
}
