//go:build goexperiment.simd && !noasm

package goloss

import "simd/archsimd"

// inUnitRange reports, with the vector kernel in use, that every value of s
// lies in [0, 1] or is NaN. false means only "look closer": a value outside
// [0, 1], or an infinite one, or no vector kernel.
func inUnitRange[T Float](s []T) bool {
	switch s := any(s).(type) {
	case []float32:
		return inUnitRangeF32(activeKernel, s)
	case []float64:
		return inUnitRangeF64(activeKernel, s)
	}
	return false
}

func inUnitRangeF32(kernel string, s []float32) bool {
	var bad bool
	i := 0
	switch kernel {
	case KernelAVX512:
		zero, one := archsimd.BroadcastFloat32x16(0), archsimd.BroadcastFloat32x16(1)
		var acc uint16
		for ; i+16 <= len(s); i += 16 {
			v := archsimd.LoadFloat32x16Slice(s[i:])
			acc |= v.Less(zero).Or(v.Greater(one)).ToBits()
		}
		bad = acc != 0
	case KernelAVX2:
		zero, one := archsimd.BroadcastFloat32x8(0), archsimd.BroadcastFloat32x8(1)
		var acc uint8
		for ; i+8 <= len(s); i += 8 {
			v := archsimd.LoadFloat32x8Slice(s[i:])
			acc |= v.Less(zero).Or(v.Greater(one)).ToBits()
		}
		bad = acc != 0
	default:
		return false
	}
	archsimd.ClearAVXUpperBits()
	for _, v := range s[i:] {
		bad = bad || v < 0 || v > 1
	}
	return !bad
}

func inUnitRangeF64(kernel string, s []float64) bool {
	var bad bool
	i := 0
	switch kernel {
	case KernelAVX512:
		zero, one := archsimd.BroadcastFloat64x8(0), archsimd.BroadcastFloat64x8(1)
		var acc uint8
		for ; i+8 <= len(s); i += 8 {
			v := archsimd.LoadFloat64x8Slice(s[i:])
			acc |= v.Less(zero).Or(v.Greater(one)).ToBits()
		}
		bad = acc != 0
	case KernelAVX2:
		zero, one := archsimd.BroadcastFloat64x4(0), archsimd.BroadcastFloat64x4(1)
		var acc uint8
		for ; i+4 <= len(s); i += 4 {
			v := archsimd.LoadFloat64x4Slice(s[i:])
			acc |= v.Less(zero).Or(v.Greater(one)).ToBits()
		}
		bad = acc != 0
	default:
		return false
	}
	archsimd.ClearAVXUpperBits()
	for _, v := range s[i:] {
		bad = bad || v < 0 || v > 1
	}
	return !bad
}
