//go:build goexperiment.simd && !noasm

package goloss

// The coefficients of fdlibm's log (those of math.Log).
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

	// roundMagic rounds a float64 below 2^51 in magnitude to an integer
	// when added; the low bits of the sum then hold that integer.
	roundMagic     = 0x1.8p52
	roundMagicBits = 0x4338000000000000

	// expBiasFix turns the bits of k + roundMagic into the exponent field of 2^k.
	expBiasFix = 1<<64 - (roundMagicBits - 1023)
)

// tailOnes gives, from tailOnes[len(tailOnes)/2-r:], a vector whose first r
// lanes are 1 and the others 0.
var tailOnes = [16]float64{1, 1, 1, 1, 1, 1, 1, 1}
