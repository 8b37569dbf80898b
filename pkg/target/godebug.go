package target

import "strings"

// WithGODEBUG is have, a GODEBUG value, with each setting of want whose
// key have does not set appended, and the keys it appended. A key that
// have sets keeps have's value: an operator's choice wins over a target's.
func WithGODEBUG(have, want string) (string, []string) {
	set := map[string]bool{}
	for f := range strings.SplitSeq(have, ",") {
		if k, _, ok := strings.Cut(f, "="); ok {
			set[k] = true
		}
	}
	var added []string
	for f := range strings.SplitSeq(want, ",") {
		k, _, ok := strings.Cut(f, "=")
		if !ok || set[k] {
			continue
		}
		set[k] = true
		added = append(added, k)
		if have != "" {
			have += ","
		}
		have += f
	}
	return have, added
}
