package goloss

import (
	"fmt"
	"math"
)

// Binary holds the parameters of the `binary` variant: the focal loss of the
// paper, element by element as keras.losses.BinaryFocalCrossentropy computes
// it, with one alpha per class added. The zero value is binary cross-entropy
// on probabilities (gamma 0, no smoothing, no class balancing).
type Binary struct {
	// Gamma is the focusing parameter, >= 0; 0 gives binary cross-entropy.
	Gamma float64
	// Alpha balances positives against negatives: nil for no class
	// balancing, one value for every class, or one value per class; each in
	// [0, 1].
	Alpha []float64
	// FromLogits says the predictions are logits z, p = sigmoid(z).
	FromLogits bool
	// LabelSmoothing squeezes labels towards 0.5, in [0, 1].
	LabelSmoothing float64
	// HasIgnore says that a label equal to IgnoreValue (rounded to the
	// element type) is unknown (SPEC "Partial labels"): the element adds no
	// loss and gets a zero gradient, and the loss of a row is the mean over
	// its known classes. Such a label is not checked. IgnoreValue must not
	// be NaN.
	HasIgnore   bool
	IgnoreValue float64
	// NoValidate skips the checks that every finite label lies in [0, 1]
	// (on probabilities and on logits) and that every finite probability
	// does (logits are never checked). NaN and ±Inf are never errors: they
	// propagate into the outputs.
	NoValidate bool
	// Threads is how many goroutines may share the rows (0 or 1: the
	// caller's only). Results have the same bits for any value.
	Threads int
	// GradScale, when not 0, multiplies the gradient, as Seed.GradScale
	// does.
	GradScale float64
}

// Check reports whether the parameters are in their domains for cols
// classes.
func (s Binary) Check(cols int) error {
	if err := checkGamma(s.Gamma); err != nil {
		return err
	}
	if err := checkUnit("label_smoothing", s.LabelSmoothing); err != nil {
		return err
	}
	if len(s.Alpha) > 1 && len(s.Alpha) != cols {
		return fmt.Errorf("%w: alpha holds %d values for %d classes, want 1 or %d", ErrShape, len(s.Alpha), cols, cols)
	}
	for c, a := range s.Alpha {
		if !(a >= 0 && a <= 1) {
			return fmt.Errorf("%w: alpha[%d] = %v, want 0 <= alpha <= 1", ErrParam, c, a)
		}
	}
	if err := checkGradScale(s.GradScale); err != nil {
		return err
	}
	return checkIgnore(s.HasIgnore, s.IgnoreValue)
}

