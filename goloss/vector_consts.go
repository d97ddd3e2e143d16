package goloss

import "math"

// The constants that the vector kernels (kernel_amd64.go and the assembly
// of internal/avx2 and internal/avx512) take, prepared once per call in
// Go, and the Go that adds up their lane sums. Nothing here is ISA
// specific.

// seedVector holds the constants of seedConstants that the vector kernels
// use, with gamma classified once per call.
type seedVector struct {
	seedConstants
	powKind int    // powZero, powInt or powReal
	powInt  uint64 // gamma when powKind is powInt

	// The logs of the clip bounds, rounded to float32, for the float32
	// kernels: of the focal bound (logPLo32), and of the bounds of p/S as
	// float64 values.
	logPLo32                   float32
	logRatioLo32, logRatioHi32 float64

	// The constants of the assembly passes (seedAsmConsts).
	asmMasks [14]uint32
	asmMain  [12]uint32
}

const (
	powZero = iota // gamma = 0: (y-p)^0 = 1
	powInt         // integer gamma >= 1: repeated multiplication, exact sign for y < p
	powReal        // any other gamma: exp(gamma * log(y-p))
)

// powClass classifies gamma for the vector kernels.
func powClass(g float64) (kind int, n uint64) {
	switch {
	case g == 0:
		return powZero, 0
	case g == float64(uint64(g)) && g < 1<<53:
		return powInt, uint64(g)
	}
	return powReal, 0
}

func newSeedVector(k *seedConstants) seedVector {
	v := seedVector{seedConstants: *k}
	v.powKind, v.powInt = powClass(k.gamma)
	v.logPLo32 = float32(math.Log(k.logLo))
	v.logRatioLo32 = float64(float32(math.Log(k.ratioLo)))
	v.logRatioHi32 = float64(float32(math.Log(k.ratioHi)))
	seedAsmConsts(&v)
	return v
}

// fastRowMinSum is the least row sum S that the float32 seed kernels take:
// every p with p/S >= 1e-7 is then a normal float32, so its log needs no
// scaling.
const fastRowMinSum = 1e-30

// fastRow reports whether a row of sum S takes the fast float32 kernels:
// S finite, at least fastRowMinSum and finite in float32.
func fastRow(sum float64) bool { return sum >= fastRowMinSum && sum <= math.MaxFloat32 }

// bandRel is the relative distance to a clip bound of p/S within which the
// float32 kernels decide in float64 whether p/S is inside.
const bandRel = 0x1p-20

// smoothing returns what the smoothing gradient e/C * (M/S - [inside]/p) of
// the fast kernels needs of a row with M lanes inside: M/S as the float32
// pair aHi + aLo, and e/C * M/S, the value of the lanes outside.
func (k *seedVector) smoothing(inside int, sum float64) (aHi, aLo, shared float32) {
	a := float64(inside) / sum
	aHi = float32(a)
	return aHi, float32(a - float64(aHi)), float32(sharedTerm(k.smoothW, float64(inside), sum))
}

// masksConsts returns the constants of the assembly mask passes for a row
// of sum S (seedAsmConsts).
func (k *seedVector) masksConsts(sum float64) [14]uint32 {
	kc := k.asmMasks
	kc[0] = math.Float32bits(float32(1 / sum))
	b := math.Float64bits(sum)
	kc[8], kc[9] = uint32(b), uint32(b>>32)
	return kc
}

// mainConsts returns the constants of the assembly main passes for a row
// (seedAsmConsts).
func (k *seedVector) mainConsts(aHi, aLo, shared float32) [12]uint32 {
	kc := k.asmMain
	kc[0], kc[1], kc[2] = math.Float32bits(aHi), math.Float32bits(aLo), math.Float32bits(shared)
	return kc
}

