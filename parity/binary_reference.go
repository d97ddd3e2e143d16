//go:build tensorflow

package parity

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	"github.com/gofocal/gofocal/goloss"
)

// BinaryReference is the `binary` variant's per-sample loss built from
// TensorFlow ops (see BuildBinaryReference), in its four forms: on
// probabilities or on logits, with or without class balancing. Its inputs
// are placeholders of any batch size and class count, so one graph and one
// session serve every case of one element type.
type BinaryReference struct {
	// Labels and Predictions (probabilities or logits) are [batch, classes]
	// placeholders of the element type.
	Labels, Predictions tf.Output
	// Alpha and OneMinusAlpha are [classes] or [1] placeholders of the
	// element type, fed only to the balanced forms. Keras writes
	// `y_true * alpha + (1 - y_true) * (1 - alpha)` with a Python float
	// alpha, so TensorFlow sees alpha and 1 - alpha (computed in float64)
	// each rounded to the element type: feed them that way.
	Alpha, OneMinusAlpha tf.Output
	// Gamma, Keep and Half are scalar placeholders of the element type:
	// gamma, 1 - label_smoothing and 0.5 * label_smoothing, computed in
	// float64 and rounded, as Keras's
	// `y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing` has them.
	Gamma, Keep, Half tf.Output

	forms [2][2]BinaryOutputs // [fromLogits][balanced]
}

// BinaryOutputs are the outputs of one form of the reference.
type BinaryOutputs struct {
	// Loss is L[b], shape [batch].
	Loss tf.Output
	// Grad is d(sum_b L[b])/dpred[b,c] from TensorFlow's C++ autodiff
	// (TF_AddGradients), which equals dL[b]/dpred[b,c]: rows are independent.
	Grad tf.Output
}

