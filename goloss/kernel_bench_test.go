package goloss

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// BenchmarkSeed runs the seed variant on 1024 rows of 1000 classes with every
// kernel of this build and CPU, float32 and float64, with and without the
// gradient, on dense labels (about 60% positive, a third of them soft) and on
// sparse multi-hot labels (3% positive, as bench/bench.py uses), and reports
// ns per element (one thread).
func BenchmarkSeed(b *testing.B) {
	const rows, cols = 1024, 1000
	c := seedCase{rows: rows, cols: cols, gamma: 2, e: 0.1, soft: true}
	labels, preds, weights := c.random(1)
	sparse := sparseLabels(len(labels), 0.03, 2)
	for _, gamma := range []float64{2, 3.7} {
		for _, kernel := range Kernels() {
			for _, grad := range []bool{true, false} {
				for _, lb := range []struct {
					name   string
					labels []float64
				}{{"dense", labels}, {"pos=3%", sparse}} {
					name := fmt.Sprintf("gamma=%v/%s/grad=%v/%s", gamma, kernel, grad, lb.name)
					b.Run(name+"/float64", func(b *testing.B) {
						benchSeed(b, kernel, grad, lb.labels, preds, weights, cols, gamma)
					})
					b.Run(name+"/float32", func(b *testing.B) {
						benchSeed(b, kernel, grad, toF32(lb.labels), toF32(preds), toF32(weights), cols, gamma)
					})
				}
			}
		}
	}
}

// sparseLabels returns n multi-hot labels, each 1 with probability rate.
func sparseLabels(n int, rate float64, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 11))
	labels := make([]float64, n)
	for i := range labels {
		if rng.Float64() < rate {
			labels[i] = 1
		}
	}
	return labels
}

func benchSeed[T Float](b *testing.B, kernel string, withGrad bool, labels, preds, weights []T, cols int, gamma float64) {
	useKernel(b, kernel)
	loss := make([]T, len(preds)/cols)
	var grad []T
	if withGrad {
		grad = make([]T, len(preds))
	}
	prm := Seed{Gamma: gamma, E: 0.1, NoValidate: true}
	// One untimed call first: it faults in the fresh pages of loss and grad,
	// which would otherwise land in the first timed call. On the Zen 5 VM
	// that was a fifth of a 20-call run of the fastest kernels: avx512 seed
	// float32 γ=2 with the gradient averaged 1.06 ns/elem without this call
	// and 0.84 with it (18 runs of each, one process).
	if err := SeedLossGrad(loss, grad, labels, preds, weights, cols, prm); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := SeedLossGrad(loss, grad, labels, preds, weights, cols, prm); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(preds)), "ns/elem")
}

// BenchmarkBinary runs the binary variant (forward and gradient, one alpha)
// on 1024 rows of 1000 classes with every kernel of this build and CPU,
// probabilities and logits, float32 and float64, gamma 2 (integer fast
// path) and 2.5 (exp(gamma*log u)), and reports ns per element (one
// thread).
func BenchmarkBinary(b *testing.B) {
	const rows, cols = 1024, 1000
	for _, logits := range []bool{false, true} {
		c := binaryCase{rows: rows, cols: cols, prm: Binary{FromLogits: logits}}
		labels, preds := c.random(1)
		input := "probs"
		if logits {
			input = "logits"
		}
		for _, gamma := range []float64{2, 2.5} {
			prm := Binary{Gamma: gamma, Alpha: []float64{0.25}, FromLogits: logits, NoValidate: true}
			for _, kernel := range Kernels() {
				name := fmt.Sprintf("%s/gamma=%v/%s", input, gamma, kernel)
				b.Run(name+"/float64", func(b *testing.B) {
					benchBinary(b, kernel, labels, preds, cols, prm)
				})
				b.Run(name+"/float32", func(b *testing.B) {
					benchBinary(b, kernel, toF32(labels), toF32(preds), cols, prm)
				})
			}
		}
	}
}

// BenchmarkBinaryMultiHot is BenchmarkBinary's gamma 2 on multi-hot labels
// (3% positive, no soft label, as bench/bench.py uses), float32, for
// every kernel: the float32 kernels' vectors of hard labels take one log
// per element.
func BenchmarkBinaryMultiHot(b *testing.B) {
	const rows, cols = 1024, 1000
	labels := toF32(sparseLabels(rows*cols, 0.03, 2))
	for _, logits := range []bool{false, true} {
		_, preds := binaryCase{rows: rows, cols: cols, prm: Binary{FromLogits: logits}}.random(1)
		input := "probs"
		if logits {
			input = "logits"
		}
		prm := Binary{Gamma: 2, Alpha: []float64{0.25}, FromLogits: logits, NoValidate: true}
		for _, kernel := range Kernels() {
			b.Run(fmt.Sprintf("%s/%s/float32", input, kernel), func(b *testing.B) {
				benchBinary(b, kernel, labels, toF32(preds), cols, prm)
			})
		}
	}
}

