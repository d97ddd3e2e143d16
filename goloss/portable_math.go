package goloss

import "math"

// Elementary functions of the portable kernel (portable.go), in plain Go:
// no assembly, no unsafe, no fused multiply-add needed. Where the compiler
// fuses a multiplication into an addition (arm64 does, wherever it can),
// the results only get better, except where an algorithm relies on a
// product being rounded (Dekker's product, Veltkamp's split): there an
// explicit conversion, float64(x*y), keeps the rounding.
//
// log: x = 2^k * z with z in [0.75, 1.5) split into 128 intervals around
// centres c (c = 1 for the two intervals next to 1), so that
//
//	log(x) = k*ln2 + log(c) + log1p(r),  r = (z - c)/c,  |r| < 2^-7,
//
// with z - c exact, log(c) from a table in two parts, k*ln2 in two parts
// and log1p(r) - r by its Taylor polynomial to degree 8; k*ln2Hi + log(c)Hi
// is exact and the one rounding error that matters is carried, so the
// result is within about 0.5 ulp of log(x) (TestPortableLog measures it).
// No division.
//
// exp: t = (k*128 + i)*ln2/128 + r, |r| <= ln2/256, e^t = 2^k * 2^(i/128)
// * e^r with 2^(i/128) from a table with its rounding error (tail), e^r by
// its Taylor polynomial to degree 5.
//
// The tables are generated (and checked) by TestPortableTables with
// math/big.

const (
	portLogBits = 7
	portLogN    = 1 << portLogBits
	portLogOff  = 0x3fe8000000000000 // bits of 0.75

	portExpBits = 7
	portExpN    = 1 << portExpBits

	// ln2 = portLn2Hi + portLn2Lo (fdlibm's split): portLn2Hi has 32
	// significant bits, so k*portLn2Hi is exact for |k| < 2^21.
	portLn2Hi = 0x1.62e42fee00000p-01
	portLn2Lo = 0x1.a39ef35793c76p-33
	portLn2   = 0x1.62e42fefa39efp-01

	portInvLn2N = portExpN * 0x1.71547652b82fep+00 // 128/ln2
	portLn2HiN  = portLn2Hi / portExpN
	portLn2LoN  = portLn2Lo / portExpN
	portShift   = 0x1.8p52 // adding it rounds |x| < 2^51 to an integer

	portSplit = 0x1p27 + 1 // Veltkamp's splitter for 53-bit doubles

	// portExpMax bounds the argument of expPort: e^t is a normal float64
	// for |t| <= portExpMax, and so is the table's 2^k * 2^(i/128).
	portExpMax = 708
)

// portLogEntry is one interval of the log table: its centre c, fl(1/c),
// and log(c) = logcHi + logcLo, logcHi on the grid of 2^-32 (so that
// k*portLn2Hi + logcHi is exact) and logcLo the rest, rounded.
type portLogEntry struct{ c, invc, logcHi, logcLo float64 }

// portExpEntry is one entry of the exp table: the bits of fl(2^(i/128))
// minus i<<45 (so that adding ki<<45 gives the scaled power), and
// 2^(i/128)/fl(2^(i/128)) - 1.
type portExpEntry struct {
	bits uint64
	tail float64
}

// logPortSplit writes x = 2^kd * z with z in the interval of table entry e
// and returns r = (z - c)/c, for x positive, normal and finite; other x
// give garbage. logPortSplit, logPortJoin and logPortPoly are the pieces of
// logPortDD, each small enough for the compiler to inline into a loop.
func logPortSplit(x float64) (kd, r float64, e *portLogEntry) {
	ix := math.Float64bits(x)
	tmp := ix - portLogOff
	e = &portLogTab[(tmp>>(52-portLogBits))%portLogN]
	z := math.Float64frombits(ix - tmp&(0xfff<<52))
	return float64(int64(tmp) >> 52), (z - e.c) * e.invc, e
}

// logPortJoin returns kd*ln2 + log(c) + r as hi + lo: hi rounded, lo the
// rest and the rounding error of hi, except the polynomial part of
// log1p(r), r*r*logPortPoly(r), which the caller adds to lo.
func logPortJoin(kd, r float64, e *portLogEntry) (hi, lo float64) {
	w := kd*portLn2Hi + e.logcHi // exact: both on the grid of 2^-32
	hi = w + r
	return hi, w - hi + r + (kd*portLn2Lo + e.logcLo) // w - hi + r: the exact error of hi
}

// logPortPoly returns (log1p(r) - r)/r^2 for |r| < 2^-7: Taylor to degree
// 8 of log1p, truncation error below 2^-66, evaluated by Estrin's scheme
// (shorter chains than Horner's rule).
func logPortPoly(r float64) float64 {
	r2 := r * r
	return (-0.5 + r*(1.0/3)) + r2*(-0.25+r*0.2) + r2*r2*((-1.0/6+r*(1.0/7))+r2*-0.125)
}

// logPortFull returns log(x) from the pieces logPortSplit(x) returns:
// logPortJoin and the polynomial in one function the compiler inlines.
func logPortFull(kd, r float64, e *portLogEntry) float64 {
	w := kd*portLn2Hi + e.logcHi // exact
	hi := w + r
	return hi + (w - hi + r + (kd*portLn2Lo + e.logcLo) + r*r*logPortPoly(r))
}

