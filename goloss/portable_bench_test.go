package goloss

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Benchmarks of the portable kernel against the reference loops, row by
// row (no dispatch, no threads): 16 rows of 1000 classes per op, with the
// gradient, float32 and float64, gamma 2 (integer path) and 2.5
// (exp(gamma*log)). They report ns per element.
//
// Data as the package's other benchmarks draw it: seed, probabilities in
// (0.02, 0.98), labels 60% positive, half of the positives soft (above
// p); binary, labels 60% positive (a third of them soft), one alpha 0.25,
// probabilities in (0.01, 0.99) or logits in (-8, 8).

const portBenchRows, portBenchCols = 16, 1000

func portBenchSeedData(seed uint64) (y, p, w []float64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	n := portBenchRows * portBenchCols
	y, p, w = make([]float64, n), make([]float64, n), make([]float64, portBenchCols)
	for i := range p {
		p[i] = 0.02 + 0.96*rng.Float64()
		switch r := rng.Float64(); {
		case r < 0.3:
			y[i] = p[i] + (1-p[i])*rng.Float64()
		case r < 0.6:
			y[i] = 1
		}
	}
	for c := range w {
		w[c] = 0.1 + rng.Float64()
	}
	return y, p, w
}

func portBenchBinaryData(seed uint64, logits bool) (y, x []float64) {
	rng := rand.New(rand.NewPCG(seed, 11))
	n := portBenchRows * portBenchCols
	y, x = make([]float64, n), make([]float64, n)
	for i := range x {
		switch r := rng.Float64(); {
		case r < 0.2:
			y[i] = rng.Float64()
		case r < 0.6:
			y[i] = 1
		}
		if logits {
			x[i] = -8 + 16*rng.Float64()
		} else {
			x[i] = 0.01 + 0.98*rng.Float64()
		}
	}
	return y, x
}

// portReport reports ns per element for b.N ops of n elements each.
func portReport(b *testing.B, n int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/elem")
	b.ReportMetric(0, "ns/op")
}

func BenchmarkPortableSeed(b *testing.B) {
	y, p, w := portBenchSeedData(1)
	for _, gamma := range []float64{2, 2.5} {
		for _, kernel := range []string{"reference", "portable"} {
			name := fmt.Sprintf("gamma=%v/%s", gamma, kernel)
			b.Run(name+"/float64", func(b *testing.B) { portBenchSeed(b, kernel, y, p, w, gamma) })
			b.Run(name+"/float32", func(b *testing.B) {
				portBenchSeed(b, kernel, portConv[float32](y), portConv[float32](p), portConv[float32](w), gamma)
			})
		}
	}
}

func portBenchSeed[T Float](b *testing.B, kernel string, y, p, w []T, gamma float64) {
	k := seedConsts[T](Seed{Gamma: gamma, E: 0.1}, portBenchCols)
	g := make([]T, len(p))
	row := seedRow[T]
	if kernel == "portable" {
		row = seedRowPortable[T]
	}
	var sink float64
	for b.Loop() {
		for r := 0; r < len(p); r += portBenchCols {
			sink += row(g[r:r+portBenchCols], y[r:r+portBenchCols], p[r:r+portBenchCols], w, &k)
		}
	}
	portReport(b, len(p))
	_ = sink
}

func BenchmarkPortableBinary(b *testing.B) {
	for _, logits := range []bool{false, true} {
		y, x := portBenchBinaryData(1, logits)
		input := "probs"
		if logits {
			input = "logits"
		}
		for _, gamma := range []float64{2, 2.5} {
			for _, kernel := range []string{"reference", "portable"} {
				name := fmt.Sprintf("%s/gamma=%v/%s", input, gamma, kernel)
				prm := Binary{Gamma: gamma, Alpha: []float64{0.25}, FromLogits: logits}
				b.Run(name+"/float64", func(b *testing.B) { portBenchBinary(b, kernel, y, x, prm) })
				b.Run(name+"/float32", func(b *testing.B) {
					portBenchBinary(b, kernel, portConv[float32](y), portConv[float32](x), prm)
				})
			}
		}
	}
}

func portBenchBinary[T Float](b *testing.B, kernel string, y, x []T, prm Binary) {
	k := newBinaryConstants[T](prm, portBenchCols)
	g := make([]T, len(x))
	var row func(g, y, x []T, k *binaryConstants) float64
	switch {
	case kernel == "reference" && prm.FromLogits:
		row = binaryLogitsRow[T]
	case kernel == "reference":
		row = binaryProbRow[T]
	case prm.FromLogits:
		row = binaryLogitsRowPortable[T]
	default:
		row = binaryProbRowPortable[T]
	}
	var sink float64
	for b.Loop() {
		for r := 0; r < len(x); r += portBenchCols {
			sink += row(g[r:r+portBenchCols], y[r:r+portBenchCols], x[r:r+portBenchCols], &k)
		}
	}
	portReport(b, len(x))
	_ = sink
}