// seedAsmConsts sets the constants of the assembly passes. asmMasks:
// float32 1/S (per row), ratioLo, ratioHi, the band bounds
// ratioLo*(1 -+ bandRel) and ratioHi*(1 -+ bandRel), then float64 S (per
// row), ratioLo and ratioHi. asmMain: float32 aHi, aLo and shared (per
// row), smoothW, focalScale, gamma, the focal clip bound 1e-8 and its log,
// then the integer gamma as an int64 (0: pow 1 and dpow 0), then, read by
// the AVX2 main pass only, a flag for non-integer gamma and gamma - gamma_hi
// in float32.
func seedAsmConsts(k *seedVector) {
	for i, v := range []float64{0, k.ratioLo, k.ratioHi, k.ratioLo * (1 - bandRel), k.ratioLo * (1 + bandRel),
		k.ratioHi * (1 - bandRel), k.ratioHi * (1 + bandRel)} {
		k.asmMasks[i] = math.Float32bits(float32(v))
	}
	for i, v := range []float64{0, k.ratioLo, k.ratioHi} {
		b := math.Float64bits(v)
		k.asmMasks[8+2*i], k.asmMasks[9+2*i] = uint32(b), uint32(b>>32)
	}
	for i, v := range []float32{0, 0, 0, float32(k.smoothW), float32(k.focalScale),
		float32(k.gamma), float32(k.logLo), k.logPLo32} {
		k.asmMain[i] = math.Float32bits(v)
	}
	nPow := uint64(0)
	if k.powKind == powInt {
		nPow = k.powInt
	}
	k.asmMain[8], k.asmMain[9] = uint32(nPow), uint32(nPow>>32)
	if k.powKind == powReal {
		k.asmMain[10] = 1
	}
	k.asmMain[11] = math.Float32bits(float32(k.gamma - float64(float32(k.gamma))))
}

// pairSum returns sum_j (lo[j] + hi[j]), added in order: the sum of two
// float64 lane accumulators, added lane by lane.
func pairSum(lo, hi []float64) float64 {
	var s float64
	for j := range lo {
		s += lo[j] + hi[j]
	}
	return s
}

// seedFastLoss returns a row's loss from the sums of the fast float32
// kernels: the focal sum, the sum of log p over the lanes inside the clip
// range of p/S, and how many lanes lie inside and above it.
func seedFastLoss(k *seedVector, focal, logP float64, n, inside, above int, sum float64) float64 {
	below := n - inside - above
	logSum := logP - float64(inside)*math.Log(sum) + float64(below)*k.logRatioLo32 + float64(above)*k.logRatioHi32
	return -k.focalScale*focal - k.smoothW*logSum
}

func f32frombits(b uint32) float32 { return math.Float32frombits(b) }

// binaryVector holds the constants of binaryConstants that the vector
// kernels use, with gamma and alpha classified once per call.
type binaryVector struct {
	binaryConstants
	logits    bool
	powKind   int     // powZero, powInt or powReal
	powInt    uint64  // gamma when powKind is powInt
	alphaKind int     // alphaNone, alphaOne or alphaPerClass
	alpha1    float64 // the one alpha when alphaKind is alphaOne

	asmConsts [23]uint32 // the constants of the assembly loops (binaryAsmConsts)
}

const (
	alphaNone     = iota // no class balancing: a = 1
	alphaOne             // one alpha for every class
	alphaPerClass        // one alpha per class
)

func newBinaryVector(k *binaryConstants, logits bool) binaryVector {
	v := binaryVector{binaryConstants: *k, logits: logits}
	v.powKind, v.powInt = powClass(k.gamma)
	switch len(k.alpha) {
	case 0:
		v.alphaKind = alphaNone
	case 1:
		v.alphaKind, v.alpha1 = alphaOne, k.alpha[0]
	default:
		v.alphaKind = alphaPerClass
	}
	binaryAsmConsts(&v)
	return v
}

