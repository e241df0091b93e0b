package httpauth

import "strings"

// A challenge is one challenge of a WWW-Authenticate field (RFC 9110
// §11.6.1): a scheme and its parameters, names in lower case (they are
// case-insensitive), values unquoted. A challenge with a token68 instead
// of parameters has none.
type challenge struct {
	scheme string
	params map[string]string
}

// parseChallenges returns the challenges in the WWW-Authenticate field
// values, in order. A value may hold several, separated by commas, as may
// their parameters; a server may also send one field line per challenge.
// Parsing a value stops where it stops following the grammar: the
// challenges before that point are kept.
func parseChallenges(values []string) []challenge {
	var out []challenge
	for _, v := range values {
		out = append(out, parseChallengeList(v)...)
	}
	return out
}

func parseChallengeList(s string) []challenge {
	var out []challenge
	i := 0
	for {
		i = skipListSeparators(s, i)
		if i == len(s) {
			return out
		}
		name, j := readToken(s, i)
		if name == "" {
			return out
		}
		k := skipSpace(s, j)
		if k < len(s) && s[k] == '=' && len(out) > 0 {
			// An auth-param of the current challenge.
			value, end, ok := readParamValue(s, skipSpace(s, k+1))
			if !ok {
				return out
			}
			cur := &out[len(out)-1]
			if cur.params == nil {
				cur.params = map[string]string{}
			}
			if _, seen := cur.params[strings.ToLower(name)]; !seen {
				cur.params[strings.ToLower(name)] = value
			}
			i = end
			continue
		}
		// A new challenge: its scheme, then maybe a token68.
		out = append(out, challenge{scheme: name})
		i = k
		if k > j {
			if end, ok := readToken68(s, k); ok {
				i = end
			}
		}
	}
}

// readParamValue reads a token or a quoted-string at s[i:], and returns
// the value unquoted and where it ends.
func readParamValue(s string, i int) (string, int, bool) {
	if i < len(s) && s[i] == '"' {
		var b strings.Builder
		for j := i + 1; j < len(s); j++ {
			switch c := s[j]; c {
			case '"':
				return b.String(), j + 1, true
			case '\\':
				if j+1 == len(s) {
					return "", 0, false
				}
				j++
				b.WriteByte(s[j])
			default:
				b.WriteByte(c)
			}
		}
		return "", 0, false // no closing quote
	}
	v, j := readToken(s, i)
	return v, j, v != ""
}

// readToken68 reads a token68 at s[i:] that ends the challenge (the end
// of s or a comma follows), and returns where it ends. Anything else (a
// parameter's name and "=" followed by its value) is not one.
func readToken68(s string, i int) (int, bool) {
	j := i
	for j < len(s) && isToken68Char(s[j]) {
		j++
	}
	if j == i {
		return 0, false
	}
	for j < len(s) && s[j] == '=' {
		j++
	}
	k := skipSpace(s, j)
	return k, k == len(s) || s[k] == ','
}

func readToken(s string, i int) (string, int) {
	j := i
	for j < len(s) && isTokenChar(s[j]) {
		j++
	}
	return s[i:j], j
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

func skipListSeparators(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == ',') {
		i++
	}
	return i
}

// isTokenChar reports whether c is a tchar (RFC 9110 §5.6.2).
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// isToken68Char reports whether c may appear in a token68 before its
// trailing "=" (RFC 9110 §11.2).
func isToken68Char(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~+/", c) >= 0
}
