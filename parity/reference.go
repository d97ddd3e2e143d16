//go:build tensorflow

// Package parity holds the project's parity tests against TensorFlow, run
// through graft (Go bindings of TensorFlow's C API): the Go core
// (goloss.SeedLossGrad, goloss.BinaryLossGrad) and the TensorFlow ops
// GoFocal>SeedFocalLoss and GoFocal>BinaryFocalLoss are held to each
// variant's formula built from TensorFlow's own ops (the seed's composite,
// Keras's BinaryFocalCrossentropy), differentiated by TensorFlow's C++
// autodiff.
//
// Everything here needs TensorFlow and builds only with the `tensorflow`
// build tag; see the Makefile's test-go target for the flags.
package parity

import (
	"fmt"
	"path/filepath"
	"runtime"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	"github.com/gofocal/gofocal/goloss"
)

// DataType returns TensorFlow's data type of T: Float or Double.
func DataType[T goloss.Float]() tf.DataType {
	var zero T
	if _, ok := any(zero).(float32); ok {
		return tf.Float
	}
	return tf.Double
}

// Reference is the seed's per-sample loss built from TensorFlow ops (see
// BuildReference). Its inputs are placeholders of any batch size and class
// count, so one graph and one session serve every case of one element type.
type Reference struct {
	// Labels and Predictions are [batch, classes] placeholders, Weights a
	// [classes] placeholder, all of the element type.
	Labels, Predictions, Weights tf.Output
	// Gamma, E and OneMinusE are scalar placeholders of the element type.
	// The seed writes `x ** gamma`, `(1 - e) * focal` and `e * smoothing`
	// with Python floats, so TensorFlow sees gamma, 1 - e (computed in
	// float64) and e each rounded to the element type: feed them that way.
	Gamma, E, OneMinusE tf.Output
	// Loss is L[b], shape [batch].
	Loss tf.Output
	// Grad is d(sum_b L[b])/dp[b,c] from TensorFlow's C++ autodiff
	// (TF_AddGradients), which equals dL[b]/dp[b,c]: rows are independent.
	Grad tf.Output
}

// BuildReference adds to s the seed's composite in SPEC's per-sample form,
// exactly as the seed spells it in TensorFlow (python/gofocal/composite.py),
// for the element type dtype (tf.Float or tf.Double):
//
//	zeros = zeros_like(y); P = y > zeros
//	FT    = -1 * where(P, y - p, zeros) ** gamma * log(clip_by_value(p, 1e-8, 1))
//	A     = where(P, zeros + w, zeros)
//	F     = reduce_mean(A * FT, axis=-1)
//	R     = keras categorical_crossentropy(ones/C, p)
//	      = -reduce_sum(ones/C * log(clip_by_value(p / reduce_sum(p, -1, keepdims), 1e-7, 1 - 1e-7)), -1)
//	L     = (1 - e) * F + e * R
//
// and the gradient of sum_b L[b] with respect to p through op.Gradients.
//
// Every op on the path from p to L has a gradient in TensorFlow's C++
// registry (tensorflow/cc/gradients/math_grad.cc): SelectV2, Sub, Pow, Mul,
// Log, Minimum, Maximum, Mean, Sum, RealDiv, AddV2, Neg. The choices:
//
//   - clip_by_value is Minimum then Maximum, as TF's Python clip_by_value
//     builds it (tensorflow/python/ops/clip_ops.py). Their C++ gradients pass
//     where x <= max (LessEqual) and where x >= min (GreaterEqual), so the
//     bounds are inclusive, as in Python and in SPEC. (ClipByValue has a
//     C++ gradient in TF 2.18 too, with the same inclusive bounds, but the
//     seed never runs that op: the reference builds what the seed runs.)
//   - tf.where is SelectV2, whose C++ gradient routes the gradient of the
//     rejected branch to the zeros. This matters: at negatives the Pow
//     gradient is 0 * gamma * 0^(gamma-1), NaN for gamma < 1, and SelectV2
//     sends that NaN to the zeros, never to p, as the seed's tf.where does.
//   - The zeros and the targets ones/C are built from the labels, not from
//     p: they have the same shape and values as the seed's zeros_like(p) and
//     ones_like(p)/C, and the autodiff, which walks only the paths from p,
//     never meets ZerosLike or OnesLike (zero gradient in Python anyway).
//   - C is reduce_sum(ones, -1) rather than a cast of tf.shape: the same
//     exact value, without Shape/StridedSlice/Cast on the path.
//   - Pow's C++ gradient is grad * gamma * x^(gamma-1) with no guard at
//     x = 0, which is where SPEC's exception comes from: at a positive with
//     y - p = 0 and gamma < 1 the reference gradient is NaN or ±Inf.
func BuildReference(s *op.Scope, dtype tf.DataType) Reference {
	return buildReference(s, dtype, dtype)
}

