//go:build tensorflow

package parity

import (
	"math"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	"github.com/gofocal/gofocal/goloss"
)

// AsymmetricReference is the `asymmetric` variant's per-sample loss (ASL)
// built from TensorFlow ops (see BuildAsymmetricReference), in its twelve
// forms: on probabilities or on logits, with or without probability
// shifting, and with the focal weight w absent (both gammas 0), held
// constant (focal_grad = false) or differentiated (focal_grad = true). Its
// inputs are placeholders of any batch size and class count, so one graph
// and one session serve every case of one element type.
type AsymmetricReference struct {
	// Labels and Predictions (probabilities or logits) are [batch, classes]
	// placeholders of the element type; ClassWeights a [classes] one (feed
	// ones for no class weights: multiplying by 1 is exact).
	Labels, Predictions, ClassWeights tf.Output
	// GammaNeg, GammaPos, Clip and Eps are scalar placeholders of the
	// element type: the reference's Python floats, as TensorFlow sees them.
	GammaNeg, GammaPos, Clip, Eps tf.Output
	// IgnoreValue is a scalar placeholder of the element type: labels equal
	// to it are unknown. Feed NaN for none (no label equals NaN).
	IgnoreValue tf.Output

	// bounds is the type eps, clip and the ignore value are rounded to: the
	// element type, or float32 in the wide reference.
	bounds tf.DataType
	forms  [2][2][3]AsymmetricOutputs // [fromLogits][clipped][weight]
}

// The focal weight's three forms.
const (
	asymmetricNoWeight       = iota // both gammas 0: w = 1
	asymmetricConstantWeight        // focal_grad = false: stop_gradient(w)
	asymmetricFocalGrad             // focal_grad = true: w differentiated
)

// AsymmetricOutputs are the outputs of one form of the reference.
type AsymmetricOutputs struct {
	// Loss is L[b], shape [batch].
	Loss tf.Output
	// Grad is d(sum_b L[b])/dpred[b,c] from TensorFlow's C++ autodiff
	// (TF_AddGradients), which equals dL[b]/dpred[b,c]: rows are
	// independent.
	Grad tf.Output
}

// Form returns the outputs of the form of the reference for prm.
func (r AsymmetricReference) Form(prm goloss.Asymmetric) AsymmetricOutputs {
	weight := asymmetricNoWeight
	switch {
	case prm.GammaNeg == 0 && prm.GammaPos == 0:
	case prm.FocalGrad:
		weight = asymmetricFocalGrad
	default:
		weight = asymmetricConstantWeight
	}
	return r.forms[b2i(prm.FromLogits)][b2i(prm.Clip > 0)][weight]
}

// BuildAsymmetricReference adds to s the `asymmetric` variant as SPEC
// writes it (the reference code's AsymmetricLoss, Alibaba-MIIL/ASL) for the
// element type dtype (tf.Float or tf.Double), and the gradient of
// sum_b L[b] with respect to the predictions through op.Gradients (eps is
// fed: the reference's 1e-8 unless the parameters say otherwise):
//
//	known = labels != ignore_value
//	y     = where(known, labels, 0); x = where(known, predictions, 0.5)
//	p     = sigmoid(x) if from_logits else x
//	pos   = p
//	neg   = minimum(1 - p + clip, 1)   if clip > 0, else 1 - p
//	ce    = y * log(maximum(pos, eps)) + (1 - y) * log(maximum(neg, eps))
//	pt    = y * pos + (1 - y) * neg
//	g     = gamma_pos * y + gamma_neg * (1 - y)
//	w     = pow(1 - pt, g)             (1 when both gammas are 0;
//	                                    stop_gradient(w) unless focal_grad)
//	L     = -reduce_sum(where(known, cw * w * ce, 0), axis=-1)
//
// Every op on the paths from the predictions to L has a gradient in
// TensorFlow 2.18's C++ registry (tensorflow/cc/gradients/math_grad.cc,
// array_grad.cc): SelectV2, Sigmoid, Sub, AddV2, Minimum, Maximum, Log,
// Mul, Pow, Sum, Neg; StopGradient is registered there as having none,
// which is what stop_gradient means. The choices:
//
//   - Minimum's gradient passes to 1 - p + clip where it is <= 1
//     (LessEqual) and Maximum's to x where x >= eps (GreaterEqual): the
//     bounds are inclusive, as SPEC (and PyTorch's clamp) has them. Both
//     compare the values TensorFlow computed in the element type, so near
//     p = clip the rounding of 1 - p + clip decides the branch; the parity
//     tests predict it (see asymmetricAnalysis).
//   - 1 - pt is a subtraction, as the reference writes it, not SPEC's
//     u = y * (1 - p) + (1 - y) * (p - clip) that the core computes: the
//     reference rounds what the formulas round. So does 1 - p from a
//     sigmoid (the core uses sigmoid(-z)).
//   - Pow's C++ gradient is grad * g * u^(g-1) with no guard at u = 0:
//     where 1 - pt = 0 with g < 1 in the focal_grad form it is NaN or ±Inf
//     (SPEC's exception), while the core gives the limit. With
//     stop_gradient the Pow is off the paths and nothing is NaN.
//   - Unknown labels are replaced by 0 and their predictions by 0.5 before
//     the formulas, and their terms dropped by a where: SelectV2's gradient
//     routes a rejected branch's gradient to the zeros, so an unknown
//     element gets an exact 0, and a NaN from its terms (Pow's, say) never
//     reaches the predictions.
//   - The zeros are zeros_like of the labels, off the autodiff's paths.
func BuildAsymmetricReference(s *op.Scope, dtype tf.DataType) AsymmetricReference {
	return buildAsymmetricReference(s, dtype, dtype)
}