func benchBinary[T Float](b *testing.B, kernel string, labels, preds []T, cols int, prm Binary) {
	useKernel(b, kernel)
	loss := make([]T, len(preds)/cols)
	grad := make([]T, len(preds))
	// One untimed call first, to fault in the fresh pages of loss and grad
	// (see benchSeed).
	if err := BinaryLossGrad(loss, grad, labels, preds, cols, prm); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := BinaryLossGrad(loss, grad, labels, preds, cols, prm); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(preds)), "ns/elem")
}

// BenchmarkAsymmetric runs the asymmetric variant (forward and gradient,
// class weights, a tenth of the labels unknown: ignore value -1) on 1024
// rows of 1000 classes with every kernel of this build and CPU,
// probabilities and logits, both gradient modes, float32 and float64, and
// reports ns per element (one thread): with the reference's gammas (4, 1:
// the integer path) on hard labels (0 and 1) and on a fifth of them soft
// (whose vectors take exp(g*log u)), and with gammas 2.5, 0.5
// (exp(g*log u) everywhere).
func BenchmarkAsymmetric(b *testing.B) {
	const rows, cols = 1024, 1000
	for _, logits := range []bool{false, true} {
		for _, focalGrad := range []bool{false, true} {
			for _, cell := range []struct {
				name               string
				gammaNeg, gammaPos float64
				hard               bool
			}{{"gammas=4,1/hard", 4, 1, true}, {"gammas=4,1/soft", 4, 1, false}, {"gammas=2.5,0.5/hard", 2.5, 0.5, true}} {
				c := asymCase{rows: rows, cols: cols, weights: true, prm: DefaultAsymmetric()}
				c.prm.GammaNeg, c.prm.GammaPos = cell.gammaNeg, cell.gammaPos
				c.prm.FromLogits, c.prm.FocalGrad, c.prm.NoValidate = logits, focalGrad, true
				c.prm.HasIgnore, c.prm.IgnoreValue = true, -1
				labels, preds, weights := c.random(1)
				if cell.hard {
					for i, v := range labels {
						if v != -1 {
							labels[i] = math.Round(v)
						}
					}
				}
				for _, kernel := range Kernels() {
					name := fmt.Sprintf("logits=%v/focal_grad=%v/%s/%s", logits, focalGrad, cell.name, kernel)
					b.Run(name+"/float64", func(b *testing.B) {
						benchAsymmetric(b, kernel, labels, preds, weights, cols, c.prm)
					})
					b.Run(name+"/float32", func(b *testing.B) {
						benchAsymmetric(b, kernel, toF32(labels), toF32(preds), toF32(weights), cols, c.prm)
					})
				}
			}
		}
	}
}

func benchAsymmetric[T Float](b *testing.B, kernel string, labels, preds, weights []T, cols int, prm Asymmetric) {
	useKernel(b, kernel)
	loss := make([]T, len(preds)/cols)
	grad := make([]T, len(preds))
	// One untimed call first, to fault in the fresh pages of loss and grad
	// (see benchSeed).
	if err := AsymmetricLossGrad(loss, grad, labels, preds, weights, cols, prm); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := AsymmetricLossGrad(loss, grad, labels, preds, weights, cols, prm); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(preds)), "ns/elem")
}