// BuildWideReference is BuildReference in float64 with the clip bounds
// rounded to float32, as float32's composite has them: the float64
// evaluation of the float32 composite. It decides each clip branch on the
// float64 row sum, as the core does for float32, where float32's own
// rounding of the row sum may decide it otherwise; the parity tests use it
// only there.
func BuildWideReference(s *op.Scope) Reference {
	return buildReference(s, tf.Double, tf.Float)
}

func buildReference(s *op.Scope, dtype, boundsType tf.DataType) Reference {
	s = s.SubScope("seed_composite")
	// graft names an op after its type: every op gets a scope of its own.
	at := s.SubScope
	placeholder := func(name string, shape tf.Shape) tf.Output {
		return op.Placeholder(at(name), dtype, op.PlaceholderShape(shape))
	}
	r := Reference{
		Labels:      placeholder("labels", tf.MakeShape(-1, -1)),
		Predictions: placeholder("predictions", tf.MakeShape(-1, -1)),
		Weights:     placeholder("class_weights", tf.MakeShape(-1)),
		Gamma:       placeholder("gamma", tf.ScalarShape()),
		E:           placeholder("e", tf.ScalarShape()),
		OneMinusE:   placeholder("one_minus_e", tf.ScalarShape()),
	}
	y, p := r.Labels, r.Predictions
	constant := func(v float64) tf.Output { return op.Const(at("const"), castScalar(v, dtype)) }
	bound := func(v float64) tf.Output {
		return op.Const(at("bound"), castScalar(roundTo(v, boundsType), dtype))
	}
	clipByValue := func(x tf.Output, lo, hi float64) tf.Output {
		sc := at("clip_by_value")
		return op.Maximum(sc, op.Minimum(sc, x, bound(hi)), bound(lo))
	}
	lastAxis := op.Const(at("axis"), int32(-1))

	// The focal term F[b].
	zeros := op.ZerosLike(at("zeros"), y)
	positive := op.Greater(at("positive"), y, zeros)
	oneMinusP := selectV2(at("one_minus_p"), positive, op.Sub(at("one_minus_p"), y, p), zeros)
	ft := op.Mul(at("ft"), op.Mul(at("ft"), constant(-1), op.Pow(at("ft"), oneMinusP, r.Gamma)),
		op.Log(at("ft"), clipByValue(p, 1e-8, 1)))
	alpha := selectV2(at("alpha"), positive, op.AddV2(at("classes_weight"), zeros, r.Weights), zeros)
	focal := op.Mean(at("focal"), op.Mul(at("balanced_fl"), alpha, ft), lastAxis)

	// Keras categorical_crossentropy(ones/C, p): normalise, clip, log.
	ones := op.OnesLike(at("ones"), y)
	target := op.RealDiv(at("target"), ones, op.Sum(at("nb_classes"), ones, lastAxis, op.SumKeepDims(true)))
	q := op.RealDiv(at("normalised"), p, op.Sum(at("row_sum"), p, lastAxis, op.SumKeepDims(true)))
	logQ := op.Log(at("log"), clipByValue(q, 1e-7, 1-1e-7))
	smoothing := op.Neg(at("smoothing"), op.Sum(at("smoothing"), op.Mul(at("smoothing"), target, logQ), lastAxis))

	r.Loss = op.AddV2(at("loss"), op.Mul(at("focal_part"), r.OneMinusE, focal), op.Mul(at("smoothing_part"), r.E, smoothing))
	if grads := op.Gradients(at("gradients"), []tf.Output{r.Loss}, []tf.Output{p}); len(grads) == 1 {
		r.Grad = grads[0]
	}
	return r
}

// selectV2 is tf.where (graft has no wrapper of SelectV2, only of the
// older Select, which Python's tf.where no longer builds).
func selectV2(s *op.Scope, cond, x, y tf.Output) tf.Output {
	if s.Err() != nil {
		return tf.Output{}
	}
	return s.AddOperation(tf.OpSpec{Type: "SelectV2", Input: []tf.Input{cond, x, y}}).Output(0)
}

// roundTo returns v rounded to dtype's precision.
func roundTo(v float64, dtype tf.DataType) float64 {
	if dtype == tf.Float {
		return float64(float32(v))
	}
	return v
}

// castScalar returns v as a float32 or float64 scalar for dtype, rounded as
// TensorFlow rounds a Python float constant.
func castScalar(v float64, dtype tf.DataType) any {
	if dtype == tf.Float {
		return float32(v)
	}
	return v
}