// BenchmarkPortableAsymmetric measures the portable asymmetric rows against
// the reference loop on multi-label data as bench.py draws it: 3% positive
// labels (hard), probabilities sigmoid(N(-2, 1.5^2)) or those logits, the
// reference's defaults (gamma_neg 4, gamma_pos 1, clip 0.05) and a real
// pair (2.5, 0.5), the focal weight a constant, with the gradient.
func BenchmarkPortableAsymmetric(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 13))
	n := portBenchRows * portBenchCols
	y, p, z := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range p {
		z[i] = -2 + 1.5*rng.NormFloat64()
		p[i], _ = sigmoids(z[i])
		if rng.Float64() < 0.03 {
			y[i] = 1
		}
	}
	for _, logits := range []bool{false, true} {
		x, input := p, "probs"
		if logits {
			x, input = z, "logits"
		}
		for _, gm := range [][2]float64{{4, 1}, {2.5, 0.5}} {
			prm := Asymmetric{GammaNeg: gm[0], GammaPos: gm[1], Clip: 0.05, FromLogits: logits}
			for _, kernel := range []string{"reference", "portable"} {
				name := fmt.Sprintf("%s/gammas=%v,%v/%s", input, gm[0], gm[1], kernel)
				b.Run(name+"/float64", func(b *testing.B) { portBenchAsym(b, kernel, y, x, prm) })
				b.Run(name+"/float32", func(b *testing.B) {
					portBenchAsym(b, kernel, portConv[float32](y), portConv[float32](x), prm)
				})
			}
		}
	}
}

func portBenchAsym[T Float](b *testing.B, kernel string, y, x []T, prm Asymmetric) {
	k := asymmetricConsts[T](prm)
	a := newAsymPortRow(&k)
	g := make([]T, len(x))
	row := func(g, y, x []T) float64 { return asymmetricRowPortable(g, y, x, nil, &k, &a) }
	if kernel == "reference" {
		row = func(g, y, x []T) float64 { return asymmetricRow(g, y, x, nil, &k) }
	}
	var sink float64
	for b.Loop() {
		for r := 0; r < len(x); r += portBenchCols {
			sink += row(g[r:r+portBenchCols], y[r:r+portBenchCols], x[r:r+portBenchCols])
		}
	}
	portReport(b, len(x))
	_ = sink
}

// BenchmarkPortableSmallRows measures the per-row work of the portable
// rows (bounds of the clip decision, logs of S and of the clip bounds, the
// power's range) on rows of 1, 4 and 16 classes, gamma 2, float32, with the
// gradient, against the reference.
func BenchmarkPortableSmallRows(b *testing.B) {
	ys, ps, ws := portBenchSeedData(1)
	yb, xb := portBenchBinaryData(1, false)
	for _, cols := range []int{1, 4, 16} {
		for _, kernel := range []string{"reference", "portable"} {
			name := fmt.Sprintf("cols=%d/%s", cols, kernel)
			b.Run("seed/"+name, func(b *testing.B) {
				y, p, w := portConv[float32](ys), portConv[float32](ps), portConv[float32](ws[:cols])
				k := seedConsts[float32](Seed{Gamma: 2, E: 0.1}, cols)
				g := make([]float32, len(p))
				row := seedRow[float32]
				if kernel == "portable" {
					row = seedRowPortable[float32]
				}
				var sink float64
				for b.Loop() {
					for r := 0; r+cols <= len(p); r += cols {
						sink += row(g[r:r+cols], y[r:r+cols], p[r:r+cols], w, &k)
					}
				}
				portReport(b, len(p)/cols*cols)
				_ = sink
			})
			b.Run("binary-probs/"+name, func(b *testing.B) {
				y, x := portConv[float32](yb), portConv[float32](xb)
				k := newBinaryConstants[float32](Binary{Gamma: 2, Alpha: []float64{0.25}}, cols)
				g := make([]float32, len(x))
				row := binaryProbRow[float32]
				if kernel == "portable" {
					row = binaryProbRowPortable[float32]
				}
				var sink float64
				for b.Loop() {
					for r := 0; r+cols <= len(x); r += cols {
						sink += row(g[r:r+cols], y[r:r+cols], x[r:r+cols], &k)
					}
				}
				portReport(b, len(x)/cols*cols)
				_ = sink
			})
		}
	}
}
