//go:build !noasm

package goloss

import (
	"fmt"
	"testing"

	"github.com/gofocal/gofocal/goloss/internal/avx512"
	"github.com/gofocal/gofocal/goloss/internal/cpu"
)

// BenchmarkSeedMain16 compares, in one process and on the same rows, the
// two AVX-512 main passes of the float32 seed kernel with the gradient:
// "hand", avx512.SeedMainGradF32 (written for 16 lanes, integer gamma),
// and "shared", avx512.SeedMainAnyGradF32 (seed_f32.go's description of
// the AVX2 main pass at 16 lanes, every gamma), for gamma 2 on dense labels
// (60% positive) and on multi-hot ones (3%), and SeedMainAny for gamma 3.7
// (where it is the kernel AVX-512 CPUs run). It reports ns per element of
// the main pass alone (1024 rows of 1000 classes, one thread). It decides
// which main pass AVX-512 CPUs run for integer gamma (kernel_amd64.go).
func BenchmarkSeedMain16(b *testing.B) {
	if !cpu.X86.AVX512 {
		b.Skip("this CPU has no AVX-512")
	}
	const rows, cols = 1024, 1000
	c := seedCase{rows: rows, cols: cols, gamma: 2, e: 0.1, soft: true}
	dense, preds, weights := c.random(1)
	sparse := sparseLabels(len(dense), 0.03, 2)
	p, w := toF32(preds), toF32(weights)
	for _, gamma := range []float64{2, 3.7} {
		for _, lb := range []struct {
			name   string
			labels []float64
		}{{"dense", dense}, {"pos=3%", sparse}} {
			y := toF32(lb.labels)
			k := seedConsts[float32](Seed{Gamma: gamma, E: 0.1}, cols)
			v := newSeedVector(&k)
			const mw = (cols + 15) / 16 // masks per row
			masks := make([]uint16, rows*mw)
			consts := make([][12]uint32, rows)
			for r := range rows {
				row := p[r*cols : (r+1)*cols]
				sum, _, _ := avx512.SeedSumF32(row)
				kc := v.masksConsts(sum)
				inside, _ := avx512.SeedMasksF32(row, masks[r*mw:(r+1)*mw], &kc)
				consts[r] = v.mainConsts(v.smoothing(inside, sum))
			}
			g := make([]float32, len(p))
			run := func(b *testing.B, main func(g, y, p, w []float32, masks []uint16, k *[12]uint32, acc *[32]float64)) {
				var acc [32]float64
				for b.Loop() {
					for r := range rows {
						lo, hi := r*cols, (r+1)*cols
						main(g[lo:hi], y[lo:hi], p[lo:hi], w, masks[r*mw:(r+1)*mw], &consts[r], &acc)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(p)), "ns/elem")
			}
			name := fmt.Sprintf("gamma=%v/%s", gamma, lb.name)
			if v.powKind != powReal {
				b.Run(name+"/hand", func(b *testing.B) { run(b, avx512.SeedMainGradF32) })
			}
			offs := make([]uint64, cols/16)
			b.Run(name+"/shared", func(b *testing.B) {
				run(b, func(g, y, p, w []float32, masks []uint16, k *[12]uint32, acc *[32]float64) {
					avx512.SeedMainAnyGradF32(g, y, p, w, masks, offs, k, acc)
				})
			})
		}
	}
}