// Feeds returns the feeds of one evaluation: labels and predictions hold
// rows×cols values, weights cols values.
func (r Reference) Feeds(labels, preds, weights any, rows, cols int, gamma, e float64) (map[tf.Output]*tf.Tensor, error) {
	dtype := r.Predictions.DataType()
	feeds := make(map[tf.Output]*tf.Tensor, 6)
	for _, f := range []struct {
		out   tf.Output
		value any
		shape []int64
	}{
		{r.Labels, labels, []int64{int64(rows), int64(cols)}},
		{r.Predictions, preds, []int64{int64(rows), int64(cols)}},
		{r.Weights, weights, []int64{int64(cols)}},
		{r.Gamma, castScalar(gamma, dtype), nil},
		{r.E, castScalar(e, dtype), nil},
		{r.OneMinusE, castScalar(1-e, dtype), nil},
	} {
		t, err := NewTensor(f.value, f.shape)
		if err != nil {
			return nil, err
		}
		feeds[f.out] = t
	}
	return feeds, nil
}

// Run evaluates the reference in sess (a session of the graph r was built
// in) and returns the per-sample loss and its gradient, flat.
func Run[T goloss.Float](sess *tf.Session, r Reference, labels, preds, weights []T, cols int, gamma, e float64) (loss, grad []T, err error) {
	rows := len(preds) / cols
	feeds, err := r.Feeds(labels, preds, weights, rows, cols, gamma, e)
	if err != nil {
		return nil, nil, err
	}
	out, err := sess.Run(feeds, []tf.Output{r.Loss, r.Grad}, nil)
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

// NewTensor returns a tensor of the flat slice values (or a scalar) with
// the given shape.
func NewTensor(values any, shape []int64) (*tf.Tensor, error) {
	t, err := tf.NewTensor(values)
	if err != nil || shape == nil {
		return t, err
	}
	if err := t.Reshape(shape); err != nil {
		return nil, err
	}
	return t, nil
}

// Flat returns the values of a tensor of element type T and any rank as one
// row-major slice.
func Flat[T goloss.Float](t *tf.Tensor) ([]T, error) {
	switch v := t.Value().(type) {
	case T:
		return []T{v}, nil
	case []T:
		return v, nil
	case [][]T:
		var flat []T
		if len(v) > 0 {
			flat = make([]T, 0, len(v)*len(v[0]))
		}
		for _, row := range v {
			flat = append(flat, row...)
		}
		return flat, nil
	default:
		return nil, fmt.Errorf("parity: tensor of type %v and shape %v, want %v of rank <= 2", t.DataType(), t.Shape(), DataType[T]())
	}
}

// OpLibrary returns the path of the op library that `make shared-lib`
// builds, python/gofocal/_gofocal_ops.so in this repository.
func OpLibrary() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(filepath.Dir(file)), "python", "gofocal", "_gofocal_ops.so")
}

// SeedFocalLoss adds the op GoFocal>SeedFocalLoss (loaded from OpLibrary
// with tf.LoadLibrary) to s: labels, predictions and class_weights of one
// element type, gamma and e float64 scalars. It returns the per-sample loss
// and the gradient output; the op's C++ gradient (tfop/gradients) makes
// op.Gradients reach through the loss.
func SeedFocalLoss(s *op.Scope, labels, preds, weights, gamma, e tf.Output, validate bool) (loss, grad tf.Output) {
	s = s.SubScope("seed_focal_loss")
	o := s.AddOperation(tf.OpSpec{
		Type:  "GoFocal>SeedFocalLoss",
		Name:  "SeedFocalLoss",
		Input: []tf.Input{labels, preds, weights, gamma, e},
		Attrs: map[string]any{"validate": validate},
	})
	if o == nil {
		return tf.Output{}, tf.Output{}
	}
	return o.Output(0), o.Output(1)
}

// BinaryFocalLoss adds the op GoFocal>BinaryFocalLoss (loaded from
// OpLibrary with tf.LoadLibrary) to s: labels and predictions (logits when
// fromLogits) of one element type, alpha a float64 vector of length 0 (no
// class balancing), 1 or classes, gamma and labelSmoothing float64
// scalars. It returns the per-sample loss and the gradient output; the op's
// C++ gradient (tfop/gradients) makes op.Gradients reach through the loss.
func BinaryFocalLoss(s *op.Scope, labels, preds, alpha, gamma, labelSmoothing tf.Output, fromLogits, validate bool) (loss, grad tf.Output) {
	s = s.SubScope("binary_focal_loss")
	o := s.AddOperation(tf.OpSpec{
		Type:  "GoFocal>BinaryFocalLoss",
		Name:  "BinaryFocalLoss",
		Input: []tf.Input{labels, preds, alpha, gamma, labelSmoothing},
		Attrs: map[string]any{"from_logits": fromLogits, "validate": validate},
	})
	if o == nil {
		return tf.Output{}, tf.Output{}
	}
	return o.Output(0), o.Output(1)
}