// BinaryLossGrad computes the per-sample loss of the `binary` variant into
// loss (one value per row) and, unless grad is empty, its gradient
// dloss[b]/dpred[b,c] into grad (with respect to the logits when
// FromLogits). With t the smoothed label, C = cols, eps = 1e-7:
//
//	t   = y * (1 - ls) + 0.5 * ls
//	bce = -(t * log(clip(p, eps, 1-eps)) + (1-t) * log(1 - clip(p, eps, 1-eps)))
//	u   = 1 - pt = t * (1 - p) + (1 - t) * p
//	a   = t * alpha[c] + (1 - t) * (1 - alpha[c])        (1 without balancing)
//	loss = (1/C) * sum_c a * u^gamma * bce
//
//	grad = (a/C) * (gamma * u^(gamma-1) * (1-2t) * bce + u^gamma * dbce/dp)
//	dbce/dp = [eps <= p <= 1-eps] * ((1-t)/(1-clip p) - t/clip p)
//
// From logits z the loss uses the stable form without a clip:
//
//	bce = max(z, 0) - z*t + log1p(exp(-|z|)),  u = t*sigmoid(-z) + (1-t)*sigmoid(z)
//	grad = (a/C) * (gamma * u^(gamma-1) * (1-2t) * sigmoid(z)*sigmoid(-z) * bce + u^gamma * (sigmoid(z) - t))
//
// so the loss stays exact and finite for logits of ±1000 (where Keras's
// clip of probabilities caps it near 16 with a zero gradient), with
// sigmoid(z) - t computed as (1-t)*sigmoid(z) - t*sigmoid(-z), exact for
// large logits of either sign. Where u = 0 the first
// gradient term takes its limit: 0, or (1-2t)*bce*du for gamma = 1. gamma = 0
// gives binary cross-entropy exactly.
//
// With an ignore value (HasIgnore), a label equal to it is unknown: the
// element adds nothing and gets a zero gradient, and 1/C becomes 1/K, K the
// number of known classes of the row; a row with none known has loss 0 and
// a zero gradient. The prediction of an unknown element is not used (a NaN
// there does not propagate), but it is still checked.
//
// The loops binaryProbRow and binaryLogitsRow are the reference; the vector
// kernels (see Kernel) and the portable rows agree with them to the SPEC
// tolerances. With an ignore value the float32 vector rows leave out the
// unknown lanes themselves; other rows run the portable rows with the row's
// 1/K (binaryRows), or the reference loops for an ignore value that is
// itself a label the portable rows would take (about [0, 1]).
//
// Unless NoValidate, a finite label outside [0, 1] is an error naming its
// index (a label of -2 would give a negative loss), unless it is the ignore
// value, and so is a finite probability outside [0, 1]; labels are checked
// first.
//
// Sizes: len(loss) rows; labels and predictions rows*cols; grad empty or
// rows*cols. On error nothing is written.
func BinaryLossGrad[T Float](loss, grad, labels, preds []T, cols int, prm Binary) error {
	if err := checkSizes(cols, len(loss), len(grad), len(labels), len(preds)); err != nil {
		return err
	}
	if err := prm.Check(cols); err != nil {
		return err
	}
	scale, err := gradScaleOf[T](prm.GradScale)
	if err != nil {
		return err
	}
	k := newBinaryConstants[T](prm, cols)
	run := scaledRows(func(lo, hi int) {
		var g []T
		if len(grad) != 0 {
			g = grad[lo*cols : hi*cols]
		}
		binaryRows(loss[lo:hi], g, labels[lo*cols:hi*cols], preds[lo*cols:hi*cols], cols, &k, prm.FromLogits)
	}, grad, cols, scale)
	if prm.NoValidate {
		return checkedRows(preds, cols, prm.Threads, false, run)
	}
	return binaryCheckedRows(labels, preds, cols, prm.Threads, !prm.FromLogits, k.unknown, run)
}

// binaryCheckedRows is checkedRows for the validation of the binary and
// asymmetric variants: labels in [0, 1] (or unknown), and predictions too
// when checkPreds. The quick vector check of both runs in the one start-up
// of the goroutines that also runs the rows (forRowChunksChecked), a label
// equal to the ignore value taken as fine (inUnitRangeOr); only if it
// fails somewhere (on the generic kernel, always) do checkLabels and
// checkProbabilities look for the first offending index. On error nothing
// has been run.
func binaryCheckedRows[T Float](labels, preds []T, cols, threads int, checkPreds bool, unknown unknownLabel, run func(lo, hi int)) error {
	rows := len(preds) / cols
	check := func(lo, hi int) bool {
		return inUnitRangeOr(labels[lo*cols:hi*cols], unknown) && (!checkPreds || inUnitRange(preds[lo*cols:hi*cols]))
	}
	if forRowChunksChecked(rows, cols, threads, check, run) {
		return nil
	}
	// The quick check also fails on ±Inf (and, on the generic kernel, on
	// everything), which is no error: then the rows still run.
	if err := checkLabels(labels, cols, threads, unknown); err != nil {
		return err
	}
	if checkPreds {
		if err := checkProbabilities(preds, cols, threads); err != nil {
			return err
		}
	}
	forRowChunks(rows, cols, threads, run)
	return nil
}

