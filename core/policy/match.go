package policy

import (
	"strings"
	"unicode/utf8"
)

// Match reports whether s matches the IAM wildcard pattern, case-sensitively:
// '*' matches any run of characters (including '/' and the empty run), '?'
// exactly one character (a UTF-8 code point, or one byte that is not valid
// UTF-8). There is no escape. Match does not allocate.
//
// See https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html.
func Match(pattern, s string) bool {
	p := compilePattern(pattern, false)
	return p.match(s)
}

// glob matches iteratively and, on a mismatch, backtracks only to the most
// recent star: with stars that match anything, extending an earlier star can
// never succeed where extending the latest one failed, so the run time is
// O(len(pattern)*len(s)) without recursion. With fold the pattern must be
// lower-case ASCII already and s is folded byte by byte.
func glob(p, s string, fold bool) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	lit := "" // the literal run right after the latest star
	for si < len(s) {
		if pi < len(p) {
			switch c := p[pi]; c {
			case '*':
				star, mark = pi, si
				pi++
				lit = p[pi : pi+literalLen(p[pi:])]
				if !fold && lit != "" {
					// Jump straight to the next place the literal run
					// can start instead of trying every character.
					j := strings.Index(s[si:], lit)
					if j < 0 {
						return false
					}
					mark = si + j
					si, pi = mark+len(lit), pi+len(lit)
				}
				continue
			case '?':
				pi++
				si += charLen(s, si)
				continue
			default:
				b := s[si]
				if fold {
					b = lowerASCII(b)
				}
				if b == c {
					pi++
					si++
					continue
				}
			}
		}
		if star < 0 {
			return false
		}
		// Stars advance by whole characters so that a later '?' never
		// starts in the middle of a code point.
		mark += charLen(s, mark)
		si, pi = mark, star+1
		if !fold && lit != "" {
			j := strings.Index(s[mark:], lit)
			if j < 0 {
				return false
			}
			mark += j
			si, pi = mark+len(lit), pi+len(lit)
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// literalLen is the length of p's leading run without wildcards.
func literalLen(p string) int {
	for i := 0; i < len(p); i++ {
		if p[i] == '*' || p[i] == '?' {
			return i
		}
	}
	return len(p)
}

// charLen is the length of the character starting at s[i]; an invalid byte
// counts as one character, as in range loops and regexp.
func charLen(s string, i int) int {
	if s[i] < utf8.RuneSelf {
		return 1
	}
	_, n := utf8.DecodeRuneInString(s[i:])
	return n
}

func lowerASCII(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + ('a' - 'A')
	}
	return b
}

// toLowerASCII folds only ASCII letters: action names are ASCII, and folding
// Unicode could change byte lengths the matcher relies on.
func toLowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = lowerASCII(b[j])
			}
			return string(b)
		}
	}
	return s
}

// hasPrefixFold reports whether s starts with the lower-case ASCII prefix,
// folding s without allocating.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if lowerASCII(s[i]) != prefix[i] {
			return false
		}
	}
	return true
}

// patternKind lets the common shapes skip the general matcher.
type patternKind uint8

const (
	kindExact  patternKind = iota // no wildcard
	kindAny                       // only stars
	kindPrefix                    // literal followed by stars
	kindGlob                      // anything else
	kindNever                     // matches nothing (fail-closed policy variable)
)

// pattern is one precompiled Action or Resource entry.
type pattern struct {
	s    string // lower-case ASCII when fold is set; the literal part for kindPrefix
	kind patternKind
	fold bool
	// pre and suf are the lengths of kindGlob's literal head and tail,
	// checked before the general matcher runs on what lies between.
	pre, suf int
}

func compilePattern(s string, fold bool) pattern {
	if fold {
		s = toLowerASCII(s)
	}
	i := strings.IndexAny(s, "*?")
	switch {
	case i < 0:
		return pattern{s: s, kind: kindExact, fold: fold}
	case strings.Trim(s, "*") == "":
		return pattern{kind: kindAny, fold: fold}
	case strings.IndexByte(s, '?') < 0 && strings.Trim(s[i:], "*") == "":
		return pattern{s: s[:i], kind: kindPrefix, fold: fold}
	}
	j := strings.LastIndexAny(s, "*?") + 1
	return pattern{s: s, kind: kindGlob, fold: fold, pre: i, suf: len(s) - j}
}

func (p *pattern) match(s string) bool {
	switch p.kind {
	case kindExact:
		if p.fold {
			return len(s) == len(p.s) && hasPrefixFold(s, p.s)
		}
		return s == p.s
	case kindAny:
		return true
	case kindPrefix:
		if p.fold {
			return hasPrefixFold(s, p.s)
		}
		return strings.HasPrefix(s, p.s)
	case kindGlob:
		if len(s) < p.pre+p.suf {
			return false
		}
		head, tail := p.s[:p.pre], p.s[len(p.s)-p.suf:]
		if p.fold {
			if !hasPrefixFold(s, head) || !hasPrefixFold(s[len(s)-p.suf:], tail) {
				return false
			}
		} else if !strings.HasPrefix(s, head) || !strings.HasSuffix(s, tail) {
			return false
		}
		return glob(p.s[p.pre:len(p.s)-p.suf], s[p.pre:len(s)-p.suf], p.fold)
	}
	return false
}

// matchAny reports whether any pattern matches s; an empty list matches
// nothing.
func matchAny(ps []pattern, s string) bool {
	for i := range ps {
		if ps[i].match(s) {
			return true
		}
	}
	return false
}
