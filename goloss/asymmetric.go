package goloss

import (
	"fmt"
	"math"
)

// Asymmetric holds the parameters of the `asymmetric` variant: the
// asymmetric loss of Ridnik et al., "Asymmetric Loss For Multi-Label
// Classification" (ICCV 2021), as its reference code computes it
// (Alibaba-MIIL/ASL, AsymmetricLoss), for multi-label data with many
// negatives. The zero value is binary cross-entropy on probabilities summed
// over the classes, its logs clamped at 1e-8 (both gammas 0, no probability
// shifting); DefaultAsymmetric has the reference's defaults.
type Asymmetric struct {
	// GammaNeg and GammaPos are the focusing parameters of the negatives
	// and of the positives, each finite and >= 0 (the reference: 4 and 1).
	GammaNeg, GammaPos float64
	// Clip is the probability shifting m of the negatives, in [0, 1]; 0
	// shifts nothing (the reference: 0.05).
	Clip float64
	// Eps is the clamp of the logs, log(max(x, eps)), in (0, 1); 0 gives
	// the reference's 1e-8 (DefaultEps).
	Eps float64
	// FocalGrad differentiates the focal weight w = (1-pt)^g too (the
	// reference's disable_torch_grad_focal_loss=False); false treats it as
	// a constant, as the reference does by default.
	FocalGrad bool
	// FromLogits says the predictions are logits z, p = sigmoid(z) (what
	// the reference takes).
	FromLogits bool
	// HasIgnore says that a label equal to IgnoreValue (rounded to the
	// element type) is unknown (SPEC "Partial labels"): the element adds no
	// loss and gets a zero gradient, and the loss of a row is the sum over
	// its known classes. Such a label is not checked. IgnoreValue must not
	// be NaN.
	HasIgnore   bool
	IgnoreValue float64
	// NoValidate skips the checks that every finite label lies in [0, 1],
	// that every finite probability does (logits are never checked) and
	// that the class weights are finite and >= 0. NaN and ±Inf inputs are
	// never errors: they propagate into the outputs.
	NoValidate bool
	// Threads is how many goroutines may share the rows (0 or 1: the
	// caller's only). Results have the same bits for any value.
	Threads int
	// GradScale, when not 0, multiplies the gradient, as Seed.GradScale
	// does.
	GradScale float64
}

// DefaultAsymmetric returns the parameters of the reference's
// AsymmetricLoss(): gamma_neg 4, gamma_pos 1, clip 0.05, the focal weight
// a constant (disable_torch_grad_focal_loss=True). The reference takes
// logits; set FromLogits for them.
func DefaultAsymmetric() Asymmetric {
	return Asymmetric{GammaNeg: 4, GammaPos: 1, Clip: 0.05, Eps: DefaultEps}
}

// DefaultEps is the reference's clamp of the logs, what Asymmetric.Eps 0
// gives.
const DefaultEps = 1e-8

// eps returns the clamp of the logs: Eps, or DefaultEps for 0.
func (s Asymmetric) eps() float64 {
	if s.Eps == 0 {
		return DefaultEps
	}
	return s.Eps
}

// Check reports whether the parameters are in their domains.
func (s Asymmetric) Check() error {
	if err := checkNonNegative("gamma_neg", s.GammaNeg); err != nil {
		return err
	}
	if err := checkNonNegative("gamma_pos", s.GammaPos); err != nil {
		return err
	}
	if err := checkUnit("clip", s.Clip); err != nil {
		return err
	}
	if !(s.Eps >= 0 && s.Eps < 1) {
		return fmt.Errorf("%w: eps = %v, want 0 < eps < 1 (or 0 for the default %v)", ErrParam, s.Eps, DefaultEps)
	}
	if err := checkGradScale(s.GradScale); err != nil {
		return err
	}
	return checkIgnore(s.HasIgnore, s.IgnoreValue)
}

