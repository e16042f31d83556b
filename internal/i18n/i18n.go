// Package i18n gives imgup's operator-facing text in English or Chinese. Text is
// written in English in the code, as the format passed to a Printer; the Chinese
// catalog (zh.go, zh_errors.go) maps each English format to its translation, and
// fmt formats it. A format without a translation prints in English.
//
// golang.org/x/text gives the language tags and Accept-Language parsing. Its message
// catalogs are not used: their message syntax reads ${...} as a substitution, which
// clashes with the compose variables imgup's messages quote, and its printer groups
// digits ("line 1,234"), which would change numbers operators copy.
//
// Machine output never passes through a Printer: --json keys and values, exit codes
// and record files are the same in every language.
//
// By convention a *Printer variable is named tr; a test finds every tr.Sprintf,
// tr.Fprintf and tr.T with a literal format and checks that the catalog translates it,
// with the same verbs.
package i18n

import (
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/language"
)

// Languages imgup speaks.
const (
	English = "en"
	Chinese = "zh"
)

// Printer prints in one language.
type Printer struct {
	lang string
}

// New returns a printer for lang (English or Chinese; anything else is English).
func New(lang string) *Printer {
	if lang != Chinese {
		lang = English
	}
	return &Printer{lang: lang}
}

// EN is the English printer.
var EN = New(English)

// Lang is the printer's language.
func (tr *Printer) Lang() string { return tr.lang }

// Sprintf formats the translation of format.
// An argument that is itself a Message is said in tr's language too.
func (tr *Printer) Sprintf(format string, args ...any) string {
	copied := false
	for i, a := range args {
		if m, ok := a.(Message); ok {
			if !copied {
				args, copied = append([]any(nil), args...), true
			}
			args[i] = m.In(tr)
		}
	}
	return fmt.Sprintf(tr.T(format), args...)
}

// Fprintf writes the translation of format.
func (tr *Printer) Fprintf(w io.Writer, format string, args ...any) (int, error) {
	return io.WriteString(w, tr.Sprintf(format, args...))
}

// T translates a text that holds no verbs; a text the catalog lacks is returned as it is.
func (tr *Printer) T(s string) string {
	if tr == nil || tr.lang == English {
		return s
	}
	if zh, ok := zhCatalog[s]; ok {
		return zh
	}
	return s
}

// Has says whether the catalog translates s.
func Has(s string) bool {
	_, ok := zhCatalog[s]
	return ok
}

// Detect picks the language: the --lang flag when given, else the first of LC_ALL,
// LC_MESSAGES and LANG that is set (POSIX order); Chinese when it starts with zh.
func Detect(flag string, getenv func(string) string) (string, error) {
	switch strings.ToLower(flag) {
	case "":
	case "zh", "zh_cn", "zh-cn", "chinese", "cn":
		return Chinese, nil
	case "en", "english", "c", "posix":
		return English, nil
	default:
		return English, fmt.Errorf("--lang %q: imgup speaks en and zh", flag)
	}
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := getenv(k); v != "" {
			if strings.HasPrefix(strings.ToLower(v), "zh") {
				return Chinese, nil
			}
			return English, nil
		}
	}
	return English, nil
}

// FromAcceptLanguage picks the language of an HTTP Accept-Language header.
func FromAcceptLanguage(h string) string {
	tags, _, err := language.ParseAcceptLanguage(h)
	if err != nil {
		return English
	}
	for _, t := range tags {
		base, _ := t.Base()
		switch base.String() {
		case "zh":
			return Chinese
		case "en":
			return English
		}
	}
	return English
}

// Message is a text to show later in the reader's language: its English format and
// arguments. Data that is also machine output (a finding's message in --json) keeps
// String(), the English; a front end shows In(tr).
type Message struct {
	Format string
	Args   []any
}

// Msg makes a Message.
func Msg(format string, args ...any) Message { return Message{Format: format, Args: args} }

// String is the message in English.
func (m Message) String() string { return fmt.Sprintf(m.Format, m.Args...) }

// In is the message in tr's language.
func (m Message) In(tr *Printer) string { return tr.Sprintf(m.Format, m.Args...) }