// checkLabels returns an error naming the first finite label outside
// [0, 1] that is not unknown, as checkProbabilities does for predictions:
// NaN and ±Inf propagate. The rows are checked in up to threads chunks at
// once.
func checkLabels[T Float](labels []T, cols, threads int, unknown unknownLabel) error {
	return checkUnitValues(labels, cols, threads, "labels", "is not in [0, 1]", unknown)
}

// binaryRows computes rows on the kernel in use: a vector kernel, or the
// portable rows (binaryRowPortableAny).
func binaryRows[T Float](loss, grad, labels, preds []T, cols int, k *binaryConstants, fromLogits bool) {
	if binaryRowsFast(loss, grad, labels, preds, cols, k, fromLogits) {
		return
	}
	for b := range loss {
		row := b * cols
		var g []T
		if len(grad) != 0 {
			g = grad[row : row+cols]
		}
		loss[b] = T(binaryRowPortableAny(g, labels[row:row+cols], preds[row:row+cols], k, fromLogits))
	}
}

// binaryRowPortableAny computes one row with the portable rows, with or
// without an ignore value: with one (which the float64 vector rows do not
// know, and the float32 ones leave here when they stop on a row) the
// portable rows take the row's 1/K and leave its unknown elements to their
// second pass, which writes their zero gradient. An ignore value that the
// main pass would take for a label (binaryPortSkipsUnknown false: one in
// about [0, 1]) sends the row to the reference loop.
func binaryRowPortableAny[T Float](g, y, x []T, k *binaryConstants, fromLogits bool) float64 {
	switch {
	case !k.unknown.set:
		return portableBinaryRow(g, y, x, k, fromLogits)
	case !binaryPortSkipsUnknown(k) && fromLogits:
		return binaryLogitsRow(g, y, x, k)
	case !binaryPortSkipsUnknown(k):
		return binaryProbRow(g, y, x, k)
	}
	kr := *k
	kr.scale = binaryRowScale(k, y)
	return portableBinaryRow(g, y, x, &kr, fromLogits)
}

// binaryPortSkipsUnknown reports whether the main pass of the portable
// binary rows leaves out every element whose label is the ignore value: its
// smoothed label t = v*keep + half (rounded as portTU rounds it) lies
// outside [0, 1], or is NaN, so that no such element takes the fast path.
func binaryPortSkipsUnknown(k *binaryConstants) bool {
	t := float64(k.unknown.value*k.keep) + k.half
	return !(t >= 0 && t <= 1)
}

type binaryConstants struct {
	gamma      float64
	keep, half float64 // t = y*keep + half
	eps, epsHi float64 // clip bounds of p, rounded to T
	alpha      []float64
	scale      float64 // 1 / C
	unknown    unknownLabel
}

// binaryRowScale returns the 1/K of the mean over the known classes of a
// row with labels y: k.scale (1/C) without an ignore value, else 1 over the
// number of labels that are not unknown, 0 when none is.
func binaryRowScale[T Float](k *binaryConstants, y []T) float64 {
	if !k.unknown.set {
		return k.scale
	}
	known := 0
	for _, v := range y {
		if !k.unknown.is(float64(v)) {
			known++
		}
	}
	if known == 0 {
		return 0
	}
	return 1 / float64(known)
}

// balance returns the class-balancing weight a of class c for target t.
func (k *binaryConstants) balance(c int, t float64) float64 {
	switch len(k.alpha) {
	case 0:
		return 1
	case 1:
		return t*k.alpha[0] + (1-t)*(1-k.alpha[0])
	default:
		return t*k.alpha[c] + (1-t)*(1-k.alpha[c])
	}
}