// logPortLow is logPortFull to about 2^-30 relative (Taylor to degree 4,
// no compensated sums): what a row of float32 inputs needs, whose results
// the reference rounds to float32 and SPEC compares to 1e-5.
func logPortLow(kd, r float64, e *portLogEntry) float64 {
	return kd*portLn2 + e.logcHi + (r + e.logcLo + r*r*(-0.5+r*(1.0/3-r*0.25)))
}

// logPortDD returns log(x) as hi + lo (|lo| well below |hi|, not
// renormalised) for x positive, normal and finite; other x give garbage.
func logPortDD(x float64) (hi, lo float64) {
	kd, r, e := logPortSplit(x)
	hi, lo = logPortJoin(kd, r, e)
	return hi, lo + r*r*logPortPoly(r)
}

// logPort returns log(x) for x positive, normal and finite (other x give
// garbage), within about 0.5 ulp.
func logPort(x float64) float64 {
	kd, r, e := logPortSplit(x)
	return logPortFull(kd, r, e)
}

// logPortAny is logPort with math.Log's special cases: 0, subnormals,
// negative numbers, Inf and NaN go to math.Log.
func logPortAny(x float64) float64 {
	if math.Float64bits(x)-0x0010000000000000 >= 0x7ff0000000000000-0x0010000000000000 {
		return math.Log(x)
	}
	return logPort(x)
}

// expPortSplit writes x + xlo = (k*128 + i)*ln2/128 + r and returns r,
// scale = fl(2^(k + i/128)) and tail = 2^(i/128)/fl(2^(i/128)) - 1, for
// |x| <= portExpMax and |xlo| <= 2^-40; other x give garbage. e^(x+xlo) =
// scale + scale*expPortPoly(r, tail); the two pieces are small enough for
// the compiler to inline into a loop.
func expPortSplit(x, xlo float64) (r, scale, tail float64) {
	kd := x*portInvLn2N + portShift
	ki := math.Float64bits(kd)
	kd -= portShift
	e := &portExpTab[ki%portExpN]
	// kd*portLn2HiN is exact, and so is x minus it.
	return x - kd*portLn2HiN - kd*portLn2LoN + xlo, math.Float64frombits(e.bits + ki<<(52-portExpBits)), e.tail
}

// expPortPoly returns tail + e^r - 1 for |r| <= ln2/256 (and tail the
// table's tiny correction): Taylor to degree 5, truncation error below
// 2^-60.
func expPortPoly(r, tail float64) float64 {
	r2 := r * r
	return tail + r + r2*(0.5+r*(1.0/6)) + r2*r2*(1.0/24+r*(1.0/120))
}

// expPortDD returns e^(x+xlo) for |x| <= portExpMax and |xlo| <= 2^-40;
// other x give garbage.
func expPortDD(x, xlo float64) float64 {
	r, scale, tail := expPortSplit(x, xlo)
	return scale + scale*expPortPoly(r, tail)
}

// expPort returns e^x for |x| <= portExpMax; other x give garbage.
func expPort(x float64) float64 { return expPortDD(x, 0) }

// expPortAny is expPort with math.Exp beyond |x| <= portExpMax.
func expPortAny(x float64) float64 {
	if !(math.Abs(x) <= portExpMax) {
		return math.Exp(x)
	}
	return expPort(x)
}

// portGamma is a non-integer gamma split for Dekker's product: gh has 26
// significant bits and gamma = gh + gl exactly.
type portGamma struct{ g, gh, gl float64 }

func portSplitGamma(g float64) portGamma {
	c := float64(portSplit * g)
	gh := c - (c - g)
	return portGamma{g, gh, g - gh}
}

// powPortMul returns g*(hi + lo) as th + tl, th = fl(g*hi) and tl the
// rest: the exact rounding error of th by Dekker's product, plus g*lo.
func powPortMul(g *portGamma, hi, lo float64) (th, tl float64) {
	// The conversions round: th and c must not be fused into the
	// operations that use them (arm64 fuses a product into any addition).
	th = float64(g.g * hi)
	c := float64(portSplit * hi)
	hh := c - (c - hi)
	hl := hi - hh
	return th, g.gh*hh - th + g.gh*hl + g.gl*hh + g.gl*hl + g.g*lo
}

// powPort returns x^g = e^(g*log x) for x positive, normal and finite, with
// g*log x carried in two parts, so that the result is within a few ulp for
// every g; ok is false (and the result garbage) where g*log x leaves
// [-portExpMax, portExpMax].
func powPort(x float64, g *portGamma) (pow float64, ok bool) {
	hi, lo := logPortDD(x)
	th, tl := powPortMul(g, hi, lo)
	return expPortDD(th, tl), th >= -portExpMax && th <= portExpMax
}

// powPortAny is powPort with math.Pow's special cases: x^g for any x and
// any g that is not an integer.
func powPortAny(x float64, g *portGamma) float64 {
	if math.Float64bits(x)-0x0010000000000000 < 0x7ff0000000000000-0x0010000000000000 {
		if pow, ok := powPort(x, g); ok {
			return pow
		}
	}
	return math.Pow(x, g.g)
}

