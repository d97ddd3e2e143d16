package goloss

import (
	"fmt"
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

func benchBinary[T Float](b *testing.B, kernel string, labels, preds []T, cols int, prm Binary) {
	useKernel(b, kernel)
	loss := make([]T, len(preds)/cols)
	grad := make([]T, len(preds))
	b.ResetTimer()
	for b.Loop() {
		if err := BinaryLossGrad(loss, grad, labels, preds, cols, prm); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(preds)), "ns/elem")
}