// focal returns u^gamma and d(u^gamma)/du, the latter at its limit where u = 0.
func (k *binaryConstants) focal(u float64) (pow, deriv float64) {
	pow = math.Pow(u, k.gamma)
	switch {
	case k.gamma == 0:
	case u != 0 && math.Abs(pow) < 0x1p-1022:
		// u^gamma underflowed (to 0 or a subnormal with few digits) where
		// gamma * u^(gamma-1) may not have: p = 1e-160, gamma = 2.
		deriv = k.gamma * math.Pow(u, k.gamma-1)
	case u != 0:
		deriv = k.gamma * pow / u
	case k.gamma == 1:
		deriv = 1
	}
	return pow, deriv
}

// binaryProbRow is the reference loop of the binary variant on probabilities.
func binaryProbRow[T Float](g, y, p []T, k *binaryConstants) float64 {
	scale := binaryRowScale(k, y)
	var sum float64
	for c := range p {
		if k.unknown.is(float64(y[c])) {
			if g != nil {
				g[c] = 0
			}
			continue
		}
		t := float64(y[c])*k.keep + k.half
		pc := float64(p[c])
		q := clip(pc, k.eps, k.epsHi)
		bce := -(t*math.Log(q) + (1-t)*math.Log(1-q))
		u := t*(1-pc) + (1-t)*pc
		pow, dpow := k.focal(u)
		a := k.balance(c, t)
		poison := pc - pc // NaN for a non-finite input, else 0 (SPEC: Inf gives NaN)
		sum += a*pow*bce + poison
		if g != nil {
			var dbce float64
			if k.eps <= pc && pc <= k.epsHi {
				dbce = (1-t)/(1-q) - t/q
			}
			g[c] = T(scale*a*(dpow*(1-2*t)*bce+pow*dbce) + poison)
		}
	}
	return scale * sum
}

// binaryLogitsRow is the reference loop of the binary variant on logits, in
// the numerically stable form.
func binaryLogitsRow[T Float](g, y, z []T, k *binaryConstants) float64 {
	scale := binaryRowScale(k, y)
	var sum float64
	for c := range z {
		if k.unknown.is(float64(y[c])) {
			if g != nil {
				g[c] = 0
			}
			continue
		}
		t := float64(y[c])*k.keep + k.half
		zc := float64(z[c])
		sig, sigNeg := sigmoids(zc)
		bce := math.Max(zc, 0) - zc*t + math.Log1p(math.Exp(-math.Abs(zc)))
		u := t*sigNeg + (1-t)*sig
		pow, dpow := k.focal(u)
		a := k.balance(c, t)
		poison := zc - zc // NaN for a non-finite input, else 0 (SPEC: Inf gives NaN)
		sum += a*pow*bce + poison
		if g != nil {
			du := (1 - 2*t) * sig * sigNeg
			// sigmoid(z) - t, spelled without cancellation for right logits.
			dbce := (1-t)*sig - t*sigNeg
			g[c] = T(scale*a*(dpow*du*bce+pow*dbce) + poison)
		}
	}
	return scale * sum
}

// sigmoids returns sigmoid(z) and sigmoid(-z), each computed without
// cancellation or overflow.
func sigmoids(z float64) (pos, neg float64) {
	e := math.Exp(-math.Abs(z)) // in (0, 1]
	big, small := 1/(1+e), e/(1+e)
	if z >= 0 {
		return big, small
	}
	return small, big
}

// newBinaryConstants returns the per-call constants of the binary variant
// for T and cols classes: the clip bounds rounded to T, as TensorFlow rounds
// them.
func newBinaryConstants[T Float](prm Binary, cols int) binaryConstants {
	return binaryConstants{
		gamma:   prm.Gamma,
		keep:    1 - prm.LabelSmoothing,
		half:    0.5 * prm.LabelSmoothing,
		eps:     float64(T(1e-7)),
		epsHi:   float64(T(1 - 1e-7)),
		alpha:   prm.Alpha,
		scale:   1 / float64(cols),
		unknown: unknownOf[T](prm.HasIgnore, prm.IgnoreValue),
	}
}