// selectPort returns a if c, else b, without a branch where c is one
// comparison <, <=, > or >= (the compiler makes a CMOV of it; == and != of
// floats need two flags and become branches).
func selectPort(c bool, a, b float64) float64 {
	ra, rb := math.Float64bits(a), math.Float64bits(b)
	if c {
		rb = ra
	}
	return math.Float64frombits(rb)
}

var portLogTab = [portLogN]portLogEntry{
	{0x1.81p-01, 0x1.54725e6bb82fep+00, -0x1.23ec599p-02, -0x1.eba4906edd747p-34},
	{0x1.83p-01, 0x1.52aff56a8054bp+00, -0x1.1e9e1678p-02, -0x1.133e8a8961ba5p-35},
	{0x1.85p-01, 0x1.50f22e111c4c5p+00, -0x1.1956d3b8p-02, -0x1.bc2fa5ee75a35p-34},
	{0x1.87p-01, 0x1.4f38f62dd4c9bp+00, -0x1.14167ef4p-02, 0x1.310f9fc3ed92bp-35},
	{0x1.89p-01, 0x1.4d843bedc2c4cp+00, -0x1.0edd060cp-02, 0x1.0fefe64ad27bdp-35},
	{0x1.8bp-01, 0x1.4bd3edda68fe1p+00, -0x1.09aa573p-02, 0x1.9392bd787a32fp-34},
	{0x1.8dp-01, 0x1.4a27fad76014ap+00, -0x1.047e60ccp-02, -0x1.e83b7be21a73p-34},
	{0x1.8fp-01, 0x1.488052201488p+00, -0x1.feb2234p-03, 0x1.5f832f9c87fdbp-35},
	{0x1.91p-01, 0x1.46dce34596066p+00, -0x1.f474b138p-03, 0x1.906eb927c77dfp-34},
	{0x1.93p-01, 0x1.453d9e2c776cap+00, -0x1.ea4449fp-03, -0x1.2abd22cc6e654p-37},
	{0x1.95p-01, 0x1.43a2730abee4dp+00, -0x1.e020cc6p-03, -0x1.1ad5a9fea48ddp-34},
	{0x1.97p-01, 0x1.420b5265e5951p+00, -0x1.d60a17f8p-03, -0x1.035148fc81ef9p-35},
	{0x1.99p-01, 0x1.40782d10e6566p+00, -0x1.cc000cap-03, 0x1.261d6d585d57bp-34},
	{0x1.9bp-01, 0x1.3ee8f42a5af07p+00, -0x1.c2028abp-03, -0x1.7f9b47c46a8e1p-35},
	{0x1.9dp-01, 0x1.3d5d991aa75c6p+00, -0x1.b8117308p-03, -0x1.c11e90683b9cdp-34},
	{0x1.9fp-01, 0x1.3bd60d9232955p+00, -0x1.ae2ca6f8p-03, 0x1.8d42b9528d585p-35},
	{0x1.a1p-01, 0x1.3a524387ac822p+00, -0x1.a454083p-03, 0x1.954fac41bf047p-35},
	{0x1.a3p-01, 0x1.38d22d366088ep+00, -0x1.9a8778ep-03, 0x1.455c782e0809ep-35},
	{0x1.a5p-01, 0x1.3755bd1c945eep+00, -0x1.90c6dbap-03, 0x1.a1935f57718d8p-38},
	{0x1.a7p-01, 0x1.35dce5f9f2af8p+00, -0x1.87121378p-03, 0x1.78b35c52f4194p-34},
	{0x1.a9p-01, 0x1.34679ace01346p+00, -0x1.7d6903c8p-03, -0x1.7ad67f29d07ap-34},
	{0x1.abp-01, 0x1.32f5ced6a1dfap+00, -0x1.73cb9078p-03, 0x1.81759aa434001p-34},
	{0x1.adp-01, 0x1.3187758e9ebb6p+00, -0x1.6a399da8p-03, -0x1.de9c1b2c6657bp-34},
	{0x1.afp-01, 0x1.301c82ac4026p+00, -0x1.60b31008p-03, -0x1.84a3aea4d9dc2p-34},
	{0x1.b1p-01, 0x1.2eb4ea1fed14bp+00, -0x1.5737cc9p-03, -0x1.8cdd53d35c44p-39},
	{0x1.b3p-01, 0x1.2d50a012d50ap+00, -0x1.4dc7b898p-03, 0x1.0f8e1927d478p-37},
	{0x1.b5p-01, 0x1.2bef98e5a3711p+00, -0x1.4462b9ep-03, 0x1.b26121629c46cp-34},
	{0x1.b7p-01, 0x1.2a91c92f3c105p+00, -0x1.3b08b678p-03, 0x1.406ab7a3ca4c8p-34},
	{0x1.b9p-01, 0x1.293725bb804a5p+00, -0x1.31b994dp-03, -0x1.d27c263b8e942p-34},
	{0x1.bbp-01, 0x1.27dfa38a1ce4dp+00, -0x1.28753bcp-03, -0x1.1aba4a71ac981p-35},
	{0x1.bdp-01, 0x1.268b37cd60127p+00, -0x1.1f3b926p-03, 0x1.b457dd3a6c20ep-36},
	{0x1.bfp-01, 0x1.2539d7e9177b2p+00, -0x1.160c8028p-03, 0x1.a6c27a5aadfecp-34},
	{0x1.c1p-01, 0x1.23eb79717605bp+00, -0x1.0ce7ecep-03, 0x1.99eb9ad25400bp-34},
	{0x1.c3p-01, 0x1.22a0122a0122ap+00, -0x1.03cdc0a8p-03, 0x1.709f958c3a581p-34},
	{0x1.c5p-01, 0x1.21579804855e6p+00, -0x1.f57bc7ep-04, 0x1.bfe8959361575p-34},
	{0x1.c7p-01, 0x1.2012012012012p+00, -0x1.e3707eep-04, -0x1.8243da1399d9bp-35},
	{0x1.c9p-01, 0x1.1ecf43c7fb84cp+00, -0x1.d179788p-04, -0x1.0c9b219daf7dfp-35},
	{0x1.cbp-01, 0x1.1d8f5672e4abdp+00, -0x1.bf96877p-04, 0x1.80d7bce6e4fb8p-34},
	{0x1.cdp-01, 0x1.1c522fc1ce059p+00, -0x1.adc77eep-04, -0x1.6baa3137d8f3ap-34},
	{0x1.cfp-01, 0x1.1b17c67f2bae3p+00, -0x1.9c0c32dp-04, -0x1.349520fd85f1ep-34},
	{0x1.d1p-01, 0x1.19e0119e0119ep+00, -0x1.8a6477bp-04, 0x1.b88f5cfd4190ap-34},
	{0x1.d3p-01, 0x1.18ab083902bdbp+00, -0x1.78d0226p-04, -0x1.ec169b5794b6ap-35},
	{0x1.d5p-01, 0x1.1778a191bd684p+00, -0x1.674f089p-04, -0x1.b2d3ccca64e9ap-35},
	{0x1.d7p-01, 0x1.1648d50fc3201p+00, -0x1.55e1005p-04, -0x1.c07075d0314f2p-37},
	{0x1.d9p-01, 0x1.151b9a3fdd5c9p+00, -0x1.4485e04p-04, 0x1.210295c8b96cbp-35},
	{0x1.dbp-01, 0x1.13f0e8d344724p+00, -0x1.333d7f8p-04, -0x1.83f4b6a4abf24p-36},
	{0x1.ddp-01, 0x1.12c8b89edc0acp+00, -0x1.2207b5cp-04, -0x1.e1527633f0432p-34},
	{0x1.dfp-01, 0x1.11a3019a74826p+00, -0x1.10e45b4p-04, 0x1.a8be7b494251ap-35},
	{0x1.e1p-01, 0x1.107fbbe01108p+00, -0x1.ffa6912p-05, 0x1.51b3fdcd9f1f9p-35},
	{0x1.e3p-01, 0x1.0f5edfab325a2p+00, -0x1.dda8adcp-05, -0x1.9fb9394e6c987p-35},
	{0x1.e5p-01, 0x1.0e40655826011p+00, -0x1.bbcebfcp-05, -0x1.a3d080f2e79dp-35},
	{0x1.e7p-01, 0x1.0d24456359e3ap+00, -0x1.9a187b6p-05, 0x1.184308b93b136p-34},
	{0x1.e9p-01, 0x1.0c0a7868b4171p+00, -0x1.788595ap-05, -0x1.abbdd3cbdf131p-36},
	{0x1.ebp-01, 0x1.0af2f722eecb5p+00, -0x1.5715c4cp-05, -0x1.e77772203b89dp-40},
	{0x1.edp-01, 0x1.09ddba6af836p+00, -0x1.35c8bfap-05, -0x1.4260d5f57be7bp-34},
	{0x1.efp-01, 0x1.08cabb37565e2p+00, -0x1.149e3e4p-05, -0x1.6a33ab2df4b82p-43},
	{0x1.f1p-01, 0x1.07b9f29b8eae2p+00, -0x1.e72bf28p-06, -0x1.3ce515d6d1165p-38},
	{0x1.f3p-01, 0x1.06ab59c7912fbp+00, -0x1.a55f548p-06, -0x1.8b887e3d834bfp-35},
	{0x1.f5p-01, 0x1.059eea0727586p+00, -0x1.63d6178p-06, -0x1.a42f57e712b2dp-36},
	{0x1.f7p-01, 0x1.04949cc1664c5p+00, -0x1.228fb2p-06, 0x1.5d1d839af6cdcp-38},
	{0x1.f9p-01, 0x1.038c6b78247fcp+00, -0x1.c317388p-07, 0x1.9c507ccff3beep-34},
	{0x1.fbp-01, 0x1.02864fc7729e9p+00, -0x1.41929f8p-07, -0x1.6832ef8eaba02p-35},
	{0x1.fdp-01, 0x1.0182436517a37p+00, -0x1.812121p-08, -0x1.161ad50382974p-34},
	{0x1p+00, 0x1p+00, 0, 0},
	{0x1p+00, 0x1p+00, 0, 0},
	{0x1.03p+00, 0x1.fa11caa01fa12p-01, 0x1.7dc476p-07, -0x1.fbd6248b6bb44p-37},
	{0x1.05p+00, 0x1.f6310aca0dbb5p-01, 0x1.3cea444p-06, -0x1.72b5162196b52p-35},
	{0x1.07p+00, 0x1.f25f644230ab5p-01, 0x1.b9fc028p-06, -0x1.41b9a010ae692p-36},
	{0x1.09p+00, 0x1.ee9c7f8458e02p-01, 0x1.1b0d98ap-05, -0x1.b84d007a6ba22p-34},
	{0x1.0bp+00, 0x1.eae807aba01ebp-01, 0x1.58a5bbp-05, -0x1.b8d95b9cab857p-36},
	{0x1.0dp+00, 0x1.e741aa59750e4p-01, 0x1.95c830ep-05, 0x1.91c7d6fad074p-34},
	{0x1.0fp+00, 0x1.e3a9179dc1a73p-01, 0x1.d276b8ap-05, 0x1.b616a423c78a6p-34},
	{0x1.11p+00, 0x1.e01e01e01e01ep-01, 0x1.0759836p-04, -0x1.9c6e3b3f92d66p-34},
	{0x1.13p+00, 0x1.dca01dca01dcap-01, 0x1.253f62fp-04, 0x1.4282df1f6d34ep-37},
	{0x1.15p+00, 0x1.d92f2231e7f8ap-01, 0x1.42edcbfp-04, -0x1.66e43f1115836p-34},
	{0x1.17p+00, 0x1.d5cac807572b2p-01, 0x1.60658a9p-04, 0x1.ba861d8ef74e2p-35},
	{0x1.19p+00, 0x1.d272ca3fc5b1ap-01, 0x1.7da766dp-04, 0x1.ec4b321112032p-34},
	{0x1.1bp+00, 0x1.cf26e5c44bfc6p-01, 0x1.9ab4246p-04, 0x1.019d66df661e4p-35},
	{0x1.1dp+00, 0x1.cbe6d9601cbe7p-01, 0x1.b78c82cp-04, -0x1.3c497bdef0e62p-34},
	{0x1.1fp+00, 0x1.c8b265afb8a42p-01, 0x1.d4313d6p-04, 0x1.b2cd75790dd95p-34},
	{0x1.21p+00, 0x1.c5894d10d4986p-01, 0x1.f0a30cp-04, 0x1.162a6617cc971p-36},
	{0x1.23p+00, 0x1.c26b5392ea01cp-01, 0x1.0671513p-03, -0x1.ad348eaf39b81p-34},
	{0x1.25p+00, 0x1.bf583ee868d8bp-01, 0x1.14785848p-03, -0x1.8bd53975dfb07p-35},
	{0x1.27p+00, 0x1.bc4fd65883e7bp-01, 0x1.2266f19p-03, 0x1.4b596faa3df8cp-36},
	{0x1.29p+00, 0x1.b951e2b18ff23p-01, 0x1.303d719p-03, -0x1.b802d016b9c7ep-35},
	{0x1.2bp+00, 0x1.b65e2e3beee05p-01, 0x1.3dfc2b1p-03, -0x1.339d6356751dp-35},
	{0x1.2dp+00, 0x1.b37484ad806cep-01, 0x1.4ba36f38p-03, 0x1.a55e55a2606f3p-35},
	{0x1.2fp+00, 0x1.b094b31d922a4p-01, 0x1.59338d98p-03, 0x1.82085d345baabp-35},
	{0x1.31p+00, 0x1.adbe87f94905ep-01, 0x1.66acd428p-03, -0x1.aa55e42403938p-36},
	{0x1.33p+00, 0x1.aaf1d2f87ebfdp-01, 0x1.740f8f58p-03, -0x1.fe42d9b264063p-34},
	{0x1.35p+00, 0x1.a82e65130e159p-01, 0x1.815c0a18p-03, -0x1.e540a94be4807p-34},
	{0x1.37p+00, 0x1.a574107688a4ap-01, 0x1.8e928de8p-03, 0x1.0da8154b13d73p-36},
	{0x1.39p+00, 0x1.a2c2a87c51cap-01, 0x1.9bb362e8p-03, -0x1.023e551439c2p-38},
	{0x1.3bp+00, 0x1.a01a01a01a01ap-01, 0x1.a8becfc8p-03, 0x1.05e3185cf21bap-36},
	{0x1.3dp+00, 0x1.9d79f176b682dp-01, 0x1.b5b519e8p-03, 0x1.f6b48dd13fee1p-36},
	{0x1.3fp+00, 0x1.9ae24ea5510dap-01, 0x1.c2968558p-03, 0x1.8318146108e3bp-36},
	{0x1.41p+00, 0x1.9852f0d8ec0ffp-01, 0x1.cf6354ep-03, 0x1.38bb891cd03ebp-36},
	{0x1.43p+00, 0x1.95cbb0be377aep-01, 0x1.dc1bca08p-03, 0x1.5f63eb0698a33p-34},
	{0x1.45p+00, 0x1.934c67f9b2ce6p-01, 0x1.e8c02528p-03, 0x1.52d2ff48fe2e3p-34},
	{0x1.47p+00, 0x1.90d4f120190d5p-01, 0x1.f550a568p-03, -0x1.a42647c74124p-34},
	{0x1.49p+00, 0x1.8e6527af1373fp-01, 0x1.00e6c45cp-02, -0x1.2afe33972ad2p-34},
	{0x1.4bp+00, 0x1.8bfce8062ff3ap-01, 0x1.071b85fcp-02, 0x1.ab21a3a2e0ff3p-35},
	{0x1.4dp+00, 0x1.899c0f601899cp-01, 0x1.0d46b578p-02, 0x1.ab74b207d9038p-34},
	{0x1.4fp+00, 0x1.87427bcc092b9p-01, 0x1.13687028p-02, 0x1.3a8b05ed98a64p-34},
	{0x1.51p+00, 0x1.84f00c2780614p-01, 0x1.1980d2dcp-02, 0x1.4236f674f46c4p-34},
	{0x1.53p+00, 0x1.82a4a0182a4ap-01, 0x1.1f8ff9e4p-02, 0x1.145e51b01033p-35},
	{0x1.55p+00, 0x1.8060180601806p-01, 0x1.2596010cp-02, 0x1.f7639ef0893a9p-34},
	{0x1.57p+00, 0x1.7e225515a4f1dp-01, 0x1.2b9303acp-02, -0x1.d8b6d896b5fd8p-36},
	{0x1.59p+00, 0x1.7beb3922e017cp-01, 0x1.31871c94p-02, 0x1.44184fab94cedp-34},
	{0x1.5bp+00, 0x1.79baa6bb6398bp-01, 0x1.3772662cp-02, -0x1.3d286d58a7604p-41},
	{0x1.5dp+00, 0x1.77908119ac60dp-01, 0x1.3d54fa5cp-02, 0x1.f70f873668e58p-38},
	{0x1.5fp+00, 0x1.756cac201756dp-01, 0x1.432ef2ap-02, 0x1.3a04ed66ce8eap-36},
	{0x1.61p+00, 0x1.734f0c541fe8dp-01, 0x1.49006804p-02, 0x1.3a19800f2f83ap-43},
	{0x1.63p+00, 0x1.713786d9c7c09p-01, 0x1.4ec97328p-02, -0x1.ffd9650aa1f66p-34},
	{0x1.65p+00, 0x1.6f26016f26017p-01, 0x1.548a2c3cp-02, -0x1.22d9d30339efcp-34},
	{0x1.67p+00, 0x1.6d1a62681c861p-01, 0x1.5a42ab1p-02, -0x1.6603cc75e5befp-35},
	{0x1.69p+00, 0x1.6b1490aa31a3dp-01, 0x1.5ff3070cp-02, -0x1.86c2c378c1df6p-34},
	{0x1.6bp+00, 0x1.691473a88d0cp-01, 0x1.659b573p-02, 0x1.f0f940ed857c7p-37},
	{0x1.6dp+00, 0x1.6719f3601671ap-01, 0x1.6b3bb224p-02, -0x1.4d784ed42b667p-35},
	{0x1.6fp+00, 0x1.6524f853b4aa3p-01, 0x1.70d42e28p-02, -0x1.db728a966408fp-36},
	{0x1.71p+00, 0x1.63356b88ac0dep-01, 0x1.7664e124p-02, -0x1.890c4fb6aeb28p-36},
	{0x1.73p+00, 0x1.614b36831ae94p-01, 0x1.7bede0a4p-02, -0x1.0a080c3c1e5ccp-35},
	{0x1.75p+00, 0x1.5f66434292dfcp-01, 0x1.816f41dcp-02, -0x1.f2b6a4a48f281p-34},
	{0x1.77p+00, 0x1.5d867c3ece2a5p-01, 0x1.86e919a4p-02, -0x1.9e8bfec064e9p-35},
	{0x1.79p+00, 0x1.5babcc647fa91p-01, 0x1.8c5b7c84p-02, 0x1.8b48a87d52c08p-34},
	{0x1.7bp+00, 0x1.59d61f123ccaap-01, 0x1.91c67eb4p-02, 0x1.6a0f61f1f51ddp-36},
	{0x1.7dp+00, 0x1.580560158056p-01, 0x1.972a341p-02, 0x1.3515869702749p-34},
	{0x1.7fp+00, 0x1.56397ba7c52e2p-01, 0x1.9c86b02cp-02, 0x1.c08629ba04526p-34},
}

