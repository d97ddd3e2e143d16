//go:build !amd64 || noasm

package goloss

// This build has no vector kernels (another architecture, or the noasm
// tag): the portable rows do all the work.

// hasAsm says whether this build has the vector kernels of amd64.
const hasAsm = false

func cpuKernels() []string { return nil }

func seedRowsF64(string, []float64, []float64, []float64, []float64, []float64, int, *seedConstants) bool {
	return false
}

func seedRowsF32(string, []float32, []float32, []float32, []float32, []float32, int, *seedConstants) bool {
	return false
}

func binaryRowsF64(string, []float64, []float64, []float64, []float64, int, *binaryConstants, bool) bool {
	return false
}

func binaryRowsF32(string, []float32, []float32, []float32, []float32, int, *binaryConstants, bool) bool {
	return false
}

// seedSumsChecked: no kernel here checks p with its first pass.
func seedSumsChecked[T Float]([]T) bool { return false }

func seedSumsInRange[T Float]([]T, int, []seedRowSum) bool { return false }

// inUnitRange has no fast answer here: the caller looks at every value.
func inUnitRange[T Float]([]T) bool { return false }

func inUnitRangeOr[T Float]([]T, unknownLabel) bool { return false }

func asymmetricRowsF32(string, []float32, []float32, []float32, []float32, []float32, int, *asymmetricConstants) bool {
	return false
}

func asymmetricRowsF64(string, []float64, []float64, []float64, []float64, []float64, int, *asymmetricConstants) bool {
	return false
}

func scaleGrad[T Float](g []T, c T) { scaleGradPortable(g, c) }
