package audit

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// sanitize returns a copy of r that JSON round-trips exactly: invalid UTF-8
// becomes U+FFFD (which encoding/json would write anyway), and a Details key
// that then collides with another gets a "#2", "#3"... suffix instead of
// silently replacing it. The copy shares nothing with the caller's record,
// so the caller may reuse its Details map as soon as Append returns.
func sanitize(r Record) Record {
	for _, s := range []*string{&r.Type, &r.Principal, &r.RequestID, &r.Outcome, &r.Module} {
		*s = validUTF8(*s)
	}
	r.Hash = ""
	if len(r.Details) == 0 {
		r.Details = nil
		return r
	}
	d := make(map[string]string, len(r.Details))
	keys := slices.Sorted(maps.Keys(r.Details))
	for _, k := range keys {
		v := validUTF8(r.Details[k])
		vk := validUTF8(k)
		if _, taken := d[vk]; taken {
			for i := 2; ; i++ {
				if alt := fmt.Sprintf("%s#%d", vk, i); !hasKey(d, alt) && !hasKey(r.Details, alt) {
					vk = alt
					break
				}
			}
		}
		d[vk] = v
	}
	r.Details = d
	return r
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