var portExpTab = [portExpN]portExpEntry{
	{0x3ff0000000000000, 0},
	{0x3feff63da9fb3335, 0x1.b3b4f1a88bf6ep-54},
	{0x3fefec9a3e778061, -0x1.160139cd8dc5dp-56},
	{0x3fefe315e86e7f85, -0x1.05e7a108766d1p-54},
	{0x3fefd9b0d3158574, 0x1.cd2523567f613p-55},
	{0x3fefd06b29ddf6de, -0x1.bce8023f98efap-55},
	{0x3fefc74518759bc8, 0x1.0f74e61e6c861p-57},
	{0x3fefbe3ecac6f383, 0x1.0a3e45b33d399p-54},
	{0x3fefb5586cf9890f, 0x1.79aa65d837b6dp-54},
	{0x3fefac922b7247f7, 0x1.eb51a92fdeffcp-55},
	{0x3fefa3ec32d3d1a2, 0x1.ebe3d702f9cd1p-60},
	{0x3fef9b66affed31b, -0x1.a033489906e0bp-57},
	{0x3fef9301d0125b51, -0x1.556522a2fbd0ep-54},
	{0x3fef8abdc06c31cc, -0x1.080ef8c4eea55p-58},
	{0x3fef829aaea92de0, -0x1.1c923b9d5f416p-54},
	{0x3fef7a98c8a58e51, 0x1.0d3e3e95c55afp-55},
	{0x3fef72b83c7d517b, -0x1.01b15eaa59348p-55},
	{0x3fef6af9388c8dea, -0x1.f1ff055de323dp-55},
	{0x3fef635beb6fcb75, 0x1.b898c3f1353bfp-55},
	{0x3fef5be084045cd4, -0x1.6d99c7611eb26p-54},
	{0x3fef54873168b9aa, 0x1.aecf73e3a2f6p-54},
	{0x3fef4d5022fcd91d, -0x1.fe782cb86389dp-55},
	{0x3fef463b88628cd6, 0x1.a6f4144a6c38dp-55},
	{0x3fef3f49917ddc96, 0x1.07a05b0e4047dp-55},
	{0x3fef387a6e756238, 0x1.68efde3a8a894p-54},
	{0x3fef31ce4fb2a63f, 0x1.75e18f274487dp-55},
	{0x3fef2b4565e27cdd, 0x1.0472b981fe7f2p-55},
	{0x3fef24dfe1f56381, -0x1.6b87b3f71085ep-54},
	{0x3fef1e9df51fdee1, 0x1.2f7e16d09ab31p-55},
	{0x3fef187fd0dad990, -0x1.d219b1a6fbffap-60},
	{0x3fef1285a6e4030b, 0x1.b3782720c0ab4p-55},
	{0x3fef0cafa93e2f56, 0x1.e149289cecb8fp-57},
	{0x3fef06fe0a31b715, 0x1.34d754db0abb6p-55},
	{0x3fef0170fc4cd831, 0x1.64201e2ac744cp-55},
	{0x3feefc08b26416ff, 0x1.fdd395dd3f84ap-55},
	{0x3feef6c55f929ff1, -0x1.6a3803b8e5b04p-55},
	{0x3feef1a7373aa9cb, -0x1.24aedcc4b5068p-54},
	{0x3feeecae6d05d866, -0x1.907f81b512d8ep-54},
	{0x3feee7db34e59ff7, -0x1.1d1e83e9436d2p-56},
	{0x3feee32dc313a8e5, -0x1.91919b3ce1b15p-54},
	{0x3feedea64c123422, 0x1.59f48a72a4c6dp-55},
	{0x3feeda4504ac801c, -0x1.312607a28698ap-54},
	{0x3feed60a21f72e2a, -0x1.8a78f4817895bp-58},
	{0x3feed1f5d950a897, -0x1.c2c9b67499a1bp-56},
	{0x3feece086061892d, 0x1.363ed60c2ac11p-59},
	{0x3feeca41ed1d0057, 0x1.666093b0664efp-54},
	{0x3feec6a2b5c13cd0, 0x1.ecce1daa10379p-57},
	{0x3feec32af0d7d3de, 0x1.3ff8e3f0f123p-54},
	{0x3feebfdad5362a27, 0x1.690cebb7aafbp-56},
	{0x3feebcb299fddd0d, 0x1.31dbdeb54e077p-54},
	{0x3feeb9b2769d2ca7, -0x1.f94340071a38ep-55},
	{0x3feeb6daa2cf6642, -0x1.7deccdc93a349p-55},
	{0x3feeb42b569d4f82, -0x1.8dec6bd0f385fp-56},
	{0x3feeb1a4ca5d920f, -0x1.61246ec7b5cf6p-55},
	{0x3feeaf4736b527da, 0x1.3350518fdd78ep-54},
	{0x3feead12d497c7fd, 0x1.b98b72f8a9b05p-56},
	{0x3feeab07dd485429, 0x1.063e1e21c5409p-54},
	{0x3feea9268a5946b7, 0x1.4c7855019c6eap-60},
	{0x3feea76f15ad2148, 0x1.432e62b64c035p-54},
	{0x3feea5e1b976dc09, -0x1.ce44a6199769fp-55},
	{0x3feea47eb03a5585, -0x1.c33c53bef4da8p-55},
	{0x3feea34634ccc320, -0x1.45378892be9aep-55},
	{0x3feea23882552225, -0x1.3cedd78565858p-54},
	{0x3feea155d44ca973, 0x1.710aa807e1964p-58},
	{0x3feea09e667f3bcd, -0x1.3b3efbf5e2228p-54},
	{0x3feea012750bdabf, -0x1.a12ad8734b982p-57},
	{0x3fee9fb23c651a2f, -0x1.367efb86da9eep-57},
	{0x3fee9f7df9519484, -0x1.0dc3d54e08851p-55},
	{0x3fee9f75e8ec5f74, -0x1.81f647e5a3ecfp-56},
	{0x3fee9f9a48a58174, -0x1.6ee4ac08b7dbp-55},
	{0x3fee9feb564267c9, -0x1.619321e55e68ap-55},
	{0x3feea0694fde5d3f, 0x1.09ccb5e09d4d3p-54},
	{0x3feea11473eb0187, -0x1.b32dcb94da51dp-56},
	{0x3feea1ed0130c132, 0x1.4ecfd5467c06bp-54},
	{0x3feea2f336cf4e62, 0x1.5ebe1abd66c55p-57},
	{0x3feea427543e1a12, -0x1.8a1c52fb3cf42p-55},
	{0x3feea589994cce13, -0x1.369b6f13b3734p-54},
	{0x3feea71a4623c7ad, -0x1.05e843a19ff1ep-55},
	{0x3feea8d99b4492ed, -0x1.4d450d872576ep-54},
	{0x3feeaac7d98a6699, 0x1.0ad675b0e8ap-54},
	{0x3feeace5422aa0db, 0x1.db72fc1f0eab4p-55},
	{0x3feeaf3216b5448c, -0x1.5b6609cc5e7ffp-57},
	{0x3feeb1ae99157736, 0x1.bf68359f35f44p-56},
	{0x3feeb45b0b91ffc6, -0x1.3091fa71e3d83p-54},
	{0x3feeb737b0cdc5e5, -0x1.da9b88b6c1e29p-58},
	{0x3feeba44cbc8520f, -0x1.c23f97c90b959p-57},
	{0x3feebd829fde4e50, -0x1.2434322f4f9aap-54},
	{0x3feec0f170ca07ba, -0x1.5ca6cd7668e4bp-55},
	{0x3feec49182a3f090, 0x1.1affc2b91ce27p-56},
	{0x3feec86319e32323, 0x1.dd235e10a73bbp-57},
	{0x3feecc667b5de565, -0x1.7c50422622263p-55},
	{0x3feed09bec4a2d33, 0x1.b1c86e3e231d5p-55},
	{0x3feed503b23e255d, -0x1.1bbd1d3bcbb15p-54},
	{0x3feed99e1330b358, 0x1.0cc319cee31d2p-54},
	{0x3feede6b5579fdbf, 0x1.469846e735ab3p-55},
	{0x3feee36bbfd3f37a, -0x1.2dfcd978e9db4p-55},
	{0x3feee89f995ad3ad, 0x1.c1a7792cb3387p-55},
	{0x3feeee07298db666, -0x1.07b8f4ad1d9fap-54},
	{0x3feef3a2b84f15fb, -0x1.5c3d956dcaebap-58},
	{0x3feef9728de5593a, -0x1.0a40e3da6f64p-54},
	{0x3feeff76f2fb5e47, -0x1.8d6f438ad9334p-57},
	{0x3fef05b030a1064a, -0x1.1eee26b588a35p-54},
	{0x3fef0c1e904bc1d2, 0x1.4ffd70a5fddcdp-56},
	{0x3fef12c25bd71e09, -0x1.1bdfbfa9298acp-54},
	{0x3fef199bdd85529c, 0x1.36eae30af0cb3p-56},
	{0x3fef20ab5fffd07a, 0x1.ee3325c9ffd94p-55},
	{0x3fef27f12e57d14b, 0x1.4e08fd10959acp-55},
	{0x3fef2f6d9406e7b5, 0x1.3cdaf384e1a67p-57},
	{0x3fef3720dcef9069, 0x1.76b2c6c921968p-57},
	{0x3fef3f0b555dc3fa, -0x1.08a1883ccb5d2p-55},
	{0x3fef472d4a07897c, -0x1.fad5d3ffffa6fp-55},
	{0x3fef4f87080d89f2, -0x1.00dae3875a949p-54},
	{0x3fef5818dcfba487, 0x1.4a385a63d07a7p-56},
	{0x3fef60e316c98398, -0x1.2919e2040220fp-55},
	{0x3fef69e603db3285, 0x1.e5a50d5c192acp-55},
	{0x3fef7321f301b460, 0x1.43a59ac016b4bp-55},
	{0x3fef7c97337b9b5f, -0x1.2d52107b43e1fp-55},
	{0x3fef864614f5a129, -0x1.92ab93b470dc9p-55},
	{0x3fef902ee78b3ff6, 0x1.4b604603a88d3p-56},
	{0x3fef9a51fbc74c83, 0x1.3c5ec519d7271p-55},
	{0x3fefa4afa2a490da, -0x1.ff7128fd391fp-55},
	{0x3fefaf482d8e67f1, -0x1.dae98e223747dp-55},
	{0x3fefba1bee615a27, 0x1.ec3bc41aa2008p-55},
	{0x3fefc52b376bba97, 0x1.42b94c3a9eb32p-55},
	{0x3fefd0765b6e4540, 0x1.a64a931d185eep-55},
	{0x3fefdbfdad9cbe14, -0x1.e37bae43be3edp-55},
	{0x3fefe7c1819e90d8, 0x1.7893b4d91cd9dp-56},
	{0x3feff3c22b8f71f1, 0x1.305c14160cc89p-58},
}
