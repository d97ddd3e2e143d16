package goloss

import (
	"fmt"
	"math"
)

// Seed holds the parameters of the `seed` variant: the multi-label focal loss
// with class weights and a label-smoothing regulariser that the reference
// Keras snippet computes. The zero value has gamma 0 and e 0 and validates
// its input.
type Seed struct {
	// Gamma is the focusing parameter, >= 0; 0 turns the focal term into
	// weighted cross-entropy on the positives.
	Gamma float64
	// E weighs the label-smoothing term against the focal term, in [0, 1].
	E float64
	// HasIgnore says that a label equal to IgnoreValue (rounded to the
	// element type) is unknown (SPEC "Partial labels"): it is no positive,
	// so its focal term is 0, while the label-smoothing term R, which has no
	// labels, is unchanged (see SeedLossGrad). IgnoreValue must not be NaN.
	HasIgnore   bool
	IgnoreValue float64
	// NoValidate skips the check that every finite prediction lies in
	// [0, 1] and that the class weights are finite and >= 0.
	NoValidate bool
	// Threads is how many goroutines may share the rows (0 or 1: the
	// caller's only). Results have the same bits for any value.
	Threads int
	// GradScale, when not 0, multiplies the gradient: grad holds
	// T(GradScale) * dloss[b]/dp[b,c], each element the unscaled gradient
	// rounded to T and then multiplied by T(GradScale) (one more rounding:
	// the bits of that product computed afterwards), while the row is still
	// in cache. 1/rows gives the gradient of the batch mean, which spares a
	// caller the pass over the gradient that the product would cost. It
	// must be finite and > 0, and so must T(GradScale); 0 is 1 (none).
	GradScale float64
}

// Check reports whether the parameters are in their domains.
func (s Seed) Check() error {
	if err := checkGamma(s.Gamma); err != nil {
		return err
	}
	if err := checkUnit("e", s.E); err != nil {
		return err
	}
	if err := checkGradScale(s.GradScale); err != nil {
		return err
	}
	return checkIgnore(s.HasIgnore, s.IgnoreValue)
}

