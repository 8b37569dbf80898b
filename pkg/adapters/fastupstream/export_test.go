package fastupstream

import "github.com/valyala/fasthttp"

// MayCarry is mayCarry for one list of names.
func MayCarry(h *fasthttp.RequestHeader, names ...string) bool {
	return mayCarry(h, lengthsOf(names), names)
}