// binaryAsmConsts sets k.asmConsts, the constants of the assembly binary
// loops: float32 keep, -keep, half and 1 - half as pairs hi, lo; the clip
// bounds eps and 1 - eps; gamma; the scale 1/C; alpha and 1 - alpha; then
// int32 flags: label smoothing, the kind of alpha; then the integer gamma
// as an int64 (0: pow 1 and dpow 0); then a flag
// for non-integer gamma, the float32 words gamma - gamma_hi, gamma - 1 =
// gm1_hi + gm1_lo and the ignore value (NaN without one).
func binaryAsmConsts(k *binaryVector) {
	keepHi, halfHi, omhHi := float32(k.keep), float32(k.half), float32(1-k.half)
	for i, v := range []float32{
		keepHi, float32(k.keep - float64(keepHi)), -keepHi, -float32(k.keep - float64(keepHi)),
		halfHi, float32(k.half - float64(halfHi)), omhHi, float32(1 - k.half - float64(omhHi)),
		float32(k.eps), float32(k.epsHi), float32(k.gamma), float32(k.scale),
		float32(k.alpha1), float32(1 - k.alpha1),
	} {
		k.asmConsts[i] = math.Float32bits(v)
	}
	if k.half != 0 || k.keep != 1 {
		k.asmConsts[14] = 1
	}
	k.asmConsts[15] = uint32(k.alphaKind)
	nPow := uint64(0)
	if k.powKind == powInt {
		nPow = k.powInt
	}
	k.asmConsts[16], k.asmConsts[17] = uint32(nPow), uint32(nPow>>32)
	if k.powKind == powReal {
		k.asmConsts[18] = 1
	}
	gammaHi, gm1Hi := float32(k.gamma), float32(k.gamma-1)
	k.asmConsts[19] = math.Float32bits(float32(k.gamma - float64(gammaHi)))
	k.asmConsts[20] = math.Float32bits(gm1Hi)
	k.asmConsts[21] = math.Float32bits(float32(k.gamma - 1 - float64(gm1Hi)))
	ignore := float32(math.NaN())
	if k.unknown.set {
		ignore = float32(k.unknown.value)
	}
	k.asmConsts[22] = math.Float32bits(ignore)
}

// binaryAlphas32 returns the per-class alpha[c] and 1 - alpha[c] of the
// float32-lane kernels, each rounded to float32 from float64 (so that
// 1 - alpha keeps its digits for alpha near 1), or nil without per-class
// alpha.
func binaryAlphas32(v *binaryVector, k *binaryConstants, cols int) (alpha, alphaNegs []float32) {
	if v.alphaKind != alphaPerClass {
		return nil, nil
	}
	alpha, alphaNegs = make([]float32, cols), make([]float32, cols)
	for c, a := range k.alpha {
		alpha[c], alphaNegs[c] = float32(a), float32(1-a)
	}
	return alpha, alphaNegs
}

// asymmetricVector holds the constants of the float32 vector kernels of
// the asymmetric variant (internal/avx2's Asym*F32), prepared once per
// call: asmConsts, laid out as _asmgen's asym_f32.go reads them (both widths).
type asymmetricVector struct {
	asmConsts [22]uint32
}

