package fastupstream

import "github.com/valyala/fasthttp"

// Carries is carries.
func Carries(h *fasthttp.RequestHeader, drop ...string) bool { return carries(h, drop) }

// HopByHop is hopByHop, and HopByHopNames the names it is kept with.
var (
	HopByHop      = hopByHop
	HopByHopNames = hopByHopNames
)