// AsymmetricLossGrad computes the per-sample loss of the `asymmetric`
// variant into loss (one value per row) and, unless grad is empty, its
// gradient dloss[b]/dpred[b,c] into grad (with respect to the logits when
// FromLogits). With y = labels, p = predictions (sigmoid(z) from logits z),
// cw = weights (all 1 when empty), m = Clip, eps = Eps (1e-8 by default)
// and one row:
//
//	pos  = p
//	neg  = min(1 - p + m, 1)  if m > 0, else 1 - p        (probability shifting)
//	ce   = y * log(max(pos, eps)) + (1 - y) * log(max(neg, eps))
//	u    = 1 - pt = y * (1 - pos) + (1 - y) * (1 - neg)
//	g    = gamma_pos * y + gamma_neg * (1 - y)
//	w    = u^g                       (1 when gamma_pos = gamma_neg = 0)
//	loss = -sum_c cw[c] * w * ce     (a sum over the classes, as the reference's)
//
//	grad = -cw * (w * dce/dp + [FocalGrad] * g * u^(g-1) * du/dp * ce)   (times p(1-p) from logits)
//	dce/dp = y * [pos >= eps] / pos - (1 - y) * [neg >= eps] * [p >= m] / neg
//	du/dp  = -y + (1 - y) * [p >= m]
//
// where [p >= m] is the gradient of min(1 - p + m, 1), passing at the bound
// inclusive (always 1 for m = 0), and [x >= eps] that of max(x, eps), as
// PyTorch's clamp passes them. The clamp at eps caps the loss of one element
// at -log(eps) (18.42 for 1e-8), as in the reference. eps and m are rounded to T,
// as TensorFlow rounds Python constants; the gammas are not. Where u = 0 the
// focal gradient term takes its limit, 0 (ce = 0 there), for every g
// (autodiff gives 0 * inf = NaN for g < 1).
//
// Each quantity is computed as the formula says, in float64, in the form
// that keeps its digits: min(1 - p + m, 1) passes exactly when p >= m, and
// then 1 - neg = p - m and log(neg) = log1p(-(p - m)); log(1 - p) is
// log1p(-p); from logits, sigmoid(z) and 1 - sigmoid(z) = sigmoid(-z) come
// without cancellation (sigmoids) and log(sigmoid(±z)) = -softplus(∓z).
// 0^0 = 1: a hard positive with gamma_pos = 0 has w = 1.
//
// With an ignore value (HasIgnore), a label equal to it is unknown: the
// element adds nothing and gets a zero gradient, so that the loss is the
// sum over the known classes (0 for a row with none). The prediction of an
// unknown element is not used (a NaN there does not propagate), but it is
// still checked. NaN and ±Inf labels and predictions of known elements give
// NaN in the loss of their row and in their gradient.
//
// The loop asymmetricRow is the reference (its sums in float64, rounded to
// T at the end). The generic kernel runs the portable rows
// asymmetricRowPortable (portable_asymmetric.go): the same sums with
// faster logs and powers, held to the reference to SPEC's tolerances by
// the kernel tests named below, which run on every kernel. The vector kernels run
// asymmetricRowsF32Vec for float32 (kernel_amd64.go; 8 lanes with avx2, 16
// with avx512, from one description in _asmgen's asym_f32.go): the same
// formulas in float32 lanes, as
// TensorFlow's float32 evaluation of them does, the loss terms summed in
// float64 lanes, held to asymmetricRow to SPEC's float32 tolerance
// (TestAsymmetricKernelsMatchReference); and asymmetricRowsF64x4 for
// float64 (asymmetric64_amd64.go), the reference's steps in float64 lanes,
// held to it to SPEC's 1e-12 (TestAsymmetric64KernelsMatchReference).
// Their results do not have the reference's bits: the lane sums add the
// terms in another order.
//
// Unless NoValidate, a finite label outside [0, 1] that is not the ignore
// value is an error naming its index (a label of -2 would give a negative
// loss), and so are a finite probability outside [0, 1] (labels first) and
// a class weight that is negative, NaN or infinite (before either).
//
// Sizes: len(loss) rows; labels and predictions rows*cols; weights empty or
// cols; grad empty or rows*cols. rows may be 0. On error nothing is
// written.
func AsymmetricLossGrad[T Float](loss, grad, labels, preds, weights []T, cols int, prm Asymmetric) error {
	if err := checkSizes(cols, len(loss), len(grad), len(labels), len(preds)); err != nil {
		return err
	}
	if err := prm.Check(); err != nil {
		return err
	}
	if len(weights) != 0 && len(weights) != cols {
		return fmt.Errorf("%w: class weights hold %d values for %d classes, want %d or none", ErrShape, len(weights), cols, cols)
	}
	if !prm.NoValidate {
		if err := checkWeights("class_weights", weights); err != nil {
			return err
		}
	}
	scale, err := gradScaleOf[T](prm.GradScale)
	if err != nil {
		return err
	}
	k := asymmetricConsts[T](prm)
	run := scaledRows(func(lo, hi int) {
		var g []T
		if len(grad) != 0 {
			g = grad[lo*cols : hi*cols]
		}
		asymmetricRows(loss[lo:hi], g, labels[lo*cols:hi*cols], preds[lo*cols:hi*cols], weights, cols, &k)
	}, grad, cols, scale)
	if prm.NoValidate {
		return checkedRows(preds, cols, prm.Threads, false, run)
	}
	return binaryCheckedRows(labels, preds, cols, prm.Threads, !prm.FromLogits, k.unknown, run)
}

// asymmetricConstants holds what every row of one AsymmetricLossGrad call
// shares.
type asymmetricConstants struct {
	gammaNeg, gammaPos float64
	focal              bool    // w = u^g; false (both gammas 0): w = 1
	focalGrad          bool    // differentiate w
	clip               float64 // m, rounded to T
	eps, logEps        float64 // the clamp of the logs, rounded to T, and its log
	logits             bool
	unknown            unknownLabel
}