// BuildWideAsymmetricReference is BuildAsymmetricReference in float64, fed
// eps, clip and the ignore value rounded to float32 (RunAsymmetric does): the float64 evaluation of SPEC's
// formulas on float32 inputs, which SPEC's accuracy contract holds the
// float32 core to.
func BuildWideAsymmetricReference(s *op.Scope) AsymmetricReference {
	return buildAsymmetricReference(s, tf.Double, tf.Float)
}

func buildAsymmetricReference(s *op.Scope, dtype, bounds tf.DataType) AsymmetricReference {
	s = s.SubScope("asymmetric_loss")
	at := s.SubScope
	placeholder := func(name string, shape tf.Shape) tf.Output {
		return op.Placeholder(at(name), dtype, op.PlaceholderShape(shape))
	}
	r := AsymmetricReference{
		Labels:       placeholder("labels", tf.MakeShape(-1, -1)),
		Predictions:  placeholder("predictions", tf.MakeShape(-1, -1)),
		ClassWeights: placeholder("class_weights", tf.MakeShape(-1)),
		GammaNeg:     placeholder("gamma_neg", tf.ScalarShape()),
		GammaPos:     placeholder("gamma_pos", tf.ScalarShape()),
		Clip:         placeholder("clip", tf.ScalarShape()),
		Eps:          placeholder("eps", tf.ScalarShape()),
		IgnoreValue:  placeholder("ignore_value", tf.ScalarShape()),
		bounds:       bounds,
	}
	constant := func(v float64) tf.Output { return op.Const(at("const"), castScalar(v, dtype)) }
	one := constant(1)
	eps := r.Eps
	lastAxis := op.Const(at("axis"), int32(-1))

	zeros := op.ZerosLike(at("zeros"), r.Labels)
	known := op.NotEqual(at("known"), r.Labels, r.IgnoreValue)
	y := selectV2(at("known_labels"), known, r.Labels, zeros)
	halves := op.AddV2(at("halves"), zeros, constant(0.5))
	x := selectV2(at("known_predictions"), known, r.Predictions, halves)
	oneMinusY := op.Sub(at("one_minus_y"), one, y)
	g := op.AddV2(at("gamma"), op.Mul(at("gamma"), r.GammaPos, y), op.Mul(at("gamma"), r.GammaNeg, oneMinusY))

	for fromLogits := range 2 {
		p := x
		if fromLogits == 1 {
			p = op.Sigmoid(at("xs_pos"), x)
		}
		oneMinusP := op.Sub(at("xs_neg"), one, p)
		negs := [2]tf.Output{
			oneMinusP,
			op.Minimum(at("clamp_max"), op.AddV2(at("shifted"), oneMinusP, r.Clip), one),
		}
		for clipped, neg := range negs {
			ce := op.AddV2(at("ce"),
				op.Mul(at("los_pos"), y, op.Log(at("los_pos"), op.Maximum(at("clamp_min"), p, eps))),
				op.Mul(at("los_neg"), oneMinusY, op.Log(at("los_neg"), op.Maximum(at("clamp_min"), neg, eps))))
			pt := op.AddV2(at("pt"), op.Mul(at("pt"), y, p), op.Mul(at("pt"), oneMinusY, neg))
			w := op.Pow(at("one_sided_w"), op.Sub(at("one_minus_pt"), one, pt), g)
			weighted := [3]tf.Output{
				ce,
				op.Mul(at("focal"), op.StopGradient(at("stop_gradient"), w), ce),
				op.Mul(at("focal"), w, ce),
			}
			for weight, v := range weighted {
				terms := selectV2(at("known_terms"), known, op.Mul(at("class_weighted"), r.ClassWeights, v), zeros)
				loss := op.Neg(at("loss"), op.Sum(at("loss"), terms, lastAxis))
				out := AsymmetricOutputs{Loss: loss}
				if grads := op.Gradients(at("gradients"), []tf.Output{loss}, []tf.Output{r.Predictions}); len(grads) == 1 {
					out.Grad = grads[0]
				}
				r.forms[fromLogits][clipped][weight] = out
			}
		}
	}
	return r
}