// BenchmarkUnknownLabels runs the seed variant (ignore value 0.5: labels of
// 0 on a copy, on the vector kernels), the asymmetric variant (the
// reference's defaults, class weights, multi-hot labels, probabilities and
// logits) and the binary variant (ignore value -1: the unknown lanes
// masked out, on the vector kernels) with a tenth of the labels unknown,
// on the default kernel, float32 (and the binary variant in float64: the
// portable rows on every kernel), forward and gradient, with validation,
// one thread.
func BenchmarkUnknownLabels(b *testing.B) {
	const rows, cols = 1024, 1000
	c := seedCase{rows: rows, cols: cols, gamma: 2, e: 0.1, soft: true}
	labels, preds, weights := c.random(1)
	seedLabels := toF32(withUnknown(labels, 0.5, 3))
	bin := binaryCase{rows: rows, cols: cols}
	bLabels, bPreds := bin.random(1)
	binLabels := toF32(withUnknown(bLabels, -1, 3))
	loss, grad := make([]float32, rows), make([]float32, rows*cols)
	b.Run("seed/ignore=0.5", func(b *testing.B) {
		prm := Seed{Gamma: 2, E: 0.1, HasIgnore: true, IgnoreValue: 0.5}
		p32, w32 := toF32(preds), toF32(weights)
		for b.Loop() {
			if err := SeedLossGrad(loss, grad, seedLabels, p32, w32, cols, prm); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rows*cols), "ns/elem")
	})
	for _, logits := range []bool{false, true} {
		b.Run(fmt.Sprintf("asymmetric/logits=%v/ignore=-1", logits), func(b *testing.B) {
			c := asymCase{rows: rows, cols: cols, weights: true, prm: DefaultAsymmetric()}
			c.prm.FromLogits, c.prm.HasIgnore, c.prm.IgnoreValue = logits, true, -1
			labels, preds, weights := c.random(1)
			for i, v := range labels {
				if v != -1 {
					labels[i] = math.Round(v) // multi-hot
				}
			}
			l32, p32, w32 := toF32(labels), toF32(preds), toF32(weights)
			for b.Loop() {
				if err := AsymmetricLossGrad(loss, grad, l32, p32, w32, cols, c.prm); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rows*cols), "ns/elem")
		})
	}
	b.Run("binary/ignore=-1", func(b *testing.B) {
		prm := Binary{Gamma: 2, Alpha: []float64{0.25}, HasIgnore: true, IgnoreValue: -1}
		p32 := toF32(bPreds)
		for b.Loop() {
			if err := BinaryLossGrad(loss, grad, binLabels, p32, cols, prm); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rows*cols), "ns/elem")
	})
	b.Run("binary/ignore=-1/float64", func(b *testing.B) {
		prm := Binary{Gamma: 2, Alpha: []float64{0.25}, HasIgnore: true, IgnoreValue: -1}
		l64 := withUnknown(bLabels, -1, 3)
		loss, grad := make([]float64, rows), make([]float64, rows*cols)
		for b.Loop() {
			if err := BinaryLossGrad(loss, grad, l64, bPreds, cols, prm); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rows*cols), "ns/elem")
	})
}

// BenchmarkGradScale: the cost of GradScale, the gradient multiplied while
// each block of rows is in cache (scaledRows), against the same call
// without it: 1024 rows of 1000 classes, float32, the active kernel, one
// thread; scale=none and scale=1/1024 side by side for each variant.
func BenchmarkGradScale(b *testing.B) {
	const rows, cols = 1024, 1000
	c := seedCase{rows: rows, cols: cols, gamma: 2, e: 0.1}
	labels, preds, weights := c.random(1)
	y := toF32(sparseLabels(len(labels), 0.03, 2))
	unknown := toF32(withUnknown(sparseLabels(len(labels), 0.03, 2), 0.5, 3))
	p, w := toF32(preds), toF32(weights)
	loss, grad := make([]float32, rows), make([]float32, rows*cols)
	calls := []struct {
		name string
		call func(scale float64) error
	}{
		{"seed", func(s float64) error {
			return SeedLossGrad(loss, grad, y, p, w, cols, Seed{Gamma: 2, E: 0.1, GradScale: s})
		}},
		{"seed/ignore=0.5", func(s float64) error {
			return SeedLossGrad(loss, grad, unknown, p, w, cols, Seed{Gamma: 2, E: 0.1, HasIgnore: true, IgnoreValue: 0.5, GradScale: s})
		}},
		{"binary", func(s float64) error {
			return BinaryLossGrad(loss, grad, y, p, cols, Binary{Gamma: 2, Alpha: []float64{0.25}, GradScale: s})
		}},
		{"asymmetric", func(s float64) error {
			return AsymmetricLossGrad(loss, grad, y, p, w, cols, Asymmetric{GammaNeg: 4, GammaPos: 1, Clip: 0.05, GradScale: s})
		}},
	}
	for _, cl := range calls {
		for _, scale := range []float64{0, 1.0 / rows} {
			name := cl.name + "/scale=none"
			if scale != 0 {
				name = cl.name + "/scale=1÷1024"
			}
			b.Run(name, func(b *testing.B) {
				if err := cl.call(scale); err != nil { // fault in the pages
					b.Fatal(err)
				}
				b.ResetTimer()
				for b.Loop() {
					if err := cl.call(scale); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rows*cols), "ns/elem")
			})
		}
	}
}