func asymmetricConsts[T Float](prm Asymmetric) asymmetricConstants {
	eps := float64(T(prm.eps()))
	return asymmetricConstants{
		gammaNeg:  prm.GammaNeg,
		gammaPos:  prm.GammaPos,
		focal:     prm.GammaNeg > 0 || prm.GammaPos > 0,
		focalGrad: prm.FocalGrad,
		clip:      float64(T(prm.Clip)),
		eps:       eps,
		logEps:    math.Log(eps),
		logits:    prm.FromLogits,
		unknown:   unknownOf[T](prm.HasIgnore, prm.IgnoreValue),
	}
}

// asymmetricRow computes one row's loss and, when g is not nil, its
// gradient; cw is empty (every class weight 1) or one weight per class. It
// is the reference loop of the asymmetric variant.
func asymmetricRow[T Float](g, y, x, cw []T, k *asymmetricConstants) float64 {
	var sum float64 // sum_c cw * w * ce over the known classes
	for c := range x {
		yc := float64(y[c])
		if k.unknown.is(yc) {
			if g != nil {
				g[c] = 0
			}
			continue
		}
		wc := 1.0
		if len(cw) != 0 {
			wc = float64(cw[c])
		}
		term, gc := k.term(yc, float64(x[c]), wc)
		sum += term
		if g != nil {
			g[c] = T(gc)
		}
	}
	return -sum
}

// term returns what one known element with label y, prediction x and
// class weight wc adds to the row's sum, cw * w * ce, and its gradient, by
// the reference's formulas (element). The portable kernel calls it for the
// elements its fast path leaves out.
//
//go:noinline
func (k *asymmetricConstants) term(y, x, wc float64) (term, grad float64) {
	e := k.element(y, x)
	poison := (x - x) + (y - y) // NaN for a non-finite input, else 0 (SPEC: Inf gives NaN)
	d := e.w * e.dce
	if k.focalGrad {
		d += e.dwce
	}
	return wc*e.w*e.ce + poison, -wc*d*e.dpdz + poison
}

// asymmetricElement is what one element contributes: ce and w, the
// derivative of ce and, differentiated, of w (times ce) with respect to p,
// and dp/dx (1 on probabilities, p(1-p) from logits).
type asymmetricElement struct {
	ce, w     float64
	dce, dwce float64
	dpdz      float64
}

// element computes the terms of one element with label y and prediction x
// (a probability, or a logit when k.logits).
func (k *asymmetricConstants) element(y, x float64) asymmetricElement {
	e := asymmetricElement{dpdz: 1}
	// p and 1 - p; log(max(p, eps)) and its derivative.
	var p, q, logPos, dLogPos float64
	if k.logits {
		p, q = sigmoids(x)
		e.dpdz = p * q
	} else {
		p, q = x, 1-x
	}
	switch {
	case !(p >= k.eps):
		logPos = k.logEps
	case k.logits:
		logPos, dLogPos = -softplus(-x), 1/p
	default:
		logPos, dLogPos = math.Log(p), 1/p
	}
	// neg, its complement 1 - neg and dneg/dp; log(max(neg, eps)) and its
	// derivative with respect to neg.
	neg, negC, dNeg := q, p, -1.0
	if k.clip > 0 {
		if p >= k.clip { // 1 - p + m <= 1: the min passes
			negC = p - k.clip
			neg = 1 - negC
		} else {
			neg, negC, dNeg = 1, 0, 0
		}
	}
	var logNeg, dLogNeg float64
	switch {
	case !(neg >= k.eps):
		logNeg = k.logEps
	case k.clip > 0:
		logNeg, dLogNeg = math.Log1p(-negC), 1/neg
	case k.logits:
		logNeg, dLogNeg = -softplus(x), 1/neg
	default:
		logNeg, dLogNeg = math.Log1p(-p), 1/neg
	}
	e.ce = y*logPos + (1-y)*logNeg
	e.dce = y*dLogPos + (1-y)*dLogNeg*dNeg
	e.w = 1
	if !k.focal {
		return e
	}
	u := y*q + (1-y)*negC
	du := -y - (1-y)*dNeg
	gamma := k.gammaPos*y + k.gammaNeg*(1-y)
	e.w = math.Pow(u, gamma)
	if k.focalGrad {
		// g * u^(g-1) * du * ce, as g * w * (ce/u) where w is normal (no
		// overflow of u^(g-1) for g < 1 and a tiny u: |ce/u| is at most
		// about -log(eps) = 18.4), else with u^(g-1) by its own power.
		switch {
		case u == 0 || gamma == 0:
		case math.Abs(e.w) >= 0x1p-1022:
			e.dwce = gamma * e.w * (e.ce / u) * du
		default:
			e.dwce = gamma * math.Pow(u, gamma-1) * e.ce * du
		}
	}
	return e
}

// softplus returns log(1 + e^z) without overflow or cancellation.
func softplus(z float64) float64 {
	return math.Max(z, 0) + math.Log1p(math.Exp(-math.Abs(z)))
}