// RunAsymmetric evaluates the reference in sess (a session of the graph r
// was built in) on rows×cols labels and predictions, with class weights
// (empty: all 1) and the parameters of prm (NoValidate and Threads aside:
// the reference checks nothing), and returns the per-sample loss and its
// gradient, flat. The element type of r need not be T's: the values are
// converted (float32 values are exact in float64).
func RunAsymmetric[T goloss.Float](sess *tf.Session, r AsymmetricReference, labels, preds, weights []T, cols int, prm goloss.Asymmetric) (loss, grad []T, err error) {
	dtype := r.Predictions.DataType()
	rows := len(preds) / cols
	shape := []int64{int64(rows), int64(cols)}
	w := make([]float64, cols)
	for c := range w {
		w[c] = 1
		if len(weights) > 0 {
			w[c] = float64(weights[c])
		}
	}
	ignore := math.NaN()
	if prm.HasIgnore {
		ignore = roundTo(prm.IgnoreValue, r.bounds)
	}
	values := func(v []float64) any {
		if dtype == tf.Float {
			return convertFloats[float32](v)
		}
		return v
	}
	scalar := func(v float64) any { return castScalar(v, dtype) }
	feeds := []feed{
		{r.Labels, values(convertFloats[float64](labels)), shape},
		{r.Predictions, values(convertFloats[float64](preds)), shape},
		{r.ClassWeights, values(w), []int64{int64(cols)}},
		{r.GammaNeg, scalar(prm.GammaNeg), nil},
		{r.GammaPos, scalar(prm.GammaPos), nil},
		{r.Clip, scalar(roundTo(prm.Clip, r.bounds)), nil},
		{r.Eps, scalar(roundTo(AsymmetricEps(prm), r.bounds)), nil},
		{r.IgnoreValue, scalar(ignore), nil},
	}
	m, err := feedMap(feeds)
	if err != nil {
		return nil, nil, err
	}
	form := r.Form(prm)
	out, err := sess.Run(m, []tf.Output{form.Loss, form.Grad}, nil)
	if err != nil {
		return nil, nil, err
	}
	var flat [2][]T
	for k := range flat {
		if dtype == DataType[T]() {
			flat[k], err = Flat[T](out[k])
		} else {
			var wide []float64
			wide, err = Flat[float64](out[k])
			flat[k] = convertFloats[T](wide)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	return flat[0], flat[1], nil
}

// AsymmetricLoss adds the op GoFocal>AsymmetricLoss (loaded from OpLibrary
// with tf.LoadLibrary) to s: labels and predictions (logits when
// fromLogits) of one element type, class weights of that type ([0] for
// none or [classes]), gamma_neg, gamma_pos, clip and eps float64 scalars. The
// attributes are prm's (FocalGrad, FromLogits, !NoValidate, HasIgnore,
// IgnoreValue as a float32 attribute) and sharding ("go" or
// "tensorflow"). It returns the per-sample loss and the gradient output;
// the op's C++ gradient (tfop/gradients) makes op.Gradients reach through
// the loss.
func AsymmetricLoss(s *op.Scope, labels, preds, weights, gammaNeg, gammaPos, clip, eps tf.Output, prm goloss.Asymmetric, sharding string) (loss, grad tf.Output) {
	s = s.SubScope("asymmetric_loss")
	o := s.AddOperation(tf.OpSpec{
		Type:  "GoFocal>AsymmetricLoss",
		Name:  "AsymmetricLoss",
		Input: []tf.Input{labels, preds, weights, gammaNeg, gammaPos, clip, eps},
		Attrs: map[string]any{
			"focal_grad":   prm.FocalGrad,
			"from_logits":  prm.FromLogits,
			"validate":     !prm.NoValidate,
			"sharding":     sharding,
			"has_ignore":   prm.HasIgnore,
			"ignore_value": float32(prm.IgnoreValue),
		},
	})
	if o == nil {
		return tf.Output{}, tf.Output{}
	}
	return o.Output(0), o.Output(1)
}

// convertFloats returns v converted to To, element by element.
func convertFloats[To, From goloss.Float](v []From) []To {
	out := make([]To, len(v))
	for i, x := range v {
		out[i] = To(x)
	}
	return out
}

// AsymmetricEps returns the clamp of the logs prm stands for: prm.Eps, or
// goloss.DefaultEps (the reference's 1e-8) for 0.
func AsymmetricEps(prm goloss.Asymmetric) float64 {
	if prm.Eps == 0 {
		return goloss.DefaultEps
	}
	return prm.Eps
}
