package main

import (
	"github.com/mmcloughlin/avo/reg"
)

// powLoops8 is w8.powLoops (vec_rows.go) for the AVX2-only kernels, whose
// loop bodies take the tail mask as the vector register it is on AVX2.
func powLoops8(name string, kinds []string, n reg.Register, begin func(kind string) (off reg.Register, body func(string, reg.VecVirtual), next func()), flush func()) {
	w8.powLoops(name, kinds, n, func(kind string) (reg.Register, func(string, reg.Register), func()) {
		off, body, next := begin(kind)
		return off, func(prefix string, tail reg.Register) {
			var t reg.VecVirtual
			if tail != nil {
				t = tail.(reg.VecVirtual)
			}
			body(prefix, t)
		}, next
	}, flush)
}
