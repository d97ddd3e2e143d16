package avocmp

// The coefficients of fdlibm's log (those of math.Log), copied from goloss.
const (
	logLg1   = 6.666666666666735130e-01
	logLg2   = 3.999999999940941908e-01
	logLg3   = 2.857142874366239149e-01
	logLg4   = 2.222219843214978396e-01
	logLg5   = 1.818357216161805012e-01
	logLg6   = 1.531383769920937332e-01
	logLg7   = 1.479819860511658591e-01
	logLn2Hi = 6.93147180369123816490e-01
	logLn2Lo = 1.90821492927058770002e-10

	// Adding logShift to the bits of x moves the mantissas in
	// [sqrt(2)/2, sqrt(2)) into one binade, so that the exponent field then
	// holds k with x = 2^k * m, m in [sqrt(2)/2, sqrt(2)).
	logShift    = 0x3ff0000000000000 - 0x3fe6a09e667f3bcd
	logMantBase = 0x3fe6a09e667f3bcd
	mantMask    = 0x000fffffffffffff
)

// lanes is the number of float64 lanes of both kernels.
const lanes = 8

// sumLanes adds the lanes of acc in lane order, as goloss's sum512 does.
func sumLanes(acc *[lanes]float64) float64 {
	var s float64
	for _, v := range acc {
		s += v
	}
	return s
}

// padTail returns the last len(x)%8 elements of x in a block padded with
// 1s, whose log is +0: adding it leaves a lane sum unchanged.
func padTail(x []float64) (block [lanes]float64, ok bool) {
	tail := x[len(x)&^(lanes-1):]
	if len(tail) == 0 {
		return block, false
	}
	block = [lanes]float64{1, 1, 1, 1, 1, 1, 1, 1}
	copy(block[:], tail)
	return block, true
}
