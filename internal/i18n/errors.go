package i18n

import (
	"errors"
	"fmt"
	"strings"
)

// Error is an error whose text can be shown in the reader's language: Error() is the
// English (what records and --json keep), In(tr) the translation. It wraps what its
// format's %w wraps, as fmt.Errorf does.
type Error struct {
	msg Message
	err error
}

// Errorf is fmt.Errorf with a translatable text.
func Errorf(format string, args ...any) error {
	return &Error{msg: Msg(format, args...), err: fmt.Errorf(format, args...)}
}

// Err is errors.New with a translatable text.
func Err(text string) error { return &Error{msg: Msg(text), err: errors.New(text)} }

func (e *Error) Error() string { return e.err.Error() }

// Unwrap returns what the format's %w wrapped.
func (e *Error) Unwrap() []error {
	switch u := e.err.(type) {
	case interface{ Unwrap() error }:
		return []error{u.Unwrap()}
	case interface{ Unwrap() []error }:
		return u.Unwrap()
	}
	return nil
}

// In is the error's text in tr's language; the errors it holds are shown in it too.
func (e *Error) In(tr *Printer) string {
	args := make([]any, len(e.msg.Args))
	for i, a := range e.msg.Args {
		if err, ok := a.(error); ok {
			args[i] = Localize(tr, err)
		} else {
			args[i] = a
		}
	}
	return fmt.Sprintf(strings.ReplaceAll(tr.T(e.msg.Format), "%w", "%v"), args...)
}

// Localized is an error type that can say itself in a language.
type Localized interface {
	error
	In(tr *Printer) string
}

// Localize is err's text in tr's language, as far as err was made translatable; the
// English for any other error.
func Localize(tr *Printer, err error) string {
	if err == nil {
		return ""
	}
	if l, ok := err.(Localized); ok && tr != nil {
		return l.In(tr)
	}
	return err.Error()
}