// SeedLossGrad computes the per-sample loss of the `seed` variant into loss
// (one value per row) and, unless grad is empty, its gradient dloss[b]/dp[b,c]
// into grad (rows×cols). With y = labels, p = predictions, w = weights, C =
// cols and one row b:
//
//	FT[c] = -(y[c] - p[c])^gamma * log(clip(p[c], 1e-8, 1))   where y[c] > 0, else 0
//	F     = (1/C) * sum_c w[c] * FT[c]
//	S     = sum_c p[c]
//	q[c]  = clip(p[c] / S, 1e-7, 1 - 1e-7)
//	R     = -(1/C) * sum_c log q[c]
//	loss  = (1 - e) * F + e * R
//
//	grad[c] = (1-e)/C * w[c] * (gamma * (y-p)^(gamma-1) * log(clip p) - (y-p)^gamma * [1e-8 <= p <= 1] / p)   where y > 0
//	        + e/C * (M / S - [1e-7 <= p/S <= 1-1e-7] / p)
//
// where M counts the classes whose p/S lies inside the clip range, and every
// bound is inclusive, as in TensorFlow's clip gradients. The clip bounds are
// the constants rounded to T, as TensorFlow rounds them. Where y - p = 0 the
// first gradient term takes its limit: 0, except for gamma = 1 where it is
// log(clip p). Labels get no gradient.
//
// With an ignore value (HasIgnore), a label equal to it is unknown: it is no
// positive, so the element adds no focal term and no focal gradient, as a
// label <= 0 already does. R, S and M have no labels and are unchanged: the
// prediction of an unknown element still enters S and R, and its gradient
// keeps its label-smoothing part e/C * (M/S - [inside]/p). That is SPEC's
// seed bullet read literally; its general rule, "zero gradient", holds for
// the focal part only, since R[b] is unchanged. So an unknown label is
// computed as a label of 0, and an ignore value <= 0 changes nothing.
//
// A row whose predictions sum to 0 gives NaN (the seed does too); a soft
// label below its prediction with a non-integer gamma gives NaN (no real
// power exists). NaN and Inf inputs propagate. Sums run in float64 for both
// element types.
//
// Sizes: len(loss) rows; labels and predictions rows*cols; weights cols;
// grad empty or rows*cols. rows may be 0. On error nothing is written.
func SeedLossGrad[T Float](loss, grad, labels, preds, weights []T, cols int, prm Seed) error {
	if err := prm.Check(); err != nil {
		return err
	}
	if err := checkSizes(cols, len(loss), len(grad), len(labels), len(preds)); err != nil {
		return err
	}
	if len(weights) != cols {
		return fmt.Errorf("%w: class weights hold %d values for %d classes", ErrShape, len(weights), cols)
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
	k := seedConsts[T](prm, cols)
	unknown := unknownOf[T](prm.HasIgnore, prm.IgnoreValue)
	// An ignore value > 0 runs on copies of the labels, block by block
	// (seedRowsUnknown), which scales each block itself.
	copied := unknown.set && unknown.value > 0
	scaled := func(run func(lo, hi int)) func(lo, hi int) {
		if copied {
			return run
		}
		return scaledRows(run, grad, cols, scale)
	}
	runWith := func(lo, hi int, k *seedConstants) {
		var g []T
		if len(grad) != 0 {
			g = grad[lo*cols : hi*cols]
		}
		if copied {
			seedRowsUnknown(loss[lo:hi], g, labels[lo*cols:hi*cols], preds[lo*cols:hi*cols], weights, cols, k.rows(lo, hi), T(unknown.value), scale)
			return
		}
		seedRows(loss[lo:hi], g, labels[lo*cols:hi*cols], preds[lo*cols:hi*cols], weights, cols, k.rows(lo, hi))
	}
	// Where the kernel in use checks p with its own first pass
	// (seedSumsChecked), checked.sums holds each row's sum and bounds of p
	// from the check.
	checked := k
	run := scaled(func(lo, hi int) { runWith(lo, hi, &checked) })
	rerun := scaled(func(lo, hi int) { runWith(lo, hi, &k) })
	var check func(lo, hi int) bool
	if !prm.NoValidate {
		check = func(lo, hi int) bool { return inUnitRange(preds[lo*cols : hi*cols]) }
		if seedSumsChecked(preds) {
			sums := make([]seedRowSum, len(loss))
			checked.sums = sums
			check = func(lo, hi int) bool { return seedSumsInRange(preds[lo*cols:hi*cols], cols, sums[lo:hi]) }
		}
	}
	return checkedRowsBy(preds, cols, prm.Threads, check, run, rerun)
}

// seedRowSum is what the first pass of a vector kernel finds in a row of
// predictions, when the check of p runs it (seedSumsInRange): their sum
// and bounds (the least of 1 and every p, the largest of 0 and every p,
// NaN left out), so that the row's own pass need not run again.
type seedRowSum struct {
	sum        float64
	minP, maxP float32
}

// seedScratchValues bounds the labels seedRowsUnknown copies at once.
const seedScratchValues = 1 << 14

// seedRowsUnknown computes rows whose labels equal to unknown (> 0) are
// unknown: it copies the labels of a block of rows with those set to 0,
// which is no positive, and runs seedRows on the copy, so that every kernel
// computes them at its own speed and rows keep their bits for any number of
// threads. The inputs stay untouched. Each block's gradient is then
// multiplied by scale (GradScale; 1: none) while it is in cache.
func seedRowsUnknown[T Float](loss, grad, labels, preds, weights []T, cols int, k *seedConstants, unknown, scale T) {
	block := max(1, seedScratchValues/cols) // rows
	scratch := make([]T, min(block, len(loss))*cols)
	for lo := 0; lo < len(loss); lo += block {
		hi := min(lo+block, len(loss))
		y := scratch[:(hi-lo)*cols]
		for i, v := range labels[lo*cols : hi*cols] {
			if v == unknown {
				v = 0
			}
			y[i] = v
		}
		var g []T
		if len(grad) != 0 {
			g = grad[lo*cols : hi*cols]
		}
		seedRows(loss[lo:hi], g, y, preds[lo*cols:hi*cols], weights, cols, k.rows(lo, hi))
		if len(g) != 0 && scale != 1 {
			scaleGrad(g, scale)
		}
	}
}

// seedRows computes rows on the kernel in use: a vector kernel, or the
// portable rows.
func seedRows[T Float](loss, grad, labels, preds, weights []T, cols int, k *seedConstants) {
	if seedRowsFast(loss, grad, labels, preds, weights, cols, k) {
		return
	}
	for b := range loss {
		row := b * cols
		var g []T
		if len(grad) != 0 {
			g = grad[row : row+cols]
		}
		loss[b] = T(portableSeedRow(g, labels[row:row+cols], preds[row:row+cols], weights, k))
	}
}

// seedConstants holds what every row of one SeedLossGrad call shares.
type seedConstants struct {
	gamma      float64
	focalScale float64 // (1 - e) / C
	smoothW    float64 // e / C
	logLo      float64 // clip bounds of the focal log, rounded to T
	ratioLo    float64 // clip bounds of p/S, rounded to T
	ratioHi    float64
	// sums, when not nil, holds the first pass of each row of this call
	// (its rows, in order), found by the check of p (seedRowSum).
	sums []seedRowSum
}

// rows returns the constants of rows lo to hi of k's rows: k itself, or,
// with sums, a copy holding theirs.
func (k *seedConstants) rows(lo, hi int) *seedConstants {
	if k.sums == nil {
		return k
	}
	r := *k
	r.sums = k.sums[lo:hi]
	return &r
}

func seedConsts[T Float](prm Seed, cols int) seedConstants {
	c := float64(cols)
	return seedConstants{
		gamma:      prm.Gamma,
		focalScale: (1 - prm.E) / c,
		smoothW:    prm.E / c,
		logLo:      float64(T(1e-8)),
		ratioLo:    float64(T(1e-7)),
		ratioHi:    float64(T(1 - 1e-7)),
	}
}

// seedRow computes one row's loss and, when g is not nil, its gradient. It is
// the reference loop of the seed variant.
func seedRow[T Float](g, y, p, w []T, k *seedConstants) float64 {
	var sum float64
	for _, v := range p {
		sum += float64(v)
	}
	var focal, logSum float64
	inside := 0
	for c := range p {
		pc := float64(p[c])
		if yc := float64(y[c]); yc > 0 {
			focal -= float64(w[c]) * math.Pow(yc-pc, k.gamma) * math.Log(clip(pc, k.logLo, 1))
		}
		q := pc / sum
		if k.ratioLo <= q && q <= k.ratioHi {
			inside++
		}
		logSum += math.Log(clip(q, k.ratioLo, k.ratioHi))
	}
	if g != nil {
		shared := sharedTerm(k.smoothW, float64(inside), sum)
		for c := range p {
			pc := float64(p[c])
			d := shared
			if yc := float64(y[c]); yc > 0 {
				d += k.focalScale * float64(w[c]) * focalDeriv(yc-pc, pc, k.gamma, k.logLo)
			}
			if q := pc / sum; k.ratioLo <= q && q <= k.ratioHi {
				d -= k.smoothW / pc
			}
			g[c] = T(d)
		}
	}
	return k.focalScale*focal - k.smoothW*logSum
}

// sharedTerm is the gradient term every class of a row shares, e/C * M/S.
// An infinite S makes the row's p/S undefined (Inf/Inf) and so, as in
// TensorFlow's autodiff, every gradient of the row NaN.
func sharedTerm(smoothW, inside, sum float64) float64 {
	if math.IsInf(sum, 0) {
		return math.NaN()
	}
	return smoothW * inside / sum
}

// focalDeriv is d/dp of -(y-p)^gamma * log(clip(p, lo, 1)) with diff = y - p:
//
//	gamma * diff^(gamma-1) * log(clip p) - diff^gamma * [lo <= p <= 1] / p
//
// with the first term at its limit where diff = 0 (0, or log(clip p) for
// gamma = 1) and exactly 0 for gamma = 0.
func focalDeriv(diff, p, gamma, lo float64) float64 {
	pow := math.Pow(diff, gamma)
	var d float64
	switch {
	case gamma == 0:
	case diff != 0:
		d = gamma * pow / diff * math.Log(clip(p, lo, 1))
	case gamma == 1:
		d = math.Log(clip(p, lo, 1))
	}
	if lo <= p && p <= 1 {
		d -= pow / p
	}
	return d
}

// clip returns v limited to [lo, hi]; NaN stays NaN.
func clip(v, lo, hi float64) float64 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