// Form returns the outputs of the reference on probabilities or on logits,
// with class balancing (fed Alpha and OneMinusAlpha) or without.
func (r BinaryReference) Form(fromLogits, balanced bool) BinaryOutputs {
	return r.forms[b2i(fromLogits)][b2i(balanced)]
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// BuildBinaryReference adds to s the `binary` variant in SPEC's per-sample
// form for the element type dtype (tf.Float or tf.Double), and the gradient
// of sum_b L[b] with respect to the predictions through op.Gradients.
//
// On probabilities it is keras.losses.binary_focal_crossentropy (Keras 3,
// keras/src/losses/losses.py, with the TensorFlow backend's
// binary_crossentropy) op for op:
//
//	t     = y * (1 - ls) + 0.5 * ls
//	q     = clip_by_value(p, 1e-7, 1 - 1e-7)
//	bce   = -(t * log(q) + (1 - t) * log(1 - q))
//	pt    = t * p + (1 - t) * (1 - p)                  (from the unclipped p)
//	focal = pow(1 - pt, gamma) * bce
//	a     = t * alpha + (1 - t) * (1 - alpha)           (balanced forms)
//	L     = reduce_mean([a *] focal, axis=-1)
//
// On logits z it is SPEC's stable form, bce = max(z, 0) - z*t +
// log1p(exp(-|z|)) and 1 - pt = t*sigmoid(-z) + (1-t)*sigmoid(z), spelled
// as TensorFlow's own tf.nn.sigmoid_cross_entropy_with_logits spells the
// bce (tensorflow/python/ops/nn_impl.py):
//
//	cond = z >= 0
//	bce  = where(cond, z, 0) - z * t + log1p(exp(where(cond, -z, z)))
//
// Every op on the paths from the predictions to L has a gradient in
// TensorFlow 2.18's C++ registry (tensorflow/cc/gradients/math_grad.cc,
// array_grad.cc), or op.Gradients would fail to build the graph: Mul,
// AddV2, Sub, Neg, Log, Minimum, Maximum, Pow, Mean, Sigmoid, Exp, Log1p,
// SelectV2. (Abs has one too; GreaterEqual and ZerosLike are off the
// paths.) The choices:
//
//   - clip_by_value is Minimum then Maximum, as Python's clip_by_value
//     builds it; their gradients pass where x <= max and x >= min, so the
//     clip's bounds are inclusive, as in Python and in SPEC (see
//     BuildReference).
//   - 1 - pt is a subtraction, as Keras writes it, not SPEC's
//     t*(1-p) + (1-t)*p: the reference computes what Keras computes,
//     rounding included. Where pt is near 1 the subtraction cancels (t = 0
//     and p = 1e-9 in float32 gives 1 - pt = 0), which the parity tests'
//     tolerance accounts for.
//   - max(z, 0) and -|z| are where(z >= 0, ...), not Maximum and Abs,
//     though both have C++ gradients: at z = 0 exactly, Maximum's gradient
//     passes to z (GreaterEqual) and Abs's is sign(0) = 0, so the autodiff
//     of max(z,0) + log1p(exp(-|z|)) gives 1 - t there instead of the
//     derivative sigmoid(0) - t = 0.5 - t. The where spelling sends -z's
//     gradient through log1p(exp(.)) at z = 0 too, and gives 0.5 - t.
//   - sigmoid is the Sigmoid op, whose C++ gradient is SigmoidGrad,
//     y * (1 - y): it cancels for y near 1, so d sigmoid(30)/dz has about
//     three correct digits in float64 and is 0 in float32. It enters only
//     the gradient of the focal factor, where the tolerance accounts for it.
//   - Pow's C++ gradient is grad * gamma * x^(gamma-1) with no guard at
//     x = 0: where 1 - pt = 0 exactly with gamma < 1 it is NaN or ±Inf
//     (SPEC's exception), while the core gives the limit.
//   - The zeros of the where are zeros_like of the labels, not of z: the
//     same shape and values, off the autodiff's paths from z.
func BuildBinaryReference(s *op.Scope, dtype tf.DataType) BinaryReference {
	s = s.SubScope("binary_focal_crossentropy")
	at := s.SubScope
	placeholder := func(name string, shape tf.Shape) tf.Output {
		return op.Placeholder(at(name), dtype, op.PlaceholderShape(shape))
	}
	r := BinaryReference{
		Labels:        placeholder("labels", tf.MakeShape(-1, -1)),
		Predictions:   placeholder("predictions", tf.MakeShape(-1, -1)),
		Alpha:         placeholder("alpha", tf.MakeShape(-1)),
		OneMinusAlpha: placeholder("one_minus_alpha", tf.MakeShape(-1)),
		Gamma:         placeholder("gamma", tf.ScalarShape()),
		Keep:          placeholder("one_minus_label_smoothing", tf.ScalarShape()),
		Half:          placeholder("half_label_smoothing", tf.ScalarShape()),
	}
	constant := func(v float64) tf.Output { return op.Const(at("const"), castScalar(v, dtype)) }
	lastAxis := op.Const(at("axis"), int32(-1))
	x := r.Predictions

	t := op.AddV2(at("smoothed_labels"), op.Mul(at("smoothed_labels"), r.Labels, r.Keep), r.Half)
	oneMinusT := op.Sub(at("one_minus_labels"), constant(1), t)

	// Keras on probabilities.
	q := op.Maximum(at("clip_by_value"), op.Minimum(at("clip_by_value"), x, constant(roundTo(1-1e-7, dtype))),
		constant(roundTo(1e-7, dtype)))
	probBCE := op.Neg(at("bce"), op.AddV2(at("bce"),
		op.Mul(at("bce"), t, op.Log(at("bce"), q)),
		op.Mul(at("bce"), oneMinusT, op.Log(at("bce"), op.Sub(at("bce"), constant(1), q)))))
	pt := op.AddV2(at("p_t"), op.Mul(at("p_t"), t, x), op.Mul(at("p_t"), oneMinusT, op.Sub(at("p_t"), constant(1), x)))
	probOneMinusPt := op.Sub(at("one_minus_p_t"), constant(1), pt)

	// SPEC's stable form on logits.
	zeros := op.ZerosLike(at("zeros"), r.Labels)
	nonNegative := op.GreaterEqual(at("non_negative"), x, zeros)
	relu := selectV2(at("relu_logits"), nonNegative, x, zeros)
	negAbs := selectV2(at("neg_abs_logits"), nonNegative, op.Neg(at("neg_abs_logits"), x), x)
	logitsBCE := op.AddV2(at("logits_bce"),
		op.Sub(at("logits_bce"), relu, op.Mul(at("logits_bce"), x, t)),
		op.Log1p(at("logits_bce"), op.Exp(at("logits_bce"), negAbs)))
	logitsOneMinusPt := op.AddV2(at("logits_one_minus_p_t"),
		op.Mul(at("logits_one_minus_p_t"), t, op.Sigmoid(at("logits_one_minus_p_t"), op.Neg(at("logits_one_minus_p_t"), x))),
		op.Mul(at("logits_one_minus_p_t"), oneMinusT, op.Sigmoid(at("logits_one_minus_p_t"), x)))

	// The balancing weight, shared by the balanced forms.
	weight := op.AddV2(at("weight"), op.Mul(at("weight"), t, r.Alpha), op.Mul(at("weight"), oneMinusT, r.OneMinusAlpha))

	for fromLogits, in := range [2]struct{ bce, oneMinusPt tf.Output }{{probBCE, probOneMinusPt}, {logitsBCE, logitsOneMinusPt}} {
		focal := op.Mul(at("focal_bce"), op.Pow(at("focal_factor"), in.oneMinusPt, r.Gamma), in.bce)
		for balanced, f := range [2]tf.Output{focal, op.Mul(at("balanced_focal_bce"), weight, focal)} {
			loss := op.Mean(at("loss"), f, lastAxis)
			out := BinaryOutputs{Loss: loss}
			if grads := op.Gradients(at("gradients"), []tf.Output{loss}, []tf.Output{x}); len(grads) == 1 {
				out.Grad = grads[0]
			}
			r.forms[fromLogits][balanced] = out
		}
	}
	return r
}

// RunBinary evaluates the reference in sess (a session of the graph r was
// built in) on rows×cols labels and predictions with the parameters of prm
// (NoValidate aside: the reference checks nothing), and returns the
// per-sample loss and its gradient, flat.
func RunBinary[T goloss.Float](sess *tf.Session, r BinaryReference, labels, preds []T, cols int, prm goloss.Binary) (loss, grad []T, err error) {
	rows := len(preds) / cols
	shape := []int64{int64(rows), int64(cols)}
	feeds := []feed{
		{r.Labels, labels, shape},
		{r.Predictions, preds, shape},
		{r.Gamma, T(prm.Gamma), nil},
		{r.Keep, T(1 - prm.LabelSmoothing), nil},
		{r.Half, T(0.5 * prm.LabelSmoothing), nil},
	}
	if n := len(prm.Alpha); n > 0 {
		alpha, oneMinusAlpha := make([]T, n), make([]T, n)
		for c, a := range prm.Alpha {
			alpha[c], oneMinusAlpha[c] = T(a), T(1-a)
		}
		feeds = append(feeds, feed{r.Alpha, alpha, []int64{int64(n)}}, feed{r.OneMinusAlpha, oneMinusAlpha, []int64{int64(n)}})
	}
	m, err := feedMap(feeds)
	if err != nil {
		return nil, nil, err
	}
	form := r.Form(prm.FromLogits, len(prm.Alpha) > 0)
	out, err := sess.Run(m, []tf.Output{form.Loss, form.Grad}, nil)
	if err != nil {
		return nil, nil, err
	}
	if loss, err = Flat[T](out[0]); err != nil {
		return nil, nil, err
	}
	if grad, err = Flat[T](out[1]); err != nil {
		return nil, nil, err
	}
	return loss, grad, nil
}

// feed is one placeholder's value: a flat slice (or a scalar) and its shape
// (nil for a scalar).
type feed struct {
	out   tf.Output
	value any
	shape []int64
}

// feedMap returns the tensors of feeds, for Session.Run.
func feedMap(feeds []feed) (map[tf.Output]*tf.Tensor, error) {
	m := make(map[tf.Output]*tf.Tensor, len(feeds))
	for _, f := range feeds {
		t, err := NewTensor(f.value, f.shape)
		if err != nil {
			return nil, err
		}
		m[f.out] = t
	}
	return m, nil
}
