package gitreceiver

import (
	"strings"

	"github.com/wharfhq/wharf"
)

// The git services served; nothing else runs.
const (
	receivePack = "receive-pack"
	uploadPack  = "upload-pack"
)

// command is an SSH command that passed the allow-list.
type command struct {
	service string // receivePack or uploadPack
	app     string // a valid app name
}

var errNotAllowed = wharf.Errorf(wharf.EFORBIDDEN, "command not allowed: only git push and git fetch are served here")

// parseCommand accepts exactly `git-receive-pack '<app>'` or
// `git-upload-pack '<app>'` (also spelled `git receive-pack`), the argument
// single-quoted, double-quoted or bare, optionally with a leading "/" and a
// ".git" suffix. Anything else is errNotAllowed; a bad app name is the
// EINVALID error of wharf.ValidateAppName.
func parseCommand(raw string) (command, error) {
	words, ok := splitWords(raw)
	if !ok {
		return command{}, errNotAllowed
	}
	if len(words) == 3 && words[0] == "git" {
		words = []string{"git-" + words[1], words[2]}
	}
	if len(words) != 2 {
		return command{}, errNotAllowed
	}
	var c command
	switch words[0] {
	case "git-receive-pack":
		c.service = receivePack
	case "git-upload-pack":
		c.service = uploadPack
	default:
		return command{}, errNotAllowed
	}
	name := strings.TrimSuffix(strings.TrimPrefix(words[1], "/"), ".git")
	if err := wharf.ValidateAppName(name); err != nil {
		return command{}, err
	}
	c.app = name
	return c, nil
}

// shellMeta are the characters a bare word may not hold: a request that uses
// them is not one git sends.
const shellMeta = "'\"\\`$;&|<>(){}[]*?~!#\n\r\t "

// splitWords splits s on spaces into words that are each bare, '...' or
// "..." (no escapes, no variables: a quoted word is taken literally and may
// not contain its quote, a backslash, $ or a backquote). It reports false for
// anything else.
func splitWords(s string) ([]string, bool) {
	var words []string
	for {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			return words, true
		}
		var w string
		var ok bool
		w, s, ok = nextWord(s)
		if !ok {
			return nil, false
		}
		words = append(words, w)
	}
}

func nextWord(s string) (word, rest string, ok bool) {
	if q := s[0]; q == '\'' || q == '"' {
		end := strings.IndexByte(s[1:], q)
		if end < 0 {
			return "", "", false
		}
		word, rest = s[1:1+end], s[2+end:]
		if strings.ContainsAny(word, "\\$`\n\r") || (rest != "" && rest[0] != ' ') {
			return "", "", false
		}
		return word, rest, true
	}
	end := strings.IndexByte(s, ' ')
	if end < 0 {
		end = len(s)
	}
	word, rest = s[:end], s[end:]
	if strings.ContainsAny(word, shellMeta) {
		return "", "", false
	}
	return word, rest, true
}