// newAsymmetricVector sets the kernels' constants from those of a float32
// call (eps and m already rounded to float32): float32 eps, log(eps), m,
// the ignore value (NaN without one), gamma_neg, gamma_pos - gamma_neg,
// the bounds of z that decide p >= eps, 1 - p >= eps and p >= m from
// logits (asymLogitBounds), an all-ones word when m = 0, gamma_pos; then
// int32 flags: m > 0, FocalGrad, the kind of the gammas (0: w = 1, 1: both
// integers, 2: any other); then the integer gammas as int64; then, for
// logits and m > 0, zc = logit(m) as a float32 pair hi, lo, zc + 0.35 (the
// band where the kernels take p - m from z - zc) and 1 - m.
func newAsymmetricVector(k *asymmetricConstants) asymmetricVector {
	var v asymmetricVector
	ignore := float32(math.NaN())
	if k.unknown.set {
		ignore = float32(k.unknown.value)
	}
	zEps, zNegEps, zClip := asymLogitBounds(k)
	for i, f := range []float32{float32(k.eps), float32(k.logEps), float32(k.clip), ignore,
		float32(k.gammaNeg), float32(k.gammaPos - k.gammaNeg), zEps, zNegEps, zClip} {
		v.asmConsts[i] = math.Float32bits(f)
	}
	if k.clip == 0 {
		v.asmConsts[9] = 0xffffffff
	} else {
		v.asmConsts[11] = 1
	}
	v.asmConsts[10] = math.Float32bits(float32(k.gammaPos))
	if k.focalGrad {
		v.asmConsts[12] = 1
	}
	negKind, nNeg := powClass(k.gammaNeg)
	posKind, nPos := powClass(k.gammaPos)
	switch {
	case !k.focal:
	case negKind != powReal && posKind != powReal:
		v.asmConsts[13] = 1
	default:
		v.asmConsts[13] = 2
	}
	v.asmConsts[14], v.asmConsts[15] = uint32(nNeg), uint32(nNeg>>32)
	v.asmConsts[16], v.asmConsts[17] = uint32(nPos), uint32(nPos>>32)
	zcHi, zcLo, zNear := float32(0), float32(0), float32(math.Inf(-1))
	if k.clip > 0 && k.clip < 1 {
		zc := math.Log(k.clip / (1 - k.clip))
		zcHi = float32(zc)
		zcLo, zNear = float32(zc-float64(zcHi)), float32(zc+0.35)
	}
	for i, f := range []float32{zcHi, zcLo, zNear, float32(1 - k.clip)} {
		v.asmConsts[18+i] = math.Float32bits(f)
	}
	return v
}

// asymLogitBounds returns the float32 bounds on a logit z at which the
// reference's float64 sigmoids (element) cross the clamps of the
// asymmetric variant: p >= eps exactly where z >= zEps, 1 - p >= eps
// where z < zNegEps, p >= m where z >= zClip; so that the float32 kernels
// take every decision as the reference does.
func asymLogitBounds(k *asymmetricConstants) (zEps, zNegEps, zClip float32) {
	return asymLogitBoundsOf[float32](k)
}

// asymLogitBounds64 is asymLogitBounds over the float64 logits, for the
// float64 kernels and the portable rows.
func asymLogitBounds64(k *asymmetricConstants) (zEps, zNegEps, zClip float64) {
	return asymLogitBoundsOf[float64](k)
}

func asymLogitBoundsOf[F float32 | float64](k *asymmetricConstants) (zEps, zNegEps, zClip F) {
	zEps = firstFloat[F](func(z float64) bool { p, _ := sigmoids(z); return p >= k.eps })
	zNegEps = firstFloat[F](func(z float64) bool { _, q := sigmoids(z); return !(q >= k.eps) })
	zClip = firstFloat[F](func(z float64) bool { p, _ := sigmoids(z); return p >= k.clip })
	return zEps, zNegEps, zClip
}

// firstFloat returns the least F z, -Inf to +Inf, for which holds holds,
// where holds is false below some z and true from it on (NaN when it holds
// nowhere, so that z >= the bound is always false): a bisection over the
// values of F in their order.
func firstFloat[F float32 | float64](holds func(z float64) bool) F {
	is32 := portIs32[F]()
	sign := uint64(1) << 63
	if is32 {
		sign = 1 << 31
	}
	key := func(f F) int64 { // the order of the values of F
		b := math.Float64bits(float64(f))
		if is32 {
			b = uint64(math.Float32bits(float32(f)))
		}
		if b&sign != 0 {
			return -int64(b &^ sign)
		}
		return int64(b)
	}
	value := func(k int64) F {
		b := uint64(k)
		if k < 0 {
			b = uint64(-k) | sign
		}
		if is32 {
			return F(math.Float32frombits(uint32(b)))
		}
		return F(math.Float64frombits(b))
	}
	switch {
	case holds(math.Inf(-1)):
		return F(math.Inf(-1))
	case !holds(math.Inf(1)):
		return F(math.NaN())
	}
	lo, hi := key(F(math.Inf(-1))), key(F(math.Inf(1)))
	for lo+1 < hi { // holds(value(hi)), not holds(value(lo)); hi - lo overflows int64
		mid := lo>>1 + hi>>1 + lo&hi&1
		if holds(float64(value(mid))) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return value(hi)
}
